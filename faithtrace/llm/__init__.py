"""Model backends behind one protocol, and the registry of packaged models."""

from faithtrace.llm._factory import BACKENDS, load_backend
from faithtrace.llm._protocol import (
    Backend,
    BackendStats,
    Completion,
    GenerationRequest,
    Message,
)
from faithtrace.llm._registry import (
    DEFAULT_DEMO_MODEL,
    DEFAULT_TEST_MODEL,
    REGISTRY,
    PackagedModel,
    ResolvedModel,
    is_cached,
    is_installed,
    resolve_model,
)

__all__ = [
    "BACKENDS",
    "DEFAULT_DEMO_MODEL",
    "DEFAULT_TEST_MODEL",
    "REGISTRY",
    "Backend",
    "BackendStats",
    "Completion",
    "GenerationRequest",
    "Message",
    "PackagedModel",
    "ResolvedModel",
    "is_cached",
    "is_installed",
    "load_backend",
    "resolve_model",
]
