"""An OpenTelemetry `SpanExporter` that writes finished spans into the DuckDB store.

Spans are converted to one Arrow table per batch (the fast path into DuckDB: row-wise
inserts are two orders of magnitude slower) and written in one transaction. The file is
opened for each batch and closed straight after, so readers can get in between batches.
`export` never raises: a failure is counted and returned as `FAILURE`.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from faithtrace.store import connect
from faithtrace.tracer import semconv as sc

logger = logging.getLogger(__name__)

_STRING_COLUMNS = list(sc.PROMOTED_STRING.items())
_INT_COLUMNS = list(sc.PROMOTED_INT.items())
SPAN_COLUMNS = (
    ["trace_id", "span_id", "parent_span_id", "name", "kind", "start_time", "end_time",
     "duration_ms", "status_code", "status_message", "service_name", "scope_name"]
    + [column for _, column in _STRING_COLUMNS]
    + [column for _, column in _INT_COLUMNS]
    + ["attributes", "events", "links", "resource"]
)
DOCUMENT_COLUMNS = ["trace_id", "span_id", "index_id", "query", "rank", "document_id", "title",
                    "score", "text"]
STEP_COLUMNS = ["trace_id", "span_id", "step_index", "kind", "text", "char_start", "char_end",
                "token_start", "token_end", "source_span_id"]


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _timestamps(nanos: list[int]) -> pa.Array:
    return pa.array(nanos, pa.int64()).cast(pa.timestamp("ns")).cast(
        pa.timestamp("us"), safe=False
    )


def _document_rows(trace_id: str, span_id: str, attrs: dict[str, Any],
                   docs: dict[str, list[Any]]) -> None:
    raw = attrs.get(sc.RETRIEVAL_DOCUMENTS_FULL) or attrs.get(sc.GEN_AI_RETRIEVAL_DOCUMENTS)
    try:
        documents = json.loads(str(raw)) if raw else []
    except ValueError:
        return
    for rank, doc in enumerate(documents, start=1):
        docs["trace_id"].append(trace_id)
        docs["span_id"].append(span_id)
        docs["index_id"].append(attrs.get(sc.GEN_AI_DATA_SOURCE_ID))
        docs["query"].append(attrs.get(sc.GEN_AI_RETRIEVAL_QUERY_TEXT))
        docs["rank"].append(int(doc.get("rank", rank)))
        docs["document_id"].append(str(doc.get("id")))
        docs["title"].append(doc.get("title"))
        docs["score"].append(float(doc["score"]) if doc.get("score") is not None else None)
        docs["text"].append(doc.get("text"))


@dataclass(frozen=True)
class ArrowBatch:
    """One export batch as Arrow tables, one per store table."""

    spans: pa.Table
    steps: pa.Table
    documents: pa.Table


def spans_to_arrow(spans: Sequence[ReadableSpan]) -> ArrowBatch:
    """Convert finished spans to Arrow tables in the store's columns: the spans themselves,
    plus the typed rows their attributes carry (reasoning steps, retrieved documents)."""
    cols: dict[str, list[Any]] = {name: [] for name in SPAN_COLUMNS}
    steps: dict[str, list[Any]] = {name: [] for name in STEP_COLUMNS}
    docs: dict[str, list[Any]] = {name: [] for name in DOCUMENT_COLUMNS}
    resource_json: dict[int, str] = {}
    for span in spans:
        ctx = span.context
        if ctx is None:
            continue
        trace_id = format(ctx.trace_id, "032x")
        span_id = format(ctx.span_id, "016x")
        attrs = dict(span.attributes or {})
        start = span.start_time or 0
        end = span.end_time or start
        cols["trace_id"].append(trace_id)
        cols["span_id"].append(span_id)
        cols["parent_span_id"].append(format(span.parent.span_id, "016x") if span.parent else None)
        cols["name"].append(span.name)
        cols["kind"].append(span.kind.name)
        cols["start_time"].append(start)
        cols["end_time"].append(end)
        cols["duration_ms"].append((end - start) / 1e6)
        cols["status_code"].append(span.status.status_code.name)
        cols["status_message"].append(span.status.description)
        resource = span.resource
        res_json = resource_json.get(id(resource))
        if res_json is None:
            res_json = resource_json[id(resource)] = _json(dict(resource.attributes))
        cols["service_name"].append(resource.attributes.get("service.name"))
        cols["scope_name"].append(span.instrumentation_scope.name if span.instrumentation_scope else None)
        for key, column in _STRING_COLUMNS:
            value = attrs.get(key)
            cols[column].append(None if value is None else str(value))
        for key, column in _INT_COLUMNS:
            cols[column].append(_int_or_none(attrs.get(key)))
        cols["attributes"].append(_json(attrs))
        cols["events"].append(
            _json([{"name": e.name, "time": e.timestamp, "attributes": dict(e.attributes or {})}
                   for e in span.events]) if span.events else "[]"
        )
        cols["links"].append(
            _json([{"trace_id": format(link.context.trace_id, "032x"),
                    "span_id": format(link.context.span_id, "016x"),
                    "attributes": dict(link.attributes or {})} for link in span.links])
            if span.links else "[]"
        )
        cols["resource"].append(res_json)
        if attrs.get(sc.GEN_AI_OPERATION_NAME) == sc.OP_RETRIEVAL:
            _document_rows(trace_id, span_id, attrs, docs)
        step_index = attrs.get(sc.STEP_INDEX)
        if step_index is not None:
            steps["trace_id"].append(trace_id)
            steps["span_id"].append(span_id)
            steps["step_index"].append(_int_or_none(step_index))
            steps["kind"].append(str(attrs.get(sc.STEP_KIND, "thought")))
            text = attrs.get(sc.STEP_TEXT)
            steps["text"].append(None if text is None else str(text))
            for key, column in ((sc.STEP_CHAR_START, "char_start"), (sc.STEP_CHAR_END, "char_end"),
                                (sc.STEP_TOKEN_START, "token_start"), (sc.STEP_TOKEN_END, "token_end")):
                steps[column].append(_int_or_none(attrs.get(key)))
            source = attrs.get(sc.STEP_SOURCE_SPAN_ID)
            steps["source_span_id"].append(None if source is None else str(source))
    arrays: dict[str, pa.Array] = {}
    for name in SPAN_COLUMNS:
        if name in ("start_time", "end_time"):
            arrays[name] = _timestamps(cols[name])
        elif name == "duration_ms":
            arrays[name] = pa.array(cols[name], pa.float64())
        elif name in sc.PROMOTED_INT.values():
            arrays[name] = pa.array(cols[name], pa.int64())
        else:
            arrays[name] = pa.array(cols[name], pa.string())
    step_arrays = {
        name: pa.array(values, pa.int64() if name in ("step_index", "char_start", "char_end",
                                                       "token_start", "token_end") else pa.string())
        for name, values in steps.items()
    }
    doc_arrays = {
        name: pa.array(values, pa.int64() if name == "rank" else
                       pa.float64() if name == "score" else pa.string())
        for name, values in docs.items()
    }
    return ArrowBatch(pa.table(arrays), pa.table(step_arrays), pa.table(doc_arrays))


@dataclass
class ExporterStats:
    """What the exporter has written and what it failed to write."""

    exported: int = 0
    failed: int = 0
    batches: int = 0
    last_error: str | None = None


class DuckDBSpanExporter(SpanExporter):
    """Writes spans (and the reasoning steps they carry) into a faithtrace DuckDB file."""

    def __init__(self, db_path: str | os.PathLike[str], busy_timeout_s: float = 30.0) -> None:
        self.db_path = Path(db_path)
        self.busy_timeout_s = busy_timeout_s
        self.stats = ExporterStats()
        self._lock = threading.Lock()
        self._closed = False
        # Create and migrate the file now, so a bad path fails at set-up, not mid-episode.
        with connect(self.db_path, busy_timeout_s=busy_timeout_s):
            pass

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if not spans:
            return SpanExportResult.SUCCESS
        if self._closed:
            self.stats.failed += len(spans)
            self.stats.last_error = "exporter already shut down"
            return SpanExportResult.FAILURE
        try:
            batch = spans_to_arrow(spans)
            with self._lock, connect(self.db_path, busy_timeout_s=self.busy_timeout_s) as con:
                con.execute("BEGIN TRANSACTION")
                for table_name, table, columns in (
                    ("spans", batch.spans, SPAN_COLUMNS),
                    ("reasoning_steps", batch.steps, STEP_COLUMNS),
                    ("retrieved_documents", batch.documents, DOCUMENT_COLUMNS),
                ):
                    if table.num_rows:
                        con.register("_ft_batch", table)
                        names = ", ".join(columns)
                        con.execute(f"INSERT INTO {table_name} ({names}) "
                                    f"SELECT {names} FROM _ft_batch")
                        con.unregister("_ft_batch")
                con.execute("COMMIT")
        except Exception as error:  # never raise into the traced program
            self.stats.failed += len(spans)
            self.stats.last_error = f"{type(error).__name__}: {error}"
            logger.warning("faithtrace: could not write %d spans to %s: %s",
                           len(spans), self.db_path, error)
            return SpanExportResult.FAILURE
        self.stats.exported += len(spans)
        self.stats.batches += 1
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self._closed = True

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
