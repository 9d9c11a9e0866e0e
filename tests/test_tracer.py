"""The tracer: the exporter's contract (never raise, never lose a span silently) and set-up."""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from faithtrace.store import connect, run_query
from faithtrace.tracer import BurstBatchSpanProcessor, DuckDBSpanExporter, Recorder, setup_tracing


class SlowExporter(SpanExporter):
    def __init__(self, delay_s: float, fail: bool = False, raise_: bool = False) -> None:
        self.delay_s, self.fail, self.raise_ = delay_s, fail, raise_
        self.received = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        time.sleep(self.delay_s)
        if self.raise_:
            raise RuntimeError("exporter bug")
        self.received += len(spans)
        return SpanExportResult.FAILURE if self.fail else SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def _burst(processor: BurstBatchSpanProcessor, count: int) -> None:
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("test")
    for i in range(count):
        with tracer.start_as_current_span("s", attributes={"i": i}):
            pass
    provider.shutdown()


def test_full_queue_drops_are_counted_not_silent(capsys: pytest.CaptureFixture[str]) -> None:
    exporter = SlowExporter(0.2)
    processor = BurstBatchSpanProcessor(exporter, max_queue_size=50, max_export_batch_size=10)
    _burst(processor, 1000)
    stats = processor.stats()
    assert stats.dropped > 0
    assert stats.exported + stats.dropped + stats.failed == 1000
    assert exporter.received == stats.exported
    assert "spans dropped" in capsys.readouterr().err


def test_failing_or_raising_exporter_never_breaks_the_program() -> None:
    for exporter in (SlowExporter(0, fail=True), SlowExporter(0, raise_=True)):
        processor = BurstBatchSpanProcessor(exporter)
        _burst(processor, 20)  # must not raise
        assert processor.stats().failed == 20


def test_duckdb_exporter_reports_failure_instead_of_raising(db: Path) -> None:
    exporter = DuckDBSpanExporter(db)
    with connect(db) as con:
        con.execute("DROP VIEW tool_calls; DROP VIEW steps; DROP VIEW llm_calls; "
                    "DROP VIEW citations; DROP VIEW episodes; DROP TABLE spans")
    processor = BurstBatchSpanProcessor(exporter)
    _burst(processor, 5)
    assert processor.stats().failed == 5
    assert exporter.stats.last_error is not None


def test_burst_reaches_the_database_without_drops(db: Path) -> None:
    processor = BurstBatchSpanProcessor(DuckDBSpanExporter(db))
    _burst(processor, 20_000)
    assert processor.stats().dropped == 0
    assert run_query(db, "SELECT count(*) FROM spans").rows == [(20_000,)]


def test_spans_are_flushed_on_ctrl_c(db: Path) -> None:
    code = f"""
import os, signal
from faithtrace.tracer import setup_tracing, Recorder
t = setup_tracing({str(db)!r})
r = Recorder(t.tracer)
with r.episode("cot", "q", {{"model": "m"}}) as root:
    r.step(index=0, kind="thought", text="x")
os.kill(os.getpid(), signal.SIGINT)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert result.returncode != 0 and b"KeyboardInterrupt" in result.stderr
    assert run_query(db, "SELECT count(*) FROM spans").rows == [(2,)]


def test_content_capture_switch_hides_text(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAITHTRACE_CAPTURE_CONTENT", "false")
    tracing = setup_tracing(db)
    assert tracing.capture_content is False
    recorder = Recorder(tracing.tracer, tracing.capture_content)
    with recorder.episode("cot", "secret question", {"model": "m"}) as root:
        with recorder.chat(provider="p", model="m", engine_version="e",
                           messages=[{"role": "user", "content": "secret prompt"}],
                           max_tokens=5, temperature=0, seed=None, stop=()) as chat:
            recorder.chat_result(chat, text="secret reasoning", finish_reason="stop",
                                 input_tokens=3, output_tokens=2)
        recorder.step(index=0, kind="thought", text="secret step")
        recorder.finish_episode(root, answer="secret answer", answer_source="answer_line",
                                no_answer_reason=None, step_count=1)
    tracing.shutdown()
    dump = run_query(db, "SELECT string_agg(CAST(attributes AS VARCHAR), ' ') FROM spans").rows
    assert "secret" not in str(dump)
    assert run_query(db, "SELECT text, input_tokens FROM steps, llm_calls").rows == [(None, 3)]


class _Collector(http.server.BaseHTTPRequestHandler):
    posts: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        self.rfile.read(length)
        _Collector.posts.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_otlp_environment_adds_an_otlp_exporter(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
        tracing = setup_tracing(db)
        with Recorder(tracing.tracer).episode("cot", "q", {"model": "m"}):
            pass
        tracing.shutdown()
    finally:
        server.shutdown()
    assert "/v1/traces" in _Collector.posts
    assert run_query(db, "SELECT count(*) FROM episodes").rows == [(1,)]
