"""faithtrace: trace LLM agent episodes into DuckDB and test whether their reasoning is faithful."""

__version__ = "0.1.0"

from faithtrace.agents import CoTAgent, Episode, Step, parse_answer, segment
from faithtrace.errors import FaithtraceError
from faithtrace.llm import (
    REGISTRY,
    Backend,
    Completion,
    GenerationRequest,
    load_backend,
    resolve_model,
)
from faithtrace.store import connect, list_episodes, run_query
from faithtrace.tracer import Recorder, Tracing, setup_tracing

__all__ = [
    "REGISTRY",
    "Backend",
    "CoTAgent",
    "Completion",
    "Episode",
    "FaithtraceError",
    "GenerationRequest",
    "Recorder",
    "Step",
    "Tracing",
    "__version__",
    "connect",
    "list_episodes",
    "load_backend",
    "parse_answer",
    "resolve_model",
    "run_query",
    "segment",
    "setup_tracing",
]
