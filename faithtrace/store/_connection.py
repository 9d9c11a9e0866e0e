"""Opening the trace database, politely.

DuckDB lets one process hold a file for writing, and while it does no other process can
open it at all. Writers therefore hold the file only for the moment they write, and every
opener retries a locked file for a short while before reporting that it is busy.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from faithtrace.errors import DatabaseBusyError, StoreError
from faithtrace.store._migrations import applied_version, latest_version, migrate

DEFAULT_BUSY_TIMEOUT_S = 10.0


def _is_lock_error(error: Exception) -> bool:
    text = str(error).lower()
    return "lock" in text or "resource temporarily unavailable" in text


def _is_config_clash(error: Exception) -> bool:
    # Inside one process DuckDB shares one database instance per file, and refuses a
    # read-only connection while a read-write one is open (or the reverse); an open racing
    # another thread's open of the same file fails with a file-handle conflict.
    text = str(error).lower()
    return "different configuration" in text or "unique file handle conflict" in text


def _open(path: Path, read_only: bool, busy_timeout_s: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + busy_timeout_s
    delay = 0.01
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as error:
            if _is_config_clash(error) and read_only:
                # This process already writes the file (a tracer's exporter): read through
                # the same read-write instance, which takes no lock from anyone else.
                read_only = False
                continue
            if not (_is_lock_error(error) or _is_config_clash(error)):
                raise StoreError(f"cannot open trace database {path}: {error}") from error
            if time.monotonic() >= deadline:
                raise DatabaseBusyError(
                    f"database is busy: {path} is held by another process (tried for "
                    f"{busy_timeout_s:.0f} s); try again when it finishes writing"
                ) from error
            time.sleep(delay)
            delay = min(delay * 2, 0.25)


@contextmanager
def connect(
    path: str | os.PathLike[str],
    *,
    read_only: bool = False,
    busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the database (migrated to the current schema) and close it on exit.

    A read-only open of a database that does not exist yet is an error: there is nothing
    to read. A read-only open of an older schema migrates it first, briefly, for writing.
    """
    path = Path(path)
    if read_only:
        if not path.exists():
            raise StoreError(
                f"no trace database at {path}; record an episode first "
                "(faithtrace run cot \"QUESTION\") or pass --db"
            )
        con = _open(path, True, busy_timeout_s)
        if applied_version(con) < latest_version():
            con.close()
            with connect(path, read_only=False, busy_timeout_s=busy_timeout_s):
                pass
            con = _open(path, True, busy_timeout_s)
    else:
        if path.parent and not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
        con = _open(path, False, busy_timeout_s)
        try:
            migrate(con)
        except BaseException:
            con.close()
            raise
    try:
        yield con
    finally:
        con.close()
