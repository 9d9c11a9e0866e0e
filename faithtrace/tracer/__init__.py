"""OpenTelemetry tracing into the DuckDB store: set-up, exporter, span helpers, names."""

from faithtrace.tracer import semconv
from faithtrace.tracer._exporter import ArrowBatch, DuckDBSpanExporter, spans_to_arrow
from faithtrace.tracer._processor import BurstBatchSpanProcessor, ProcessorStats
from faithtrace.tracer._recorder import ForkOrigin, Recorder, span_hex_id, trace_hex_id
from faithtrace.tracer._setup import Tracing, setup_tracing

__all__ = [
    "ArrowBatch",
    "BurstBatchSpanProcessor",
    "DuckDBSpanExporter",
    "ForkOrigin",
    "ProcessorStats",
    "Recorder",
    "Tracing",
    "semconv",
    "setup_tracing",
    "span_hex_id",
    "spans_to_arrow",
    "trace_hex_id",
]
