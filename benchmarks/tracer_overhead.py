"""What tracing costs: per-span time on the agent's thread, exporter ingest rate, burst drops.

    python benchmarks/tracer_overhead.py [--spans 200000]

(a) per span on the traced thread: the bare OTel SDK with a no-op exporter, against the same
    SDK with faithtrace's processor + DuckDB exporter (the agent thread only enqueues);
(b) the exporter's ingest rate: finished spans written into a DuckDB file, spans/s;
(c) a burst of N spans through the full pipeline: how many were dropped (target 0).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

from faithtrace.tracer import BurstBatchSpanProcessor, DuckDBSpanExporter, semconv
from faithtrace.tracer.semconv import GEN_AI_OPERATION_NAME

ATTRIBUTES = {
    GEN_AI_OPERATION_NAME: "reasoning_step",
    semconv.STEP_INDEX: 3,
    semconv.STEP_KIND: "thought",
    semconv.STEP_TEXT: "Tom has 3 apples and buys 4 more, so he has 3 + 4 = 7 apples.",
    semconv.STEP_CHAR_START: 0,
    semconv.STEP_CHAR_END: 62,
    semconv.STEP_TOKEN_START: 0,
    semconv.STEP_TOKEN_END: 21,
    semconv.GEN_AI_REQUEST_MODEL: "qwen2.5-coder-0.5b",
    semconv.GEN_AI_PROVIDER_NAME: "transformers",
}


class NoOpExporter(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


class CollectingExporter(NoOpExporter):
    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS


def per_span_us(provider: TracerProvider, count: int) -> float:
    tracer = provider.get_tracer("bench")
    started = time.perf_counter()
    for _ in range(count):
        with tracer.start_as_current_span("step thought", attributes=ATTRIBUTES):
            pass
    return (time.perf_counter() - started) / count * 1e6


def agent_thread_cost(count: int, db: Path, repeats: int = 3) -> tuple[float, float]:
    bare, ours = [], []
    for _ in range(repeats):
        provider = TracerProvider(shutdown_on_exit=False)
        provider.add_span_processor(BatchSpanProcessor(NoOpExporter(), max_queue_size=count))
        bare.append(per_span_us(provider, count))
        provider.shutdown()
        provider = TracerProvider(shutdown_on_exit=False)
        provider.add_span_processor(BurstBatchSpanProcessor(DuckDBSpanExporter(db)))
        ours.append(per_span_us(provider, count))
        provider.shutdown()
    return statistics.median(bare), statistics.median(ours)


def ingest_rate(count: int, db: Path) -> tuple[float, float]:
    collector = CollectingExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(BatchSpanProcessor(collector, max_queue_size=count + 1,
                                                   max_export_batch_size=count + 1))
    per_span_us(provider, count)
    provider.shutdown()
    exporter = DuckDBSpanExporter(db)
    batch = 50_000
    started = time.perf_counter()
    for i in range(0, len(collector.spans), batch):
        exporter.export(collector.spans[i:i + batch])
    elapsed = time.perf_counter() - started
    # Conversion alone, to show where the time goes.
    from faithtrace.tracer import spans_to_arrow

    started = time.perf_counter()
    for i in range(0, len(collector.spans), batch):
        spans_to_arrow(collector.spans[i:i + batch])
    convert = time.perf_counter() - started
    return len(collector.spans) / elapsed, len(collector.spans) / convert


def burst_drops(count: int, db: Path) -> tuple[int, int, float]:
    processor = BurstBatchSpanProcessor(DuckDBSpanExporter(db))
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(processor)
    started = time.perf_counter()
    per_span_us(provider, count)
    provider.shutdown()
    stats = processor.stats()
    return stats.dropped + stats.failed, stats.exported, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=200_000, help="burst size (default 200k)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bare, ours = agent_thread_cost(20_000, root / "a.duckdb")
        rate, convert_rate = ingest_rate(100_000, root / "b.duckdb")
        lost, written, seconds = burst_drops(args.spans, root / "c.duckdb")
    print("faithtrace tracer overhead (10 attributes per span)")
    print(f"(a) per span on the agent thread: bare SDK + no-op exporter {bare:6.1f} us | "
          f"faithtrace processor + DuckDB exporter {ours:6.1f} us | overhead {ours - bare:+.1f} us")
    print(f"(b) exporter ingest into DuckDB: {rate:,.0f} spans/s "
          f"(span -> Arrow conversion alone {convert_rate:,.0f} spans/s)")
    print(f"(c) burst of {args.spans:,} spans: {lost} dropped or failed, {written:,} written, "
          f"{seconds:.1f} s end to end")


if __name__ == "__main__":
    main()
