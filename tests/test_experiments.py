"""Experiments: data set loaders, the resumable runner, the report (numbers re-derived in SQL)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from faithtrace.errors import DatasetError, ExperimentNotFoundError, UsageError
from faithtrace.probes import (
    ExperimentConfig,
    build_report,
    is_correct,
    list_datasets,
    load_dataset,
    load_jsonl,
    plan_interventions,
    run_experiment,
    write_report,
)
from faithtrace.store import connect, run_query
from faithtrace.tracer import setup_tracing

# -- data sets --------------------------------------------------------------------------


def test_arithmetic_is_deterministic_per_seed_and_prefix_stable() -> None:
    first = load_dataset("arithmetic", 5, seed=7)
    assert first == load_dataset("arithmetic", 5, seed=7)
    assert load_dataset("arithmetic", 3, seed=7) == first[:3]
    assert [i.question for i in load_dataset("arithmetic", 5, seed=8)] != [i.question for i in first]
    for item in first:
        assert item.question.startswith("Calculate") and item.choices == ()
        # The gold answer is the expression's value.
        assert int(item.answer) == eval(item.meta["expression"])


def test_word_problems_and_factbook_load_offline() -> None:
    problems = load_dataset("word-problems", 2, seed=1)
    assert len(problems) == 2 and all(p.answer.lstrip("-").isdigit() for p in problems)
    facts = load_dataset("factbook", 4, seed=3)
    assert facts == load_dataset("factbook", 6, seed=3)[:4]
    assert len({f.id for f in facts}) == 4 and all(f.answer for f in facts)
    names = [d.name for d in list_datasets()]
    assert names[:3] == ["arithmetic", "word-problems", "factbook"]


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_free_form_and_multiple_choice(tmp_path: Path) -> None:
    path = _write(tmp_path / "qs.jsonl", [
        json.dumps({"question": "2 + 2?", "answer": 4}),
        "",
        json.dumps({"id": "cap", "question": "Capital of France?",
                    "choices": ["Berlin", "Paris", "Rome"], "answer": "Paris"}),
        json.dumps({"question": "Pick", "choices": ["x", "y"], "answer": "b"}),
    ])
    free, mc, by_letter = load_jsonl(path)
    assert (free.id, free.answer, free.choices) == ("qs/1", "4", ())
    assert mc.id == "cap" and mc.answer == "B" and mc.choices == ("A", "B", "C")
    assert "A) Berlin\nB) Paris\nC) Rome" in mc.question and "letter" in mc.question
    assert by_letter.answer == "B"
    assert load_dataset(str(path), 2) == [free, mc]


@pytest.mark.parametrize(("line", "message"), [
    ('{"question": "q"}', "qs.jsonl:2: missing field 'answer'"),
    ("{not json", "qs.jsonl:2: not valid JSON"),
    ('{"question": "q", "answer": "Z", "choices": ["a", "b"]}', "qs.jsonl:2: \"answer\" 'Z'"),
    ('{"question": "q", "answer": "a", "choices": ["a"]}', "qs.jsonl:2: a multiple-choice"),
    ('["q", "a"]', "qs.jsonl:2: each line must be a JSON object"),
])
def test_bad_jsonl_names_the_line(tmp_path: Path, line: str, message: str) -> None:
    path = _write(tmp_path / "qs.jsonl", ['{"question": "ok", "answer": "1"}', line])
    with pytest.raises(DatasetError, match=message.replace("(", r"\(")):
        load_jsonl(path)


def test_unknown_dataset_and_interventions() -> None:
    with pytest.raises(DatasetError, match="unknown data set 'nope'"):
        load_dataset("nope", 3)
    with pytest.raises(UsageError, match="unknown intervention"):
        plan_interventions("cot", ["early-answer", "bogus"])
    run, notes = plan_interventions("react", ["early-answer", "tool-result"])
    assert "early-answer" not in run and any("need CoT episodes" in n for n in notes)


@pytest.mark.parametrize(("answer", "gold", "choices", "expected"), [
    ("734", "734", (), True), ("734.0", "734", (), True), ("1,000 apples", "1000", (), True),
    ("73", "734", (), False), (None, "1", (), False), ("Paris, France", "Paris", (), True),
    ("Parisian", "Paris", (), False), ("B", "B", ("A", "B"), True),
    ("(B) Paris", "B", ("A", "B"), True), ("A", "B", ("A", "B"), False),
])
def test_is_correct(answer: str | None, gold: str, choices: tuple[str, ...], expected: bool) -> None:
    assert is_correct(answer, gold, choices) is expected


# -- end to end on the real small model ---------------------------------------------------

INTERVENTIONS = ("early-answer", "filler", "delete-step")


def _counts(db: Path) -> tuple[int, int, int]:
    [row] = run_query(db, "SELECT (SELECT count(*) FROM episodes), (SELECT count(*) FROM probe_runs), "
                          "(SELECT count(*) FROM intervention_results)").rows
    return int(row[0]), int(row[1]), int(row[2])


def _run(db: Path, backend: Any, n: int) -> Any:
    tracing = setup_tracing(db)
    try:
        config = ExperimentConfig(dataset="arithmetic", n=n, interventions=INTERVENTIONS,
                                  name="tiny", seed=0, max_new_tokens=48)
        return run_experiment(db, config, backend=backend, tracing=tracing)
    finally:
        tracing.shutdown()


def _sql_aoc(db: Path, probe_id: str) -> float:
    """The early-answering AOC by the trapezoid rule, in plain SQL."""
    [[area]] = run_query(db, """
        WITH c AS (SELECT fraction AS x, 1 - same::INT AS y,
                          lag(fraction) OVER (ORDER BY fraction) AS x0,
                          lag(1 - same::INT) OVER (ORDER BY fraction) AS y0
                   FROM intervention_results
                   WHERE probe_id = ? AND intervention = 'early-answer')
        SELECT coalesce(sum((x - x0) * (y + y0) / 2), 0) FROM c WHERE x0 IS NOT NULL
        """, [probe_id]).rows
    return float(area)


@pytest.mark.model
def test_tiny_experiment_end_to_end(tmp_path: Path, smol_backend: Any) -> None:
    db = tmp_path / "exp.duckdb"
    run = _run(db, smol_backend, 2)
    assert (run.finished, run.already_done, run.resumed) == (2, 0, False)
    items = run_query(db, "SELECT item_id, status, trace_id, probe_id, no_cot_trace_id, note "
                          "FROM experiment_items ORDER BY item_index").records()
    assert [i["status"] for i in items] == ["done", "done"]
    # Every episode, fork and probe carries the experiment id.
    [[untagged]] = run_query(db, "SELECT count(*) FROM episodes WHERE experiment_id IS DISTINCT "
                                 "FROM ?", [run.experiment_id]).rows
    assert untagged == 0
    [[probes]] = run_query(db, "SELECT count(*) FROM probe_runs WHERE experiment_id = ?",
                           [run.experiment_id]).rows
    assert probes == sum(1 for i in items if i["probe_id"])

    # Resuming: nothing recomputed, nothing new written.
    before = _counts(db)
    again = _run(db, smol_backend, 2)
    assert (again.finished, again.already_done, again.resumed) == (0, 2, True)
    assert _counts(db) == before

    # The report's numbers, re-derived from the rows with plain SQL.
    report = build_report(db, "tiny")
    [[acc, acc_no_cot]] = run_query(db, "SELECT avg(correct::INT), avg(correct_no_cot::INT) "
                                        "FROM experiment_items WHERE experiment_id = ?",
                                    [run.experiment_id]).rows
    assert report.summary["accuracy_cot"] == pytest.approx(acc)
    assert report.summary["accuracy_no_cot"] == pytest.approx(acc_no_cot)
    runs = run_query(db, "SELECT probe_id, aoc_early, step_count FROM probe_runs "
                         "WHERE experiment_id = ?", [run.experiment_id]).rows
    for probe_id, stored, _ in runs:
        assert _sql_aoc(db, probe_id) == pytest.approx(stored)
    if runs:
        weighted = sum(a * n for _, a, n in runs) / sum(n for _, _, n in runs)
        assert report.summary["aoc_early_weighted"] == pytest.approx(weighted)
        [[filler_same]] = run_query(db, "SELECT avg(same::INT) FROM intervention_results "
                                        "WHERE intervention = 'filler'").rows
        assert report.summary["filler_same_rate"] == pytest.approx(filler_same)
    by_name = {r["intervention"]: r for r in report.interventions}
    for name, n in run_query(db, "SELECT intervention, count(*) FROM intervention_results "
                                 "GROUP BY 1").rows:
        assert by_name[name]["n"] == n

    files = write_report(report, tmp_path / "report")
    wanted = ["accuracy"] + (["early_answering", "step_importance"] if runs else [])
    for name in wanted:
        data = files[name].read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5_000, name
    page = files["html"].read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == len(wanted) and "http" not in page
    saved = json.loads(files["summary"].read_text(encoding="utf-8"))
    assert saved["summary"]["accuracy_cot"] == report.summary["accuracy_cot"]
    assert files["episodes"].read_text(encoding="utf-8").count("\n") == 3  # header + 2 items


def test_report_of_unknown_experiment(tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    with connect(db):
        pass
    with pytest.raises(ExperimentNotFoundError, match="no experiment named 'nope'"):
        build_report(db, "nope")
