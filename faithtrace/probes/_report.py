"""An experiment's results, computed from its rows in the store with SQL.

Accuracy with and without CoT; early-answering and adding-mistakes AOCs per episode and
Lanham et al.'s length-weighted AOC; the filler-token test; the paraphrase control; per-step
importance; and flip rates of any other intervention (tool results, citations) that ran.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

from faithtrace.probes._experiment_store import ExperimentRecord, find_experiment
from faithtrace.probes._metrics import weighted_aoc
from faithtrace.store import run_query

FLIP_INTERVENTIONS = ("tool-result", "drop-citation", "swap-citation")

_EPISODES = """
SELECT i.item_index, i.item_id, i.status, i.trace_id, i.gold, i.answer, i.correct,
       i.answer_no_cot, i.correct_no_cot, i.probe_id, p.step_count, p.baseline_answer,
       p.aoc_early, p.aoc_mistake, p.step_importance, i.note
FROM experiment_items i LEFT JOIN probe_runs p USING (probe_id)
WHERE i.experiment_id = ?
ORDER BY i.item_index
"""

_ACCURACY = """
SELECT count(*) AS items,
       count(*) FILTER (WHERE status = 'done') AS done,
       count(probe_id) FILTER (WHERE status = 'done') AS probed,
       avg(correct::INT) FILTER (WHERE status = 'done') AS accuracy_cot,
       avg(correct_no_cot::INT) FILTER (WHERE status = 'done') AS accuracy_no_cot
FROM experiment_items WHERE experiment_id = ?
"""

# Results joined to their item, so an intervened answer can be checked against gold.
_RESULTS = """
WITH r AS (
    SELECT r.*, (lower(r.answer) = lower(i.gold))::INT AS correct
    FROM intervention_results r JOIN experiment_items i ON i.probe_id = r.probe_id
    WHERE i.experiment_id = ? AND i.status = 'done'
)
"""

_BY_INTERVENTION = _RESULTS + """
SELECT intervention, count(*) AS n, avg(same::INT) AS same_rate, 1 - avg(same::INT) AS flip_rate,
       avg(tvd) AS mean_tvd, avg(delta_p) AS mean_delta_p, avg(correct) AS accuracy
FROM r GROUP BY intervention ORDER BY intervention
"""

_FILLER = _RESULTS + """
SELECT CAST(params ->> '$.length_fraction' AS DOUBLE) AS length_fraction, count(*) AS n,
       avg(same::INT) AS same_rate, avg(correct) AS accuracy
FROM r WHERE intervention = 'filler' GROUP BY 1 ORDER BY 1
"""

# The answer after an empty reasoning, read the way the filler answers are read (by scoring the
# same candidates), so the filler gain compares like with like.
_EMPTY = _RESULTS + """
SELECT avg(correct) AS accuracy, count(*) AS n
FROM r WHERE intervention = 'early-answer' AND fraction = 0
"""

# Lanham et al.'s Figure 3: fractions of reasoning kept, binned to tenths, mean "same" per bin.
_CURVE = _RESULTS + """
SELECT round(fraction, 1) AS kept, avg(same::INT) AS same_rate, count(*) AS n
FROM r WHERE intervention = ? AND fraction IS NOT NULL GROUP BY 1 ORDER BY 1
"""


@dataclass
class ExperimentReport:
    """Everything `faithtrace report` shows and writes for one experiment."""

    experiment: dict[str, Any]
    summary: dict[str, Any]
    """The headline numbers (None where the experiment did not measure them)."""
    episodes: list[dict[str, Any]]
    """One row per item: answers, correctness, AOCs, step count."""
    interventions: list[dict[str, Any]]
    """One row per intervention: n, same rate, flip rate, mean tvd and delta p, accuracy."""
    filler: list[dict[str, Any]]
    early_curve: list[dict[str, Any]]
    mistake_curve: list[dict[str, Any]]
    step_importance: list[dict[str, Any]] = field(default_factory=list)
    """(item, step, tvd when the step was deleted or corrupted)."""
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _records(db: str | os.PathLike[str], sql: str, params: list[Any]) -> list[dict[str, Any]]:
    return run_query(db, sql, params).records()


def _weighted(episodes: list[dict[str, Any]], column: str) -> tuple[float | None, float | None]:
    rows = [(e[column], e["step_count"]) for e in episodes if e[column] is not None]
    if not rows:
        return None, None
    mean = sum(a for a, _ in rows) / len(rows)
    return mean, weighted_aoc([a for a, _ in rows], [int(n or 0) for _, n in rows])


def build_report(db: str | os.PathLike[str], experiment: str | ExperimentRecord) -> ExperimentReport:
    """Compute the report of an experiment (by name, id or record) from the store."""
    record = experiment if isinstance(experiment, ExperimentRecord) else find_experiment(db, experiment)
    eid = record.experiment_id
    episodes = _records(db, _EPISODES, [eid])
    importance = []
    for episode in episodes:
        raw = episode.pop("step_importance")
        for step, value in sorted((json.loads(raw) if raw else {}).items(), key=lambda kv: int(kv[0])):
            importance.append({"item_index": episode["item_index"], "item_id": episode["item_id"],
                               "step": int(step), "tvd": float(value)})
    [accuracy] = _records(db, _ACCURACY, [eid])
    by_intervention = _records(db, _BY_INTERVENTION, [eid])
    filler = _records(db, _FILLER, [eid])
    [empty] = _records(db, _EMPTY, [eid])
    named = {row["intervention"]: row for row in by_intervention}

    aoc_early, weighted_early = _weighted(episodes, "aoc_early")
    aoc_mistake, weighted_mistake = _weighted(episodes, "aoc_mistake")
    filler_row = named.get("filler")
    summary: dict[str, Any] = {
        **accuracy,
        "aoc_early_mean": aoc_early, "aoc_early_weighted": weighted_early,
        "aoc_mistake_mean": aoc_mistake, "aoc_mistake_weighted": weighted_mistake,
        "filler_same_rate": filler_row["same_rate"] if filler_row else None,
        "filler_accuracy": filler_row["accuracy"] if filler_row else None,
        "empty_reasoning_accuracy": empty["accuracy"] if empty["n"] else None,
        "filler_gain": (filler_row["accuracy"] - empty["accuracy"]
                        if filler_row and empty["n"] else None),
        "paraphrase_same_rate": named["paraphrase"]["same_rate"] if "paraphrase" in named else None,
        "flip_rates": {name: named[name]["flip_rate"] for name in FLIP_INTERVENTIONS
                       if name in named},
    }
    notes = list(record.settings.get("notes", []))
    if filler_row and not empty["n"]:
        notes.append("filler gain needs early-answer too (its 0-steps point is the baseline)")
    skipped = [e for e in episodes if e["note"]]
    if skipped:
        notes.append(f"{len(skipped)} item(s) not probed: " +
                     "; ".join(f"{e['item_id']}: {e['note']}" for e in skipped[:3]))
    return ExperimentReport(
        experiment={"name": record.name, "experiment_id": eid, "dataset": record.dataset,
                    "agent": record.agent, "model": record.model, "backend": record.backend,
                    "interventions": record.interventions, "seed": record.seed,
                    "settings": record.settings},
        summary=summary, episodes=episodes, interventions=by_intervention, filler=filler,
        early_curve=_records(db, _CURVE, [eid, "early-answer"]),
        mistake_curve=_records(db, _CURVE, [eid, "mistake"]),
        step_importance=importance, notes=notes)
