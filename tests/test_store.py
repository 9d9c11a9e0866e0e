"""The DuckDB store: migrations, the schema document, sharing the file between processes."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from faithtrace.errors import DatabaseBusyError, QueryError, StoreError
from faithtrace.store import (
    MIGRATIONS,
    applied_version,
    connect,
    latest_version,
    run_query,
    schema_markdown,
)

ROOT = Path(__file__).resolve().parents[1]


def test_migrations_are_recorded_and_idempotent(db: Path) -> None:
    with connect(db) as con:
        assert applied_version(con) == latest_version() == len(MIGRATIONS)
    with connect(db) as con:  # a second open applies nothing new
        names = [r[0] for r in con.execute(
            "SELECT name FROM _faithtrace_migrations ORDER BY id").fetchall()]
    assert names == [m.__name__ for m in MIGRATIONS]


def test_views_exist(db: Path) -> None:
    with connect(db) as con:
        views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}
    assert {"episodes", "steps", "llm_calls", "tool_calls", "citations"} <= views


def test_newer_schema_is_refused(db: Path) -> None:
    with connect(db) as con:
        con.execute("INSERT INTO _faithtrace_migrations (id, name) VALUES (999, 'm999_future')")
    with pytest.raises(StoreError, match="newer than this faithtrace"), connect(db):
        pass


def test_schema_doc_matches_code() -> None:
    """docs/schema.md is generated; regenerate with `make schema-doc` when this fails."""
    assert (ROOT / "docs" / "schema.md").read_text() == schema_markdown()


def test_stock_duckdb_opens_the_file(db: Path) -> None:
    with connect(db):
        pass
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM spans").fetchall() == [(0,)]
    con.close()


def test_query_errors_are_clear(db: Path) -> None:
    with connect(db):
        pass
    with pytest.raises(QueryError, match="SQL error"):
        run_query(db, "SELEC nonsense")
    with pytest.raises(StoreError, match="no trace database"):
        run_query(db.with_name("missing.duckdb"), "SELECT 1")


def _hold_for_writing(db: Path, seconds: float) -> subprocess.Popen[bytes]:
    code = (f"import duckdb, time; c = duckdb.connect({str(db)!r}); print('held', flush=True); "
            f"time.sleep({seconds}); c.close()")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
    return holder


def test_locked_file_is_retried_then_reported_busy(db: Path) -> None:
    with connect(db):
        pass
    holder = _hold_for_writing(db, 3.0)
    try:
        started = time.monotonic()
        with pytest.raises(DatabaseBusyError, match="database is busy"), \
                connect(db, read_only=True, busy_timeout_s=0.5):
            pass
        assert time.monotonic() - started >= 0.5
        # Waiting longer than the holder keeps it gets in.
        with connect(db, read_only=True, busy_timeout_s=15) as con:
            assert con.execute("SELECT count(*) FROM spans").fetchall() == [(0,)]
    finally:
        holder.wait(timeout=10)


def test_threads_of_one_process_share_the_file(db: Path) -> None:
    """The exporter's writer thread and a reader in the same process open the file at once."""
    import threading

    with connect(db):
        pass
    errors: list[str] = []

    def worker(read_only: bool) -> None:
        for _ in range(25):
            try:
                with connect(db, read_only=read_only) as con:
                    con.execute("SELECT count(*) FROM spans").fetchall()
            except Exception as error:
                errors.append(repr(error))

    threads = [threading.Thread(target=worker, args=(i % 2 == 0,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
