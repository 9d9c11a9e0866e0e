"""What every agent does the same way: a traced model call, and the settings it records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from faithtrace.llm import Backend, Completion, GenerationRequest, Message
from faithtrace.tracer import Recorder, span_hex_id


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
