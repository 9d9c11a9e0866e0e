"""Read-side helpers: run a user's SQL, list recent episodes."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import duckdb

from faithtrace.errors import QueryError, UsageError
from faithtrace.store._connection import connect


@dataclass(frozen=True)
class QueryResult:
    """Rows of a query with their column names."""

    columns: list[str]
    rows: list[tuple[Any, ...]]

    def records(self) -> list[dict[str, Any]]:
        """Rows as dictionaries keyed by column name."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def run_query(db: str | os.PathLike[str], sql: str, params: list[Any] | None = None) -> QueryResult:
    """Run one read-only query against the trace database."""
    if not sql.strip():
        raise UsageError("empty SQL query; try: faithtrace sql \"SELECT * FROM episodes\"")
    with connect(db, read_only=True) as con:
        try:
            cursor = con.execute(sql, params or [])
        except duckdb.Error as error:
            first_line = str(error).strip().splitlines()[0]
            raise QueryError(f"SQL error: {first_line}") from error
        if cursor.description is None:
            return QueryResult([], [])
        columns = [d[0] for d in cursor.description]
        return QueryResult(columns, cursor.fetchall())


def list_episodes(db: str | os.PathLike[str], limit: int = 20) -> QueryResult:
    """The most recent episodes, newest first."""
    return run_query(
        db,
        """
        SELECT trace_id, agent, model, start_time, round(duration_ms / 1000, 2) AS seconds,
               step_count, answer, no_answer_reason, question
        FROM episodes ORDER BY start_time DESC LIMIT ?
        """,
        [limit],
    )
