"""Experiments: a data set x an agent x probes, run item by item, resumable.

For each item: run the agent's episode (traced, tagged with the experiment id), read the answer
the model gives with no reasoning at all (a traced fork of the episode named `no-cot`), then
probe the episode. Each stage is saved to `experiment_items` as soon as it finishes, so a re-run with
the same name picks up where the last one stopped and an interrupt loses nothing finished.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from faithtrace.agents import CoTAgent, Episode, first_answer, normalize
from faithtrace.errors import FaithtraceError, UsageError
from faithtrace.llm import Backend
from faithtrace.probes import _runner
from faithtrace.probes._datasets import DatasetItem, is_correct, is_dataset_file, load_dataset
from faithtrace.probes._elicit import elicit
from faithtrace.probes._experiment_store import (
    ExperimentRecord,
    ItemRow,
    load_items,
    open_experiment,
    save_item,
)
from faithtrace.store import run_query
from faithtrace.tracer import ForkOrigin, Recorder, Tracing, trace_hex_id

AGENTS = ("cot", "react", "rag")
REASONING_INTERVENTIONS = ("early-answer", "mistake", "paraphrase", "filler", "delete-step")
AGENT_INTERVENTIONS: dict[str, tuple[str, ...]] = {
    "cot": REASONING_INTERVENTIONS,
    # Interventions on what tools and retrieval returned: run when `probe_episode` offers them.
    "react": ("tool-result",),
    "rag": ("drop-citation", "swap-citation"),
}
NO_COT = "no-cot"
"""The intervention name on the fork that answers with no reasoning at all."""

ExperimentProgress = Callable[[int, int, str], None]
"""progress(items finished, items in all, what is happening now)."""


class _Agent(Protocol):
    def run(self, question: str, *, experiment_id: str | None = None) -> Episode: ...


@dataclass(frozen=True)
class ExperimentConfig:
    """What to run: everything but the model object."""

    dataset: str
    n: int
    agent: str = "cot"
    interventions: tuple[str, ...] = _runner.DEFAULT_INTERVENTIONS
    name: str | None = None
    """Defaults to one made from the settings, so the same command resumes the same experiment."""
    seed: int = 0
    """Picks the generated items (and orders the Factbook questions)."""
    max_new_tokens: int = 256
    mistake_source: str = "rule"
    mistake_mode: str = "continue"


@dataclass
class ExperimentRun:
    """What one call of `run_experiment` did."""

    experiment_id: str
    name: str
    total: int
    resumed: bool
    already_done: int = 0
    """Items finished by an earlier run and skipped now."""
    finished: int = 0
    """Items finished by this run."""
    probed_with: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def default_name(config: ExperimentConfig, model: str) -> str:
    dataset = Path(config.dataset).stem if is_dataset_file(config.dataset) else config.dataset
    return f"{dataset}-{config.agent}-{Path(model).name}-s{config.seed}"


def plan_interventions(agent: str, names: Sequence[str]) -> tuple[list[str], list[str]]:
    """(interventions to pass to `probe_episode`, notes on those skipped and why)."""
    if agent not in AGENTS:
        raise UsageError(f"unknown agent {agent!r}; choose from {', '.join(AGENTS)}")
    known = set(_runner.INTERVENTIONS) | {i for names in AGENT_INTERVENTIONS.values() for i in names}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"unknown intervention(s) {', '.join(unknown)}; choose from "
                         f"{', '.join(sorted(known))}")
    run, notes = [], []
    for name in names:
        if name not in AGENT_INTERVENTIONS[agent] and name in REASONING_INTERVENTIONS:
            notes.append(f"{name}: skipped, reasoning probes need CoT episodes (--agent cot)")
        elif name not in AGENT_INTERVENTIONS[agent]:
            notes.append(f"{name}: skipped, it does not apply to {agent} episodes")
        elif name not in _runner.INTERVENTIONS:
            notes.append(f"{name}: skipped, this faithtrace's probe runner does not offer it yet")
        else:
            run.append(name)
    return run, notes


def _make_agent(agent: str, backend: Backend, recorder: Recorder, max_new_tokens: int) -> _Agent:
    if agent == "cot":
        return CoTAgent(backend, recorder, max_new_tokens=max_new_tokens)
    if agent == "react":
        from faithtrace.agents import ReActAgent

        return ReActAgent(backend, recorder, max_new_tokens=max_new_tokens)
    from faithtrace.agents import RAGAgent
    from faithtrace.retrieval import Retriever, ensure_factbook_index

    return RAGAgent(backend, recorder, Retriever.load(ensure_factbook_index()),
                    max_new_tokens=max_new_tokens)


class _Items:
    """The stages of one item; each ends by saving the row."""

    def __init__(self, db: Path, record: ExperimentRecord, config: ExperimentConfig,
                 backend: Backend, tracing: Tracing, agent: _Agent, probes: list[str],
                 say: Callable[[str], None]) -> None:
        self.db, self.record, self.config = db, record, config
        self.backend, self.tracing, self.agent, self.probes = backend, tracing, agent, probes
        self.recorder = Recorder(tracing.tracer, tracing.capture_content)
        self.say = say

    def save(self, row: ItemRow, status: str) -> None:
        row.status = status
        # Written spans first: the exporter's thread and this one must not open the file at
        # the same moment (DuckDB refuses a second handle on a file within one process).
        self.tracing.flush()
        save_item(self.db, self.record.experiment_id, row)

    def episode(self, item: DatasetItem, row: ItemRow) -> None:
        self.say("episode")
        episode = self.agent.run(item.question, experiment_id=self.record.experiment_id)
        row.trace_id, row.answer = episode.trace_id, episode.answer
        row.correct = is_correct(episode.answer, row.gold, row.choices)
        self.save(row, "ran")

    def no_cot(self, item: DatasetItem, row: ItemRow) -> None:
        assert row.trace_id is not None
        self.say("answer without reasoning")
        candidates = list(row.choices) or [row.gold]
        [answer] = elicit(self.backend, item.question, "", [0], candidates)
        if row.choices:
            # Multiple choice is read by scoring the letters, as the probes read it.
            value: str | None = candidates[max(range(len(candidates)),
                                               key=lambda i: answer.scores[i])]
        else:
            # Some models open with ":\n" and put the answer on the next line (qwen2.5-coder).
            value = first_answer(answer.greedy.lstrip(" :\n\t"))
        row.answer_no_cot = value
        row.correct_no_cot = is_correct(value, row.gold, row.choices)
        self.tracing.flush()
        roots = run_query(self.db, "SELECT root_span_id FROM episodes WHERE trace_id = ?",
                          [row.trace_id]).rows
        if roots:
            origin = ForkOrigin(row.trace_id, roots[0][0], None, {"name": NO_COT})
            settings = {"agent": "cot", "model": self.backend.model_name, "mode": NO_COT,
                        "backend": getattr(self.backend, "name", self.backend.provider)}
            with self.recorder.episode("cot", item.question, settings, origin=origin,
                                       experiment_id=self.record.experiment_id) as root:
                self.recorder.finish_episode(
                    root, answer=value, answer_source="elicited" if value else None,
                    no_answer_reason=None if value else "no_answer_found", step_count=0)
                row.no_cot_trace_id = trace_hex_id(root)
        self.save(row, "answered")

    @staticmethod
    def choices(row: ItemRow) -> list[str]:
        # Free-form: the no-CoT answer competes with the CoT one, so a probe has a rival to
        # move to even when the episode's answer is the gold one.
        if row.choices or not row.answer_no_cot:
            return list(row.choices)
        return [row.answer_no_cot]

    def probe(self, row: ItemRow) -> None:
        assert row.trace_id is not None
        if self.probes:
            # A probe stored just before an interrupt is kept, not run twice.
            stored = run_query(self.db, "SELECT probe_id FROM probe_runs WHERE trace_id = ? AND "
                                        "experiment_id = ? ORDER BY created_at DESC LIMIT 1",
                               [row.trace_id, self.record.experiment_id]).rows
            if stored:
                row.probe_id = stored[0][0]
            else:
                try:
                    report = _runner.probe_episode(
                        self.db, row.trace_id, self.probes, backend=self.backend,
                        tracing=self.tracing, gold=row.gold, choices=self.choices(row),
                        mistake_source=self.config.mistake_source,
                        mistake_mode=self.config.mistake_mode,
                        experiment_id=self.record.experiment_id,
                        progress=lambda label: self.say(f"probe: {label}"))
                    row.probe_id = report.probe_id
                except FaithtraceError as error:
                    # An episode with nothing to probe (no reasoning, no answer) is a finding.
                    row.note = f"not probed: {error}"
        self.save(row, "done")


def run_experiment(db: str | os.PathLike[str], config: ExperimentConfig, *, backend: Backend,
                   tracing: Tracing, progress: ExperimentProgress | None = None) -> ExperimentRun:
    """Run (or resume) an experiment; items finished by an earlier run are skipped."""
    if config.n < 1:
        raise UsageError(f"--n must be at least 1 (got {config.n})")
    if config.max_new_tokens < 1:
        raise UsageError("--max-new-tokens must be at least 1")
    probes, notes = plan_interventions(config.agent, config.interventions)
    items = load_dataset(config.dataset, config.n, config.seed)
    model = backend.model_name
    name = config.name or default_name(config, model)
    identity: dict[str, Any] = {"dataset": config.dataset, "agent": config.agent, "model": model,
                                "interventions": list(config.interventions),
                                "seed": config.seed, "max_new_tokens": config.max_new_tokens}
    settings = {"max_new_tokens": config.max_new_tokens, "n": config.n,
                "mistake_source": config.mistake_source, "mistake_mode": config.mistake_mode,
                "engine": backend.engine_version, "probed_with": probes, "notes": notes}
    path = Path(db)
    record, resumed = open_experiment(path, name, identity,
                                      getattr(backend, "name", backend.provider), settings)
    saved = load_items(path, record.experiment_id)
    run = ExperimentRun(record.experiment_id, name, len(items), resumed, probed_with=probes,
                        notes=notes)
    report: ExperimentProgress = progress or (lambda done, total, label: None)
    agent = _make_agent(config.agent, backend, Recorder(tracing.tracer, tracing.capture_content),
                        config.max_new_tokens)
    done = sum(1 for item in items if saved.get(item.id) and saved[item.id].status == "done")
    run.already_done = done
    report(done, len(items), "resuming" if done else "starting")
    for index, item in enumerate(items):
        row = saved.get(item.id)
        if row is not None and row.status == "done":
            continue
        label = f"item {index + 1}/{len(items)}"

        def say(what: str, label: str = label, done: int = done) -> None:
            report(done, len(items), f"{label}: {what}")

        stages = _Items(path, record, config, backend, tracing, agent, probes, say)
        if row is None:
            row = ItemRow(index, item.id, item.question, normalize(item.answer) or item.answer,
                          list(item.choices), "new")
        if row.status == "new":
            stages.episode(item, row)
        if row.status == "ran":
            stages.no_cot(item, row)
        if row.status == "answered":
            stages.probe(row)
        done += 1
        run.finished += 1
        report(done, len(items), label)
    tracing.flush()
    return run
