"""Printing results: tables for people, JSON and CSV for programs."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

FORMATS = ("table", "csv", "json")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2, default=_plain)
    sys.stdout.write("\n")


def print_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str = "table",
               title: str | None = None, max_width: int = 60) -> None:
    """Query results in one of `FORMATS`."""
    if fmt == "json":
        print_json([{c: _plain(v) for c, v in zip(columns, row, strict=True)} for row in rows])
        return
    if fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows([[_plain(v) for v in row] for row in rows])
        return
    table = Table(title=title, show_lines=False, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold", max_width=max_width)
    for row in rows:
        # Cells are Text, not markup: model output is full of "[...]" and "\[".
        table.add_row(*(Text("" if v is None else str(_plain(v))) for v in row))
    Console().print(table)
    if not rows:
        print("(no rows)", file=sys.stderr)
