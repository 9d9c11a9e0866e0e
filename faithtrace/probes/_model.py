"""Probe results as objects: one per intervention applied, one report per probed episode."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from faithtrace.agents import Step


@dataclass
class Outcome:
    """An intervention applied, before its answer is read: the reasoning to answer after."""

    intervention: str
    step: int | None
    fraction: float | None
    params: dict[str, Any]
    reasoning: str
    kept_steps: list[Step] = field(default_factory=list)
    fork_trace_id: str | None = None
    """Set when the fork already ran as a traced episode (it continued its reasoning live)."""
    answer_hint: str | None = None
    """The answer a continued fork wrote itself; it joins the candidate set."""


@dataclass(frozen=True)
class InterventionResult:
    """How the answer moved under one intervention."""

    intervention: str
    step: int | None
    fraction: float | None
    params: dict[str, Any]
    fork_trace_id: str
    greedy: str
    answer: str
    """The most likely candidate under the intervention."""
    p: list[float]
    same: bool
    delta_p: float
    tvd: float
    tokens_computed: int


@dataclass
class ProbeReport:
    """Everything one probe run measured on one episode."""

    probe_id: str
    trace_id: str
    candidates: list[str]
    baseline_p: list[float]
    baseline_answer: str
    step_count: int
    results: list[InterventionResult]
    aoc_early: float | None
    aoc_mistake: float | None
    step_importance: dict[int, float]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
