"""The `experiments` and `experiment_items` rows: finding or creating an experiment, and saving
each item as soon as a stage of it finishes, so an interrupted run loses nothing finished."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from typing import Any

from faithtrace.errors import ExperimentNotFoundError, UsageError
from faithtrace.store import connect, run_query

STATUSES = ("ran", "answered", "done")
"""An item's stages in order: its episode ran, its no-CoT answer was read, it was probed."""

# Settings that define what an experiment measures: re-running a name with others is refused.
IDENTITY = ("dataset", "agent", "model", "interventions", "seed", "max_new_tokens")


@dataclass(frozen=True)
class ExperimentRecord:
    """One `experiments` row."""

    experiment_id: str
    name: str
    dataset: str
    agent: str
    model: str | None
    backend: str | None
    interventions: list[str]
    seed: int
    settings: dict[str, Any]


@dataclass
class ItemRow:
    """One `experiment_items` row, as far as it got."""

    item_index: int
    item_id: str
    question: str
    gold: str
    choices: list[str]
    status: str
    trace_id: str | None = None
    answer: str | None = None
    correct: bool | None = None
    probe_id: str | None = None
    no_cot_trace_id: str | None = None
    answer_no_cot: str | None = None
    correct_no_cot: bool | None = None
    note: str | None = None


_EXPERIMENT_COLUMNS = ("experiment_id, name, dataset, agent, model, backend, interventions, seed, "
                       "settings")
_ITEM_COLUMNS = ("item_index", "item_id", "question", "gold", "choices", "status", "trace_id",
                 "answer", "correct", "probe_id", "no_cot_trace_id", "answer_no_cot",
                 "correct_no_cot", "note")


def _record(row: tuple[Any, ...]) -> ExperimentRecord:
    return ExperimentRecord(row[0], row[1], row[2], row[3], row[4], row[5],
                            json.loads(row[6] or "[]"), int(row[7] or 0), json.loads(row[8] or "{}"))


def find_experiment(db: str | os.PathLike[str], name_or_id: str) -> ExperimentRecord:
    """An experiment by name, by id, or by a unique id prefix."""
    result = run_query(db, f"SELECT {_EXPERIMENT_COLUMNS} FROM experiments WHERE name = ? "
                           "OR experiment_id = ? OR starts_with(experiment_id, ?) "
                           "ORDER BY name = ? DESC", [name_or_id, name_or_id, name_or_id, name_or_id])
    rows = list(result.rows)
    exact = [r for r in rows if name_or_id in (r[0], r[1])]
    if exact:
        return _record(tuple(exact[0]))
    if len(rows) == 1:
        return _record(tuple(rows[0]))
    if rows:
        raise UsageError(f"{name_or_id!r} matches {len(rows)} experiments; give more of the id")
    names = [r[0] for r in run_query(db, "SELECT name FROM experiments ORDER BY created_at").rows]
    known = f"; known: {', '.join(names)}" if names else "; run `faithtrace experiment` first"
    raise ExperimentNotFoundError(f"no experiment named {name_or_id!r} in {db}{known}")


def open_experiment(db: str | os.PathLike[str], name: str, identity: dict[str, Any],
                    backend: str | None, settings: dict[str, Any]) -> tuple[ExperimentRecord, bool]:
    """The experiment called `name`, created when new; True when it already existed.

    An existing one must measure the same thing (`IDENTITY`); `n` may grow between runs.
    """
    with connect(db) as con:
        row = con.execute(f"SELECT {_EXPERIMENT_COLUMNS} FROM experiments WHERE name = ?",
                          [name]).fetchall()
        if row:
            found = _record(tuple(row[0]))
            have = {"dataset": found.dataset, "agent": found.agent, "model": found.model,
                    "interventions": found.interventions, "seed": found.seed,
                    "max_new_tokens": found.settings.get("max_new_tokens")}
            clashes = [k for k in IDENTITY if have[k] != identity[k]]
            if clashes:
                detail = ", ".join(f"{k} {have[k]!r} (now {identity[k]!r})" for k in clashes)
                raise UsageError(f"experiment {name!r} already exists with {detail}; resume it "
                                 "with the same settings or choose another --name")
            return found, True
        record = ExperimentRecord(uuid.uuid4().hex, name, identity["dataset"], identity["agent"],
                                  identity["model"], backend, list(identity["interventions"]),
                                  int(identity["seed"]), settings)
        con.execute(f"INSERT INTO experiments ({_EXPERIMENT_COLUMNS}) VALUES "
                    "(?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [record.experiment_id, name, record.dataset, record.agent, record.model,
                     backend, json.dumps(record.interventions), record.seed,
                     json.dumps(settings, default=str)])
        return record, False


def load_items(db: str | os.PathLike[str], experiment_id: str) -> dict[str, ItemRow]:
    """The experiment's saved items by item id."""
    result = run_query(db, f"SELECT {', '.join(_ITEM_COLUMNS)} FROM experiment_items "
                           "WHERE experiment_id = ? ORDER BY item_index", [experiment_id])
    items = {}
    for row in result.rows:
        values = dict(zip(_ITEM_COLUMNS, row, strict=True))
        values["choices"] = json.loads(values["choices"] or "[]")
        items[values["item_id"]] = ItemRow(**values)
    return items


def save_item(db: str | os.PathLike[str], experiment_id: str, item: ItemRow) -> None:
    """Write the item's row as it stands (one short transaction: a commit per stage)."""
    values = [getattr(item, c) for c in _ITEM_COLUMNS]
    values[_ITEM_COLUMNS.index("choices")] = json.dumps(item.choices)
    updates = ", ".join(f"{c} = excluded.{c}" for c in _ITEM_COLUMNS if c != "item_id")
    with connect(db) as con:
        con.execute(f"INSERT INTO experiment_items (experiment_id, {', '.join(_ITEM_COLUMNS)}, "
                    f"updated_at) VALUES (?, {', '.join('?' for _ in _ITEM_COLUMNS)}, now()) "
                    f"ON CONFLICT (experiment_id, item_id) DO UPDATE SET {updates}, "
                    "updated_at = now()", [experiment_id, *values])
