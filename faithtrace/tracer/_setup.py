"""Setting up OpenTelemetry: a TracerProvider whose spans go to DuckDB (and OTLP, if configured)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from faithtrace import __version__
from faithtrace.config import capture_content as resolve_capture
from faithtrace.config import db_path as resolve_db
from faithtrace.tracer import semconv as sc
from faithtrace.tracer._exporter import DuckDBSpanExporter
from faithtrace.tracer._processor import BurstBatchSpanProcessor, ProcessorStats

logger = logging.getLogger(__name__)

SCOPE = "faithtrace"


def _otlp_processor() -> SpanProcessor | None:
    """An OTLP exporter when the standard OTel environment asks for one."""
    if not (os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
            or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")):
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        logger.warning("faithtrace: OTEL_EXPORTER_OTLP_ENDPOINT is set but the OTLP exporter "
                       "is not installed (pip install opentelemetry-exporter-otlp-proto-http)")
        return None
    # The endpoint, headers and timeout come from the OTEL_EXPORTER_OTLP_* variables.
    return BatchSpanProcessor(OTLPSpanExporter())


@dataclass
class Tracing:
    """A running tracer: hand `tracer` to agents, call `shutdown` (or let atexit) when done."""

    provider: TracerProvider
    processor: BurstBatchSpanProcessor
    exporter: DuckDBSpanExporter
    capture_content: bool
    db_path: Path

    @property
    def tracer(self) -> trace.Tracer:
        return self.provider.get_tracer(SCOPE, __version__)

    def flush(self) -> bool:
        """Write every finished span now; True when the queue is empty afterwards."""
        return self.provider.force_flush()

    def stats(self) -> ProcessorStats:
        return self.processor.stats()

    def shutdown(self) -> None:
        self.provider.shutdown()


def setup_tracing(
    db: str | os.PathLike[str] | None = None,
    *,
    capture_content: bool | None = None,
    service_name: str = "faithtrace",
    max_queue_size: int = 1_000_000,
) -> Tracing:
    """A TracerProvider writing to the DuckDB store; flushed on interpreter exit.

    The provider is returned, not installed globally, so several can coexist (tests) and a
    host program's own global provider is left alone.
    """
    path = resolve_db(db)
    exporter = DuckDBSpanExporter(path)
    processor = BurstBatchSpanProcessor(exporter, max_queue_size=max_queue_size)
    resource = Resource.create({
        "service.name": service_name,
        "service.version": __version__,
        sc.SCHEMA_VERSION: sc.TRACE_FORMAT_VERSION,
    })
    # shutdown_on_exit registers an atexit hook: spans are flushed on normal exit,
    # on an uncaught exception and after Ctrl-C.
    provider = TracerProvider(resource=resource, shutdown_on_exit=True)
    provider.add_span_processor(processor)
    otlp = _otlp_processor()
    if otlp is not None:
        provider.add_span_processor(otlp)
    return Tracing(provider, processor, exporter, resolve_capture(capture_content), path)
