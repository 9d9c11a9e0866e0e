"""Choosing a backend by name."""

from __future__ import annotations

from faithtrace.errors import BackendError
from faithtrace.llm._protocol import Backend

BACKENDS = ("auto", "hf")


def load_backend(name: str, model: str) -> Backend:
    """A ready backend: `hf` (transformers) or `auto` (the best one available here)."""
    if name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    from faithtrace.llm._hf import HFBackend

    return HFBackend(model)
