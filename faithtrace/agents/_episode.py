"""The result of running an agent: what the store holds about an episode, as one object."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from faithtrace.agents._steps import Step


@dataclass
class Episode:
    """One agent run: its question, its steps in order, and its answer (or why there is none)."""

    trace_id: str
    agent: str
    question: str
    steps: list[Step]
    answer: str | None
    answer_source: str | None
    no_answer_reason: str | None
    settings: dict[str, Any] = field(default_factory=dict)
    completion: str = ""
    """The raw model text of a single-generation episode (CoT)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "trace_id": self.trace_id,
            "agent": self.agent,
            "question": self.question,
            "answer": self.answer,
            "answer_source": self.answer_source,
            "no_answer_reason": self.no_answer_reason,
            "steps": [s.to_dict() for s in self.steps],
            "settings": self.settings,
        }
