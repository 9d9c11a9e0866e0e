"""Aligning two episodes step by step and saying what changed."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from faithtrace.agents import Step


@dataclass(frozen=True)
class StepChange:
    """One row of an alignment: a step in A, in B, or in both (same or changed)."""

    status: str
    """`same`, `changed`, `removed` (only in A) or `added` (only in B)."""
    a: Step | None
    b: Step | None


@dataclass(frozen=True)
class EpisodeDiff:
    changes: list[StepChange]
    answer_a: str | None
    answer_b: str | None
    tool_results: list[tuple[int, str | None, str | None]]
    """(call number, result in A, result in B) for tool calls whose results differ."""

    @property
    def identical(self) -> bool:
        return (all(c.status == "same" for c in self.changes) and self.answer_a == self.answer_b
                and not self.tool_results)

    @property
    def first_divergence(self) -> int | None:
        """Index (in A's numbering where possible) of the first step that differs."""
        for position, change in enumerate(self.changes):
            if change.status != "same":
                step = change.a or change.b
                return step.index if step is not None else position
        return None


def _key(step: Step) -> tuple[str, str]:
    return step.kind, step.text


def diff_steps(a: Sequence[Step], b: Sequence[Step], answer_a: str | None, answer_b: str | None,
               tools_a: Sequence[str | None] = (), tools_b: Sequence[str | None] = ()) -> EpisodeDiff:
    """Align by content (so a deleted step shows as one removal, not a cascade of changes)."""
    changes: list[StepChange] = []
    matcher = difflib.SequenceMatcher(a=[_key(s) for s in a], b=[_key(s) for s in b], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            changes += [StepChange("same", a[i], b[j]) for i, j in zip(range(i1, i2), range(j1, j2),
                                                                       strict=True)]
            continue
        left, right = list(a[i1:i2]), list(b[j1:j2])
        for i in range(max(len(left), len(right))):
            x = left[i] if i < len(left) else None
            y = right[i] if i < len(right) else None
            status = "changed" if x and y else "removed" if x else "added"
            changes.append(StepChange(status, x, y))
    results = [(i, x, y) for i, (x, y) in enumerate(zip(tools_a, tools_b, strict=False)) if x != y]
    if len(tools_a) != len(tools_b):
        longer = tools_a if len(tools_a) > len(tools_b) else tools_b
        for i in range(min(len(tools_a), len(tools_b)), len(longer)):
            results.append((i, tools_a[i] if i < len(tools_a) else None,
                            tools_b[i] if i < len(tools_b) else None))
    return EpisodeDiff(changes, answer_a, answer_b, results)
