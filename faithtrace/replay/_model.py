"""An episode as the store remembers it: everything replay, fork and diff need."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from faithtrace.agents import Step


@dataclass(frozen=True)
class ModelCall:
    """One `chat` span: what was sent, what came back, what it cost."""

    span_id: str
    model: str | None
    provider: str | None
    input_messages: list[dict[str, Any]]
    output_text: str | None
    finish_reason: str | None
    input_tokens: int | None
    output_tokens: int | None
    duration_ms: float
    status: str
    error_type: str | None


@dataclass(frozen=True)
class ToolCall:
    """One `execute_tool` span."""

    span_id: str
    call_id: str | None
    name: str
    arguments: str | None
    result: str | None
    step_index: int | None
    duration_ms: float
    status: str
    error_type: str | None


@dataclass(frozen=True)
class Retrieval:
    """One `retrieval` span and the documents it returned, best first."""

    span_id: str
    index_id: str | None
    query: str | None
    documents: list[dict[str, Any]]
    duration_ms: float


@dataclass
class RecordedEpisode:
    """A stored episode, rebuilt from its spans and typed rows."""

    trace_id: str
    root_span_id: str
    agent: str
    question: str | None
    settings: dict[str, Any]
    steps: list[Step]
    model_calls: list[ModelCall]
    tool_calls: list[ToolCall]
    retrievals: list[Retrieval]
    answer: str | None
    answer_source: str | None
    no_answer_reason: str | None
    citations: list[int]
    status: str
    error_type: str | None
    started: datetime | None
    duration_ms: float
    parent_trace_id: str | None = None
    fork_step: int | None = None
    intervention: dict[str, Any] = field(default_factory=dict)

    @property
    def completion(self) -> str | None:
        """The text of the first model call (a CoT episode's whole reasoning)."""
        return self.model_calls[0].output_text if self.model_calls else None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["started"] = self.started.isoformat() if self.started else None
        return data
