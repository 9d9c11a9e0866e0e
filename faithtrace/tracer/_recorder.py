"""How an episode is written as spans: one helper per span kind, names from `semconv`.

Agents call these instead of the OTel API so every episode has the same shape:
`invoke_agent {agent}` at the root; `chat {model}`, `execute_tool {tool}`,
`retrieval {index}` and `step {kind}` spans beneath it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode

from faithtrace.tracer import semconv as sc


def span_hex_id(span: Span) -> str:
    """The span id as 16 hex digits, as the store keeps it."""
    return format(span.get_span_context().span_id, "016x")


def trace_hex_id(span: Span) -> str:
    """The trace id as 32 hex digits: the episode id."""
    return format(span.get_span_context().trace_id, "032x")


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


@dataclass(frozen=True)
class ForkOrigin:
    """Where a forked or replayed episode came from, for its root span and link."""

    parent_trace_id: str
    parent_span_id: str
    fork_step: int | None = None
    intervention: Mapping[str, Any] | None = None


class Recorder:
    """Writes the spans of episodes through one OTel tracer."""

    def __init__(self, tracer: trace.Tracer, capture_content: bool = True) -> None:
        self.tracer = tracer
        self.capture_content = capture_content

    @contextmanager
    def episode(
        self,
        agent: str,
        question: str,
        settings: Mapping[str, Any],
        *,
        origin: ForkOrigin | None = None,
        experiment_id: str | None = None,
    ) -> Iterator[Span]:
        """The root span of an episode; its trace id is the episode id."""
        attributes: dict[str, Any] = {
            sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_AGENT,
            sc.GEN_AI_AGENT_NAME: agent,
            sc.EPISODE_SETTINGS: _json(settings),
        }
        model = settings.get("model")
        if model:
            attributes[sc.GEN_AI_REQUEST_MODEL] = str(model)
        if self.capture_content:
            attributes[sc.EPISODE_QUESTION] = question
        if experiment_id:
            attributes[sc.EPISODE_EXPERIMENT_ID] = experiment_id
        links: list[Link] = []
        if origin is not None:
            attributes[sc.PARENT_TRACE_ID] = origin.parent_trace_id
            if origin.fork_step is not None:
                attributes[sc.FORK_STEP] = origin.fork_step
            for key, value in (origin.intervention or {}).items():
                attributes[sc.INTERVENTION_PREFIX + key] = (
                    value if isinstance(value, str | int | float | bool) else _json(value))
            links.append(Link(trace.SpanContext(
                trace_id=int(origin.parent_trace_id, 16), span_id=int(origin.parent_span_id, 16),
                is_remote=False), {"faithtrace.link": "parent"}))
        # A fresh root context: an episode never nests inside whatever span the host has open.
        with self.tracer.start_as_current_span(
            f"{sc.OP_INVOKE_AGENT} {agent}", context=trace.set_span_in_context(trace.INVALID_SPAN),
            kind=SpanKind.INTERNAL, attributes=attributes, links=links,
            record_exception=True, set_status_on_exception=True,
        ) as span:
            try:
                yield span
            except BaseException as error:
                span.set_attribute(sc.ERROR_TYPE, type(error).__name__)
                raise

    def finish_episode(self, span: Span, *, answer: str | None, answer_source: str | None,
                       no_answer_reason: str | None, step_count: int) -> None:
        """Record the outcome on the root span. No answer is an outcome, not an error."""
        span.set_attribute(sc.EPISODE_STEP_COUNT, step_count)
        if answer is not None:
            span.set_attribute(sc.EPISODE_ANSWER, answer if self.capture_content else "<hidden>")
        if answer_source:
            span.set_attribute(sc.EPISODE_ANSWER_SOURCE, answer_source)
        if no_answer_reason:
            span.set_attribute(sc.EPISODE_NO_ANSWER_REASON, no_answer_reason)
        span.set_status(Status(StatusCode.OK))

    @contextmanager
    def chat(self, *, provider: str, model: str, engine_version: str,
             messages: Sequence[Mapping[str, str]], max_tokens: int, temperature: float,
             seed: int | None, stop: Sequence[str]) -> Iterator[Span]:
        """A `chat {model}` span around one model call."""
        attributes: dict[str, Any] = {
            sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT,
            sc.GEN_AI_PROVIDER_NAME: provider,
            sc.GEN_AI_REQUEST_MODEL: model,
            sc.GEN_AI_REQUEST_MAX_TOKENS: max_tokens,
            sc.GEN_AI_REQUEST_TEMPERATURE: temperature,
            sc.BACKEND_VERSION: engine_version,
        }
        if seed is not None:
            attributes[sc.GEN_AI_REQUEST_SEED] = seed
        if stop:
            attributes[sc.GEN_AI_REQUEST_STOP_SEQUENCES] = list(stop)
        if self.capture_content:
            attributes[sc.GEN_AI_INPUT_MESSAGES] = _json(list(messages))
        with self.tracer.start_as_current_span(
            f"{sc.OP_CHAT} {model}", kind=SpanKind.CLIENT, attributes=attributes,
            record_exception=True, set_status_on_exception=True,
        ) as span:
            try:
                yield span
            except BaseException as error:
                span.set_attribute(sc.ERROR_TYPE, type(error).__name__)
                raise

    def chat_result(self, span: Span, *, text: str, finish_reason: str, input_tokens: int,
                    output_tokens: int, response_model: str | None = None) -> None:
        """Record what a model call returned."""
        span.set_attribute(sc.GEN_AI_USAGE_INPUT_TOKENS, input_tokens)
        span.set_attribute(sc.GEN_AI_USAGE_OUTPUT_TOKENS, output_tokens)
        span.set_attribute(sc.GEN_AI_RESPONSE_FINISH_REASONS, [finish_reason])
        if response_model:
            span.set_attribute(sc.GEN_AI_RESPONSE_MODEL, response_model)
        if self.capture_content:
            span.set_attribute(sc.GEN_AI_OUTPUT_MESSAGES, _json(
                [{"role": "assistant", "content": text, "finish_reason": finish_reason}]))

    @contextmanager
    def tool(self, *, name: str, call_id: str, arguments: Any,
             step_index: int | None = None) -> Iterator[Span]:
        """An `execute_tool {name}` span around one tool call."""
        attributes: dict[str, Any] = {
            sc.GEN_AI_OPERATION_NAME: sc.OP_EXECUTE_TOOL,
            sc.GEN_AI_TOOL_NAME: name,
            sc.GEN_AI_TOOL_CALL_ID: call_id,
        }
        if step_index is not None:
            attributes[sc.TOOL_STEP_INDEX] = step_index
        if self.capture_content:
            attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS] = (
                arguments if isinstance(arguments, str) else _json(arguments))
        with self.tracer.start_as_current_span(
            f"{sc.OP_EXECUTE_TOOL} {name}", kind=SpanKind.INTERNAL, attributes=attributes,
            record_exception=True, set_status_on_exception=True,
        ) as span:
            yield span

    def tool_result(self, span: Span, result: str) -> None:
        """A tool's successful result, as the model will see it."""
        if self.capture_content:
            span.set_attribute(sc.GEN_AI_TOOL_CALL_RESULT, result)
        span.set_status(Status(StatusCode.OK))

    def tool_error(self, span: Span, error_type: str, message: str) -> None:
        """A tool failure (bad input, exception, timeout): error status, `error.type`, message."""
        span.set_attribute(sc.ERROR_TYPE, error_type)
        if self.capture_content:
            span.set_attribute(sc.GEN_AI_TOOL_CALL_RESULT, f"error: {message}")
        span.set_status(Status(StatusCode.ERROR, message))

    @contextmanager
    def retrieval(self, *, index_id: str, query: str, k: int) -> Iterator[Span]:
        """A `retrieval {index}` span around one retriever query."""
        attributes: dict[str, Any] = {
            sc.GEN_AI_OPERATION_NAME: sc.OP_RETRIEVAL,
            sc.GEN_AI_DATA_SOURCE_ID: index_id,
            sc.RETRIEVAL_K: k,
        }
        if self.capture_content:
            attributes[sc.GEN_AI_RETRIEVAL_QUERY_TEXT] = query
        with self.tracer.start_as_current_span(
            f"{sc.OP_RETRIEVAL} {index_id}", kind=SpanKind.CLIENT, attributes=attributes,
            record_exception=True, set_status_on_exception=True,
        ) as span:
            yield span

    def retrieval_result(self, span: Span, documents: Sequence[Mapping[str, Any]]) -> None:
        """Retrieved documents, best first: each a mapping with id, title, score and text.

        Ids and scores are always recorded; titles and text only with content capture.
        """
        span.set_attribute(sc.GEN_AI_RETRIEVAL_DOCUMENTS, _json(
            [{"id": d["id"], "score": float(d["score"])} for d in documents]))
        if self.capture_content:
            span.set_attribute(sc.RETRIEVAL_DOCUMENTS_FULL, _json([
                {"rank": rank, "id": d["id"], "title": d.get("title"),
                 "score": float(d["score"]), "text": d.get("text")}
                for rank, d in enumerate(documents, start=1)]))

    def citations(self, span: Span, source_numbers: Sequence[int]) -> None:
        """On the episode's root span: the [n] sources its answer cited."""
        span.set_attribute(sc.EPISODE_CITATIONS, _json([int(n) for n in source_numbers]))

    def step(self, *, index: int, kind: str, text: str, char_start: int | None = None,
             char_end: int | None = None, token_start: int | None = None,
             token_end: int | None = None, source_span_id: str | None = None) -> str:
        """One span per reasoning step, under the current span; returns its span id."""
        attributes: dict[str, Any] = {
            sc.GEN_AI_OPERATION_NAME: sc.OP_STEP,
            sc.STEP_INDEX: index,
            sc.STEP_KIND: kind,
        }
        for key, value in ((sc.STEP_CHAR_START, char_start), (sc.STEP_CHAR_END, char_end),
                           (sc.STEP_TOKEN_START, token_start), (sc.STEP_TOKEN_END, token_end),
                           (sc.STEP_SOURCE_SPAN_ID, source_span_id)):
            if value is not None:
                attributes[key] = value
        if self.capture_content:
            attributes[sc.STEP_TEXT] = text
        with self.tracer.start_as_current_span(f"step {kind}", attributes=attributes) as span:
            return span_hex_id(span)
