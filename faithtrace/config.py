"""Settings resolved in one place: explicit argument, then environment variable, then default."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DB = "faithtrace.duckdb"

_FALSE = {"0", "false", "no", "off"}


def db_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The trace database: `--db`, else `FAITHTRACE_DB`, else `./faithtrace.duckdb`."""
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("FAITHTRACE_DB") or DEFAULT_DB)


def cache_dir() -> Path:
    """Where converted models and indexes live: `FAITHTRACE_CACHE` or `~/.cache/faithtrace`."""
    root = os.environ.get("FAITHTRACE_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "faithtrace"


def capture_content(explicit: bool | None = None) -> bool:
    """Whether prompts, completions and step text are recorded (`FAITHTRACE_CAPTURE_CONTENT`).

    Recording content is the point of a local tracer, so it is on unless switched off.
    """
    if explicit is not None:
        return explicit
    return os.environ.get("FAITHTRACE_CAPTURE_CONTENT", "true").strip().lower() not in _FALSE


def debug() -> bool:
    """`FAITHTRACE_DEBUG=1` makes the CLI show tracebacks instead of one-line errors."""
    return os.environ.get("FAITHTRACE_DEBUG", "").strip().lower() not in _FALSE | {""}
