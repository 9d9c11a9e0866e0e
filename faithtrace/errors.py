"""The errors a user can cause. Each message says what went wrong and how to fix it.

The CLI turns any `FaithtraceError` into one line on stderr and exit code 2;
`FAITHTRACE_DEBUG=1` shows the traceback instead.
"""

from __future__ import annotations


class FaithtraceError(Exception):
    """Base class: a problem the user can fix (bad input, missing model, busy database)."""

    exit_code = 2


class UsageError(FaithtraceError):
    """The command was given something it cannot use (an empty question, a bad option)."""


class ModelNotFoundError(FaithtraceError):
    """A model name that is neither in the registry nor a local directory or GGUF file."""


class ModelIntegrityError(FaithtraceError):
    """A packaged model file whose checksum does not match the registry."""


class BackendError(FaithtraceError):
    """A model backend that cannot be used here (not installed, wrong hardware)."""


class StoreError(FaithtraceError):
    """The trace database cannot be opened or queried."""


class DatabaseBusyError(StoreError):
    """Another process holds the database file for writing longer than we waited."""


class QueryError(StoreError):
    """A SQL query the database rejected."""


class TraceNotFoundError(StoreError):
    """A trace id that is not in the database."""


class ToolError(FaithtraceError):
    """A tool refused its input or failed; agents show the message to the model as an observation."""

    exit_code = 1


class UnknownToolError(ToolError):
    """A tool name that is not registered."""

    exit_code = 2


class ToolTimeoutError(ToolError):
    """A tool that did not finish within its time limit."""


class CorpusError(FaithtraceError):
    """A corpus that cannot be read: a missing path, a bad JSONL line, no text at all."""


class IndexNotFoundError(FaithtraceError):
    """A directory that holds no built retrieval index."""


class IndexMismatchError(FaithtraceError):
    """A retrieval index built with another embedding model (or dimension) than the one in use."""


class DatasetError(FaithtraceError):
    """An experiment data set that cannot be used: an unknown name, a bad JSONL line."""


class ExperimentNotFoundError(StoreError):
    """An experiment name or id that is not in the database."""
