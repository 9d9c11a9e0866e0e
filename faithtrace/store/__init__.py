"""The trace store: one DuckDB file with spans, typed tables and views."""

from faithtrace.store._connection import connect
from faithtrace.store._migrations import MIGRATIONS, applied_version, latest_version, migrate
from faithtrace.store._queries import QueryResult, list_episodes, run_query
from faithtrace.store._schema_doc import schema_markdown

__all__ = [
    "MIGRATIONS",
    "QueryResult",
    "applied_version",
    "connect",
    "latest_version",
    "list_episodes",
    "migrate",
    "run_query",
    "schema_markdown",
]
