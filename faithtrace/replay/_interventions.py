"""Interventions: how a fork changes an episode's steps at step k.

An intervention receives the recorded steps and the fork step k and returns the steps the
forked run starts from. Returned steps keep the `char_start`/`char_end` of the recorded step
they came from (so the original separators between steps can be kept); their text may change.
The probes build more interventions on this protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from faithtrace.agents import Step
from faithtrace.errors import UsageError


class Intervention(Protocol):
    """A change to an episode's steps, named and parameterised for the trace."""

    @property
    def name(self) -> str:
        """Recorded as `faithtrace.intervention.name`."""
        ...

    def params(self) -> dict[str, Any]:
        """Everything needed to apply the same change again (recorded on the forked trace)."""
        ...

    def apply(self, steps: Sequence[Step], k: int) -> list[Step]:
        """The steps the forked run starts from, given the recorded steps and fork step k."""
        ...


def check_step(steps: Sequence[Step], k: int) -> None:
    if not 0 <= k < len(steps):
        raise UsageError(f"step {k} is out of range: the episode has steps 0..{len(steps) - 1}")


@dataclass(frozen=True)
class TruncateAfter:
    """Keep steps 0..k unchanged and drop the rest."""

    name: str = "truncate"

    def params(self) -> dict[str, Any]:
        return {}

    def apply(self, steps: Sequence[Step], k: int) -> list[Step]:
        check_step(steps, k)
        return list(steps[: k + 1])


@dataclass(frozen=True)
class ReplaceStep:
    """Keep steps 0..k-1, replace step k's text, drop the rest."""

    text: str
    name: str = "replace-step"

    def params(self) -> dict[str, Any]:
        return {"text": self.text}

    def apply(self, steps: Sequence[Step], k: int) -> list[Step]:
        check_step(steps, k)
        return [*steps[:k], replace(steps[k], text=self.text)]


@dataclass(frozen=True)
class KeepNone:
    """Drop every step: the fork starts from empty reasoning (k = -1 in early answering)."""

    name: str = "no-reasoning"

    def params(self) -> dict[str, Any]:
        return {}

    def apply(self, steps: Sequence[Step], k: int) -> list[Step]:
        return []
