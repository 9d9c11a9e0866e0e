"""`faithtrace sql`, `faithtrace traces`, `faithtrace db ...`: reading the store."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from faithtrace.cli._output import FORMATS, print_json, print_rows
from faithtrace.config import db_path
from faithtrace.store import connect, latest_version, list_episodes, run_query, schema_markdown


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
             add_db: Callable[[argparse.ArgumentParser], None]) -> None:
    sql = subparsers.add_parser("sql", help="run a SQL query over the traces")
    sql.add_argument("query", help='e.g. "SELECT * FROM steps LIMIT 10"')
    sql.add_argument("--format", choices=FORMATS, default="table", help="output format")
    add_db(sql)
    sql.set_defaults(handler=run_sql)

    traces = subparsers.add_parser("traces", help="list recent episodes")
    traces.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    traces.add_argument("--json", action="store_true", help="print as JSON")
    add_db(traces)
    traces.set_defaults(handler=run_traces)

    db = subparsers.add_parser("db", help="the trace database itself")
    verbs = db.add_subparsers(dest="verb", required=True, metavar="VERB")
    path = verbs.add_parser("path", help="print the database path")
    add_db(path)
    path.set_defaults(handler=run_db_path)
    schema = verbs.add_parser("schema", help="print the schema document (docs/schema.md)")
    schema.set_defaults(handler=run_db_schema)
    migrate = verbs.add_parser("migrate", help="create or upgrade the database schema")
    add_db(migrate)
    migrate.set_defaults(handler=run_db_migrate)


def run_sql(args: argparse.Namespace) -> int:
    result = run_query(db_path(args.db), args.query)
    print_rows(result.columns, result.rows, args.format)
    return 0


def run_traces(args: argparse.Namespace) -> int:
    result = list_episodes(db_path(args.db), args.limit)
    if args.json:
        print_json(result.records())
    else:
        print_rows(result.columns, result.rows, "table", title="episodes", max_width=48)
    return 0


def run_db_path(args: argparse.Namespace) -> int:
    print(db_path(args.db).resolve())
    return 0


def run_db_schema(args: argparse.Namespace) -> int:
    sys.stdout.write(schema_markdown())
    return 0


def run_db_migrate(args: argparse.Namespace) -> int:
    path = db_path(args.db)
    with connect(path):
        pass
    print(f"{path}: schema version {latest_version()}")
    return 0
