"""Model backends behind one protocol, and the registry of packaged models."""

from faithtrace.llm._factory import BACKENDS, load_backend, resolve_backend_name
from faithtrace.llm._protocol import (
    Backend,
    BackendStats,
    BranchAnswer,
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
from faithtrace.llm._vllm_server import serve_command

__all__ = [
    "BACKENDS",
    "DEFAULT_DEMO_MODEL",
    "DEFAULT_TEST_MODEL",
    "REGISTRY",
    "Backend",
    "BackendStats",
    "BranchAnswer",
    "Completion",
    "GenerationRequest",
    "Message",
    "PackagedModel",
    "ResolvedModel",
    "is_cached",
    "is_installed",
    "load_backend",
    "resolve_backend_name",
    "resolve_model",
    "serve_command",
]
