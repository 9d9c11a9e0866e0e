"""A CoT episode on the real test model: the span tree, and the CLI end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from faithtrace.agents import CoTAgent
from faithtrace.tracer import Recorder

pytestmark = pytest.mark.model

QUESTION = "Tom has 3 apples and buys 4 more. How many apples does he have?"


def faithtrace(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-m", "faithtrace", *args], capture_output=True,
                          text=True, timeout=300, env={**os.environ, **(env or {})})


def test_episode_span_tree_and_gen_ai_attributes(smol_backend: Any) -> None:
    memory = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    agent = CoTAgent(smol_backend, Recorder(provider.get_tracer("test")), max_new_tokens=48)
    episode = agent.run(QUESTION)
    spans = memory.get_finished_spans()
    by_name = {s.name: s for s in spans}
    root = by_name["invoke_agent cot"]
    chat = by_name["chat smollm2-135m"]
    steps = [s for s in spans if s.name.startswith("step ")]

    assert root.parent is None
    assert format(root.context.trace_id, "032x") == episode.trace_id
    assert all(s.context.trace_id == root.context.trace_id for s in spans)
    assert chat.parent is not None and chat.parent.span_id == root.context.span_id
    assert all(s.parent is not None and s.parent.span_id == root.context.span_id for s in steps)
    assert len(steps) == len(episode.steps) >= 1

    assert root.attributes is not None and chat.attributes is not None
    assert root.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert root.attributes["gen_ai.agent.name"] == "cot"
    assert root.attributes["faithtrace.episode.question"] == QUESTION
    settings = json.loads(str(root.attributes["faithtrace.episode.settings"]))
    assert settings["model"] == "smollm2-135m" and settings["max_new_tokens"] == 48
    assert chat.attributes["gen_ai.operation.name"] == "chat"
    assert chat.attributes["gen_ai.provider.name"] == "transformers"
    assert chat.attributes["gen_ai.request.model"] == "smollm2-135m"
    assert int(chat.attributes["gen_ai.usage.input_tokens"]) > 10  # type: ignore[arg-type]
    assert 0 < int(chat.attributes["gen_ai.usage.output_tokens"]) <= 48  # type: ignore[arg-type]
    assert QUESTION in str(chat.attributes["gen_ai.input.messages"])
    assert "gen_ai.output.messages" in chat.attributes
    chat_id = format(chat.context.span_id, "016x")
    for index, span in enumerate(sorted(steps, key=lambda s: s.start_time or 0)):
        assert span.attributes is not None
        assert span.attributes["faithtrace.step.index"] == index
        assert span.attributes["faithtrace.step.source_span_id"] == chat_id
    if episode.answer is None:
        assert root.attributes["faithtrace.episode.no_answer_reason"] in (
            "max_tokens", "no_answer_found")
    else:
        assert root.attributes["faithtrace.episode.answer"] == episode.answer


def test_cli_run_then_sql_end_to_end(db: Path) -> None:
    run = faithtrace("run", "cot", QUESTION, "--model", "smollm2-135m", "--db", str(db),
                     "--max-new-tokens", "48", "--json")
    assert run.returncode == 0, run.stderr
    episode = json.loads(run.stdout)
    assert len(episode["trace_id"]) == 32 and episode["steps"]

    sql = faithtrace("sql", "SELECT step_index, kind, text FROM steps WHERE trace_id = '"
                     + episode["trace_id"] + "' ORDER BY step_index", "--db", str(db),
                     "--format", "json")
    assert sql.returncode == 0, sql.stderr
    rows = json.loads(sql.stdout)
    assert [(r["step_index"], r["kind"], r["text"]) for r in rows] == [
        (s["index"], s["kind"], s["text"]) for s in episode["steps"]]

    listing = faithtrace("traces", "--db", str(db), "--json")
    [listed] = json.loads(listing.stdout)
    assert listed["trace_id"] == episode["trace_id"] and listed["question"] == QUESTION

    calls = faithtrace("sql", "SELECT provider, model, output_tokens FROM llm_calls",
                       "--db", str(db), "--format", "csv")
    assert calls.stdout.splitlines()[1].startswith("transformers,smollm2-135m,")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "cot", "What?", "--model", "no-such-model"], "unknown model"),
        (["run", "cot", "   ", "--model", "smollm2-135m"], "question is empty"),
        (["sql", "SELEC 1"], "SQL error"),
        (["sql", "SELECT 1", "--db", "/nonexistent/dir/x.duckdb"], "no trace database"),
    ],
)
def test_user_errors_are_one_line_exit_2(db: Path, args: list[str], message: str) -> None:
    if "--db" not in args:
        args = [*args, "--db", str(db)]
    if args[0] == "sql" and "/nonexistent" not in " ".join(args):
        faithtrace("db", "migrate", "--db", str(db))
    result = faithtrace(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.startswith("error:")]) == 1


def test_debug_env_shows_the_traceback(db: Path) -> None:
    result = faithtrace("sql", "SELECT 1", "--db", str(db), env={"FAITHTRACE_DEBUG": "1"})
    assert result.returncode != 0 and "Traceback" in result.stderr
