"""What every agent does the same way: a traced model call, and the settings it records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.trace import Span

from faithtrace.agents._steps import Step
from faithtrace.errors import UsageError
from faithtrace.llm import Backend, Completion, GenerationRequest, Message
from faithtrace.tracer import Recorder, span_hex_id, trace_hex_id


def traced_generate(recorder: Recorder, backend: Backend, messages: Sequence[Message], *,
                    max_new_tokens: int, temperature: float, seed: int | None,
                    stop: tuple[str, ...] = (), continue_final: bool = False
                    ) -> tuple[Completion, str]:
    """One model call inside a `chat {model}` span; returns the completion and the span id."""
    request = GenerationRequest(messages=tuple(messages), max_new_tokens=max_new_tokens,
                                temperature=temperature, seed=seed, stop=stop,
                                continue_final=continue_final)
    with recorder.chat(provider=backend.provider, model=backend.model_name,
                       engine_version=backend.engine_version, messages=messages,
                       max_tokens=max_new_tokens, temperature=temperature, seed=seed,
                       stop=stop) as span:
        completion = backend.generate([request])[0]
        recorder.chat_result(span, text=completion.text, finish_reason=completion.finish_reason,
                             input_tokens=completion.prompt_tokens,
                             output_tokens=completion.completion_tokens)
        return completion, span_hex_id(span)


def base_settings(agent: str, backend: Backend, *, max_new_tokens: int, temperature: float,
                  seed: int | None, prompt_version: str) -> dict[str, Any]:
    """The settings every agent records on its root span, so replay can rebuild it."""
    return {
        "agent": agent,
        "model": backend.model_name,
        # The backend's CLI name (`hf`, `vllm`) when it has one: what replay loads again.
        "backend": getattr(backend, "name", backend.provider),
        "engine": backend.engine_version,
        "max_new_tokens": max_new_tokens,
        "temperature": temperature,
        "seed": seed,
        "prompt_version": prompt_version,
    }


def require_question(question: str) -> None:
    """An empty question is the user's mistake, refused before any model call."""
    if not question or not question.strip():
        raise UsageError("the question is empty; pass the question to answer as text")


def record_outcome(recorder: Recorder, root: Span, state: Mapping[str, Any]) -> dict[str, Any]:
    """Write a finished graph state's answer (or why there is none) on the episode's root span,
    and return the `Episode` fields it decides."""
    steps = state.get("steps", [])
    outcome = {"answer": state.get("answer"), "answer_source": state.get("answer_source"),
               "no_answer_reason": state.get("no_answer_reason")}
    recorder.finish_episode(root, step_count=len(steps), **outcome)
    return {"trace_id": trace_hex_id(root), "steps": steps, **outcome}


def record_steps(recorder: Recorder, steps: Sequence[Step]) -> None:
    """One step span per step, as they are (a fork's kept prefix, a probe's altered steps)."""
    for step in steps:
        recorder.step(index=step.index, kind=step.kind, text=step.text,
                      char_start=step.char_start, char_end=step.char_end,
                      token_start=step.token_start, token_end=step.token_end)
