"""The one interface every model backend offers: batched generation and batched scoring."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

Message = dict[str, str]


@dataclass(frozen=True)
class GenerationRequest:
    """One generation: chat messages (or a raw prompt) and sampling settings."""

    messages: tuple[Message, ...] = ()
    """Chat messages; the backend applies the model's chat template."""
    prompt: str | None = None
    """A raw, already-templated prompt; used instead of `messages` when set."""
    max_new_tokens: int = 256
    temperature: float = 0.0
    """0 means greedy decoding."""
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    """Generation ends at the first of these; the stop string is not part of the text."""
    continue_final: bool = False
    """Continue the last (assistant) message instead of opening a new reply."""


@dataclass(frozen=True)
class Completion:
    """What a backend returns for one request."""

    text: str
    token_ids: list[int]
    logprobs: list[float]
    """Log-probability of each generated token under the model."""
    finish_reason: str
    """`stop` (end of turn or a stop string) or `length` (ran out of tokens)."""
    prompt: str
    """The prompt exactly as the model saw it, chat template applied."""
    prompt_tokens: int
    completion_tokens: int
    stop_sequence: str | None = None
    """Which stop string ended generation, if one did."""


@dataclass(frozen=True)
class BranchAnswer:
    """What a model answers after one branch prompt: candidate scores and a greedy reply."""

    scores: list[float]
    """Summed log-probability of each candidate continuation."""
    greedy: str
    """A short greedy generation after the prompt (recorded beside the scores)."""
    tokens_computed: int = 0


@dataclass
class BackendStats:
    """Work done by a backend, for cost accounting in benchmarks and probes."""

    prompt_tokens_computed: int = 0
    """Tokens pushed through the model in prefill (cached prefixes not counted)."""
    generated_tokens: int = 0
    calls: int = 0
    extra: dict[str, float] = field(default_factory=dict)


@runtime_checkable
class Backend(Protocol):
    """A model that can generate text and score continuations."""

    provider: str
    """Value of `gen_ai.provider.name` for its spans."""
    model_name: str
    """The model as the user named it."""
    engine_version: str
    stats: BackendStats

    def render(self, messages: Sequence[Message], *, continue_final: bool = False) -> str:
        """The prompt text for chat messages, with the model's chat template."""
        ...

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        """Generate for a batch of requests; one completion each, in order."""
        ...

    def score(self, prompt: str, continuations: Sequence[str]) -> list[float]:
        """Summed log-probability of each continuation after `prompt`, sharing the prompt's work."""
        ...

    def count_tokens(self, text: str) -> int:
        """How many tokens `text` is for this model."""
        ...
