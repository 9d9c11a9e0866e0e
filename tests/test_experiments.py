"""Experiments: data set loaders, the resumable runner, the report (numbers re-derived in SQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from doubles import ScriptedBackend

from faithtrace.agents._prompts import ANSWER_PREFIX
from faithtrace.errors import DatasetError, ExperimentNotFoundError, UsageError
from faithtrace.llm import Completion, GenerationRequest
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


# -- the runner on a scripted model: interrupts, resuming, other agents ------------------


class ArithmeticBackend(ScriptedBackend):
    """Reasons its way to 4 (ReAct-style when asked for ReAct), answers " 4" when asked for the
    answer right away, and prefers the candidate 4 when scored."""

    def __init__(self) -> None:
        super().__init__()

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        for request in requests:
            prompt = self._prompt(request)
            if prompt.rstrip().endswith(ANSWER_PREFIX):
                reply = " 4."
            elif "Final Answer:" in prompt:
                reply = " I can add this myself.\nFinal Answer: 4"
            else:
                reply = "First, 2 + 2 = 4.\nSo the total is 4.\nAnswer: 4"
            self.queue(reply)
        return super().generate(requests)

    def score(self, prompt: str, continuations: Sequence[str]) -> list[float]:
        return [-0.1 if c.strip() == "4" else -3.0 for c in continuations]


def _scripted(db: Path, backend: Any, *, agent: str = "cot", n: int = 3,
              stop_at: str | None = None) -> Any:
    def progress(done: int, total: int, label: str) -> None:
        if stop_at is not None and stop_at in label:
            raise KeyboardInterrupt

    tracing = setup_tracing(db)
    try:
        config = ExperimentConfig(dataset="arithmetic", n=n, agent=agent, name=f"s-{agent}",
                                  interventions=("early-answer", "delete-step"))
        return run_experiment(db, config, backend=backend, tracing=tracing, progress=progress)
    finally:
        tracing.shutdown()


def test_interrupt_keeps_finished_items_and_resume_reuses_the_episode(tmp_path: Path) -> None:
    db, backend = tmp_path / "s.duckdb", ArithmeticBackend()
    with pytest.raises(KeyboardInterrupt):
        _scripted(db, backend, stop_at="item 2/3: probe")
    rows = run_query(db, "SELECT item_id, status, trace_id, updated_at FROM experiment_items "
                         "ORDER BY item_index").rows
    assert [r[1] for r in rows] == ["done", "answered"]
    run = _scripted(db, backend)
    assert (run.resumed, run.already_done, run.finished) == (True, 1, 2)
    after = run_query(db, "SELECT item_id, status, trace_id, updated_at FROM experiment_items "
                          "ORDER BY item_index").rows
    assert after[0] == rows[0]                       # the finished item was not touched
    assert after[1][2] == rows[1][2]                 # the interrupted item kept its episode
    [[episodes]] = run_query(db, "SELECT count(*) FROM episodes WHERE parent_trace_id IS NULL").rows
    assert episodes == 3 and [r[1] for r in after] == ["done"] * 3
    report = build_report(db, "s-cot")
    # The scripted model says 4 whatever it is shown: its reasoning never matters.
    assert (report.summary["items"], report.summary["done"], report.summary["probed"]) == (3, 3, 3)
    assert report.summary["aoc_early_weighted"] == 0.0
    with pytest.raises(UsageError, match="already exists with interventions"):
        tracing = setup_tracing(db)
        try:
            run_experiment(db, ExperimentConfig(dataset="arithmetic", n=3, name="s-cot",
                                                interventions=("filler",)),
                           backend=backend, tracing=tracing)
        finally:
            tracing.shutdown()


def test_react_records_accuracy_and_skips_reasoning_probes(tmp_path: Path) -> None:
    db = tmp_path / "r.duckdb"
    run = _scripted(db, ArithmeticBackend(), agent="react", n=2)
    assert run.probed_with == [] and any("need CoT episodes" in n for n in run.notes)
    rows = run_query(db, "SELECT i.status, i.answer, i.probe_id, e.agent FROM experiment_items i "
                         "JOIN episodes e USING (trace_id)").rows
    assert rows == [("done", "4", None, "react")] * 2
    report = build_report(db, "s-react")
    assert report.interventions == [] and report.summary["aoc_early_mean"] is None
    assert any("need CoT episodes" in n for n in report.notes)
    files = write_report(report, tmp_path / "out")
    assert "early_answering" not in files and files["html"].is_file()


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


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Torch on one thread for the duration of a test, then as it was.

    On this project's 2 shared cores, two intra-op threads spend their time waiting for each
    other whenever anything else runs: a 48-token episode took 14 s against 5 s on one thread.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.model
def test_tiny_experiment_end_to_end(tmp_path: Path, smol_backend: Any, one_thread: None) -> None:
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
