"""Replay: load, render, re-run, fork and diff recorded episodes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from faithtrace.agents import CoTAgent
from faithtrace.errors import StoreError, TraceNotFoundError
from faithtrace.replay import (
    ReplaceStep,
    TruncateAfter,
    episode_html,
    fork,
    load_episode,
    rerun,
)
from faithtrace.store import connect, run_query
from faithtrace.tracer import DuckDBSpanExporter, Recorder, Tracing, semconv, setup_tracing

QUESTION = "Tom has 3 apples and buys 4 more. How many apples does he have?"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory, smol_backend: Any) -> tuple[Path, str]:
    """One real CoT episode on SmolLM2, stored once for the module."""
    db = tmp_path_factory.mktemp("replay") / "t.duckdb"
    tracing = setup_tracing(db)
    agent = CoTAgent(smol_backend, Recorder(tracing.tracer), max_new_tokens=64)
    episode = agent.run(QUESTION)
    tracing.shutdown()
    return db, episode.trace_id


@pytest.mark.model
def test_load_rebuilds_the_episode(recorded: tuple[Path, str]) -> None:
    db, trace_id = recorded
    episode = load_episode(db, trace_id[:8])  # a unique prefix is enough
    assert episode.trace_id == trace_id and episode.agent == "cot"
    assert episode.question == QUESTION
    assert episode.settings["model"] == "smollm2-135m" and episode.settings["backend"] == "hf"
    assert len(episode.model_calls) == 1 and episode.model_calls[0].output_text
    assert episode.steps and [s.index for s in episode.steps] == list(range(len(episode.steps)))


@pytest.mark.model
def test_rerun_from_the_record_is_identical(recorded: tuple[Path, str]) -> None:
    db, trace_id = recorded
    tracing = setup_tracing(db)
    result = rerun(db, trace_id, tracing)
    tracing.shutdown()
    assert result.identical and result.first_divergence is None
    assert result.rerun.parent_trace_id == trace_id
    assert result.rerun.intervention == {"name": "rerun"}


@pytest.mark.model
def test_fork_keeps_the_prefix_byte_identical(recorded: tuple[Path, str], smol_backend: Any) -> None:
    db, trace_id = recorded
    parent = load_episode(db, trace_id)
    tracing = setup_tracing(db)
    recorder = Recorder(tracing.tracer)
    k = 0
    truncated = fork(db, trace_id, k, TruncateAfter(), recorder=recorder, backend=smol_backend,
                     answer_now=True)
    replaced = fork(db, trace_id, k, ReplaceStep("Tom has 3 apples and buys 5 more, so 8."),
                    recorder=recorder, backend=smol_backend)
    tracing.shutdown()
    forked = load_episode(db, truncated.trace_id)
    assert [(s.kind, s.text) for s in forked.steps] == [
        (s.kind, s.text) for s in parent.steps[: k + 1]]
    assert parent.completion is not None
    kept = parent.steps[k]
    assert parent.completion[: kept.char_end].endswith(forked.steps[-1].text)
    assert forked.parent_trace_id == trace_id and forked.fork_step == k
    assert forked.intervention == {"name": "truncate", "mode": "answer_now"}
    assert load_episode(db, replaced.trace_id).steps[0].text == "Tom has 3 apples and buys 5 more, so 8."
    # Forks join back to their parent with plain SQL, and carry an OTel link to it.
    rows = run_query(db, """
        SELECT f.trace_id, p.question, f.answer FROM episodes f
        JOIN episodes p ON f.parent_trace_id = p.trace_id
        WHERE p.trace_id = ? ORDER BY f.start_time""", [trace_id]).rows
    assert {r[0] for r in rows} >= {truncated.trace_id, replaced.trace_id}
    links = run_query(db, "SELECT links FROM spans WHERE trace_id = ? AND parent_span_id IS NULL",
                      [truncated.trace_id]).rows[0][0]
    assert json.loads(links)[0]["trace_id"] == trace_id


@pytest.mark.model
def test_replay_cli_renders_tree_and_json(recorded: tuple[Path, str]) -> None:
    db, trace_id = recorded
    tree = subprocess.run([sys.executable, "-m", "faithtrace", "replay", trace_id, "--db", str(db)],
                          capture_output=True, text=True, timeout=60)
    assert tree.returncode == 0 and "steps (" in tree.stdout and "model calls" in tree.stdout
    as_json = subprocess.run([sys.executable, "-m", "faithtrace", "replay", trace_id, "--json",
                              "--db", str(db)], capture_output=True, text=True, timeout=60)
    assert json.loads(as_json.stdout)["trace_id"] == trace_id


@pytest.mark.model
@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium not installed")
def test_html_page_shows_the_steps_in_headless_chromium(recorded: tuple[Path, str],
                                                        tmp_path: Path) -> None:
    db, trace_id = recorded
    episode = load_episode(db, trace_id)
    page = tmp_path / "episode.html"
    page.write_text(episode_html(episode))
    assert "http://" not in page.read_text() and "https://" not in page.read_text()
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(["chromium", *flags, "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    assert 'id="page-error"' not in dom
    assert dom.count("<li class=") == len(episode.steps) > 0
    shot = tmp_path / "episode.png"
    subprocess.run(["chromium", *flags, f"--screenshot={shot}", "--window-size=1200,900",
                    page.as_uri()], capture_output=True, timeout=120)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_unknown_trace_id_is_a_clear_error(db: Path) -> None:
    with connect(db):
        pass
    with pytest.raises(TraceNotFoundError, match="faithtrace traces"):
        load_episode(db, "feedface")
    result = subprocess.run([sys.executable, "-m", "faithtrace", "replay", "feedface",
                             "--db", str(db)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stderr.startswith("error: no trace")


def _tracing_with_resource(db: Path, resource: dict[str, Any]) -> tuple[TracerProvider, Recorder]:
    provider = TracerProvider(resource=Resource.create(resource), shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(DuckDBSpanExporter(db)))
    return provider, Recorder(provider.get_tracer("t"))


def test_trace_from_a_newer_format_is_refused(db: Path) -> None:
    provider, recorder = _tracing_with_resource(db, {semconv.SCHEMA_VERSION: 99})
    with recorder.episode("cot", "q", {"model": "m"}) as root:
        recorder.finish_episode(root, answer="1", answer_source="x", no_answer_reason=None,
                                step_count=0)
    provider.shutdown()
    [(trace_id,)] = run_query(db, "SELECT trace_id FROM episodes").rows
    with pytest.raises(StoreError, match="newer than this faithtrace"):
        load_episode(db, trace_id)


def test_trace_with_missing_spans_is_refused(tracing: Tracing, db: Path) -> None:
    recorder = Recorder(tracing.tracer)
    with recorder.episode("cot", "q", {"model": "m"}) as root:
        for i in range(3):
            recorder.step(index=i, kind="thought", text=f"s{i}")
        recorder.finish_episode(root, answer="1", answer_source="x", no_answer_reason=None,
                                step_count=3)
    tracing.flush()
    [(trace_id,)] = run_query(db, "SELECT trace_id FROM episodes").rows
    with connect(db) as con:
        con.execute("DELETE FROM reasoning_steps WHERE step_index = 1")
    with pytest.raises(StoreError, match="missing spans"):
        load_episode(db, trace_id)
    with connect(db) as con:
        con.execute("DELETE FROM spans WHERE parent_span_id IS NULL")
    with pytest.raises(StoreError, match="no root"):
        load_episode(db, trace_id)


def test_react_rerun_serves_model_and_tool_results_from_the_record(tracing: Tracing,
                                                                   db: Path) -> None:
    from doubles import ScriptedBackend

    from faithtrace.agents import ReActAgent, ToolRegistry, calculator

    script = ["Thought: multiply.\nAction: calculator[17*23]",
              "Thought: now divide by zero.\nAction: calculator[1/0]",
              "Thought: done.\nFinal Answer: 391"]
    agent = ReActAgent(ScriptedBackend(script), Recorder(tracing.tracer),
                       tools=ToolRegistry([calculator]), max_steps=4)
    original = agent.run("What is 17 * 23?")
    tracing.flush()
    result = rerun(db, original.trace_id, tracing)
    assert result.identical, result.diff
    assert [c.result for c in result.rerun.tool_calls] == ["391", "error: division by zero"]
    assert [c.status for c in result.rerun.tool_calls] == ["OK", "ERROR"]


@pytest.mark.model
def test_real_react_episode_reruns_identically(smol_backend: Any, tracing: Tracing,
                                               db: Path) -> None:
    from faithtrace.agents import ReActAgent, ToolRegistry, calculator

    agent = ReActAgent(smol_backend, Recorder(tracing.tracer), tools=ToolRegistry([calculator]),
                       max_steps=2, max_new_tokens=24)
    original = agent.run("What is 12 * 12?")
    tracing.flush()
    result = rerun(db, original.trace_id, tracing)
    assert result.identical, result.diff
    assert len(result.rerun.steps) == len(original.steps) > 0
