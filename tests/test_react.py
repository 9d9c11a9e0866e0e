"""The ReAct loop: every tool call traced, every failure an observation and an error span."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from doubles import ScriptedBackend
from opentelemetry import trace

from faithtrace.agents import (
    STEP_KINDS,
    Episode,
    ReActAgent,
    ToolRegistry,
    calculator,
    default_registry,
    parse_reply,
    tool,
)
from faithtrace.errors import ToolError, UnknownToolError, UsageError
from faithtrace.store import run_query
from faithtrace.tracer import Recorder, setup_tracing


def run_episode(tmp_path: Path, replies: list[str], question: str = "What is 2 + 2?",
                **options: Any) -> tuple[Episode, Path, ScriptedBackend]:
    """One episode against scripted replies, traced into a fresh database and flushed."""
    db = tmp_path / "t.duckdb"
    tracing = setup_tracing(db)
    backend = ScriptedBackend(replies)
    options.setdefault("tools", ToolRegistry([calculator]))
    agent = ReActAgent(backend, Recorder(tracing.tracer), **options)
    episode = agent.run(question)
    tracing.shutdown()
    return episode, db, backend


def rows(db: Path, sql: str, *params: Any) -> list[dict[str, Any]]:
    return run_query(db, sql, list(params)).records()


def check_trace(db: Path, episode: Episode, backend: ScriptedBackend) -> dict[str, Any]:
    """The trace is complete: steps in order, each tool call tied to the action before its
    observation, one chat span per model call. Returns the tool calls and steps."""
    steps = rows(db, "SELECT step_index, kind, text, source_span_id FROM steps "
                     "WHERE trace_id = ? ORDER BY step_index", episode.trace_id)
    assert [s["step_index"] for s in steps] == list(range(len(episode.steps)))
    assert [(s["kind"], s["text"]) for s in steps] == [(s.kind, s.text) for s in episode.steps]
    calls = rows(db, "SELECT * FROM tool_calls WHERE trace_id = ? ORDER BY start_time",
                 episode.trace_id)
    assert [c["tool_call_id"] for c in calls] == [f"call_{i}" for i in range(len(calls))]
    tool_spans = {c["span_id"] for c in calls}
    for call in calls:
        assert steps[call["step_index"]]["kind"] == "action"
        observation = steps[call["step_index"] + 1]
        assert observation["kind"] == "observation"
        assert observation["source_span_id"] in tool_spans
        assert observation["text"] == call["result"]
    assert sum(s["kind"] == "observation" for s in steps) == len(calls)
    chats = rows(db, "SELECT count(*) AS n FROM llm_calls WHERE trace_id = ?", episode.trace_id)
    assert chats[0]["n"] == len(backend.requests)
    [row] = rows(db, "SELECT * FROM episodes WHERE trace_id = ?", episode.trace_id)
    assert row["agent"] == "react"
    assert row["step_count"] == len(episode.steps)
    assert row["answer"] == episode.answer
    assert row["no_answer_reason"] == episode.no_answer_reason
    assert row["status_code"] == "OK"
    return {"steps": steps, "calls": calls, "episode": row}


def test_a_tool_call_then_an_answer(tmp_path: Path) -> None:
    episode, db, backend = run_episode(tmp_path, [
        " I should add the numbers.\nAction: calculator[2 + 2]\nObservation: 5 (made up)",
        " The sum is 4.\nFinal Answer: 4",
    ])
    assert episode.answer == "4"
    assert [s.kind for s in episode.steps] == [
        "thought", "action", "observation", "thought", "answer"]
    assert episode.steps[2].text == "4"  # the tool's result, not the model's made-up one
    action = episode.steps[1]
    # The double's tokens are characters, so token offsets equal character offsets.
    assert (action.char_start, action.token_start) == (27, 27)
    assert action.token_end == action.char_end
    trace = check_trace(db, episode, backend)
    [call] = trace["calls"]
    assert call["tool_name"] == "calculator"
    assert call["arguments"] == "2 + 2"
    assert call["status_code"] == "OK"
    assert call["action_text"] == "Action: calculator[2 + 2]"
    # The model generates with the stop string and continues one assistant turn.
    first, second = backend.requests
    assert first.stop == ("Observation:",) and first.continue_final
    assert first.messages[-1] == {"role": "assistant", "content": "Thought:"}
    assert second.messages[-1]["content"] == (
        "Thought: I should add the numbers.\nAction: calculator[2 + 2]\nObservation: 4\nThought:")
    assert episode.completion.endswith("Final Answer: 4")
    assert "calculator[expression]" in first.messages[0]["content"]
    settings = json.loads(rows(db, "SELECT attributes ->> '$.\"faithtrace.episode.settings\"' AS s "
                                   "FROM spans WHERE trace_id = ? AND parent_span_id IS NULL",
                               episode.trace_id)[0]["s"])
    assert settings["tools"] == ["calculator"]
    assert settings["prompt_version"] == "react-v1"
    assert {"max_steps", "tool_timeout", "model", "backend"} <= set(settings)


def test_a_malformed_action_is_an_observation_and_an_error_span(tmp_path: Path) -> None:
    episode, db, backend = run_episode(tmp_path, [
        " Let me compute.\nAction: calculator 2 + 2 please",
        " I am not sure what to do.",
        " Try again.\nAction: calculator[2+2]",
        "Final Answer: 4",
    ])
    assert episode.answer == "4"
    calls = check_trace(db, episode, backend)["calls"]
    assert [(c["tool_name"], c["status_code"], c["error_type"]) for c in calls] == [
        ("invalid_action", "ERROR", "MalformedActionError"),
        ("invalid_action", "ERROR", "MalformedActionError"),
        ("calculator", "OK", None)]
    assert calls[0]["result"].startswith("error: could not read the action")
    assert calls[1]["result"].startswith("error: no action found")
    assert "Observation: error: could not read" in backend.requests[1].messages[-1]["content"]


def test_an_unknown_tool_is_reported_to_the_model(tmp_path: Path) -> None:
    episode, db, backend = run_episode(tmp_path, [
        "\nAction: search[capital of France]", "\nFinal Answer: Paris"])
    assert episode.answer == "Paris"
    [call] = check_trace(db, episode, backend)["calls"]
    assert call["tool_name"] == "search"
    assert call["error_type"] == "UnknownToolError"
    assert call["result"] == "error: unknown tool 'search'; available tools: calculator"


def test_a_tool_exception_and_a_tool_error(tmp_path: Path) -> None:
    @tool
    def fragile(text: str) -> str:
        """Fails on purpose."""
        raise ValueError(f"cannot handle {text}")

    episode, db, backend = run_episode(tmp_path, [
        " Action: fragile[x]", " Action: calculator[1/0]", " Final Answer: none"],
        tools=ToolRegistry([fragile, calculator]))
    calls = check_trace(db, episode, backend)["calls"]
    assert [(c["tool_name"], c["error_type"], c["result"]) for c in calls] == [
        ("fragile", "ValueError", "error: ValueError: cannot handle x"),
        ("calculator", "CalculatorMathError", "error: division by zero")]
    assert all(c["status_code"] == "ERROR" for c in calls)


def test_a_slow_tool_times_out_and_the_loop_goes_on(tmp_path: Path) -> None:
    release = threading.Event()

    @tool
    def slow(text: str) -> str:
        """Waits until released."""
        release.wait(30)
        return "late"

    started = time.perf_counter()
    try:
        episode, db, backend = run_episode(tmp_path, [" Action: slow[x]", " Final Answer: 1"],
                                           tools=ToolRegistry([slow]), tool_timeout=0.2)
    finally:
        release.set()
    assert time.perf_counter() - started < 5
    assert episode.answer == "1"
    [call] = check_trace(db, episode, backend)["calls"]
    assert call["error_type"] == "ToolTimeoutError"
    assert call["result"] == "error: timeout after 0.2s"
    assert call["status_code"] == "ERROR"


def test_running_out_of_iterations_ends_without_an_answer(tmp_path: Path) -> None:
    episode, db, backend = run_episode(tmp_path, [
        " Action: calculator[1+1]", ' {"tool": "calculator", "input": "2*3"}'], max_steps=2)
    assert episode.answer is None
    assert episode.no_answer_reason == "max_iterations"
    assert [s.kind for s in episode.steps] == ["action", "observation"] * 2
    trace = check_trace(db, episode, backend)
    assert [c["result"] for c in trace["calls"]] == ["2", "6"]
    assert trace["episode"]["no_answer_reason"] == "max_iterations"
    assert len(backend.requests) == 2


@pytest.mark.parametrize(("reply", "tool_name", "tool_input"), [
    ("I add.\nAction: calculator[2+2]", "calculator", "2+2"),
    ('Action: calculator["2+2"]', "calculator", "2+2"),
    ("Action: calculator(2+2)", "calculator", "2+2"),
    ("Add.\nAction: calculator\nAction Input: 2+2\n", "calculator", "2+2"),
    ('Action: {"tool": "calculator", "input": "2+2"}', "calculator", "2+2"),
    ('I add.\n{"tool": "calculator", "input": "2+2"}', "calculator", "2+2"),
    ('Action: lookup\nAction Input: {"key": "a", "n": 2}', "lookup", {"key": "a", "n": 2}),
])
def test_action_spellings(reply: str, tool_name: str, tool_input: Any) -> None:
    parsed = parse_reply(reply)
    assert (parsed.kind, parsed.tool, parsed.tool_input) == ("action", tool_name, tool_input)


def test_reply_parsing_cases() -> None:
    answer = parse_reply(" So it is 4.\nFinal Answer: **4**.\nQuestion: next one")
    assert answer.kind == "answer" and answer.answer is not None
    assert answer.answer.answer == "4"
    text = " So it is 4.\nFinal Answer: **4**.\nQuestion: next one"
    assert text[slice(*answer.span)] == "Final Answer: **4**."
    assert answer.thought is not None and text[slice(*answer.thought)] == "So it is 4."
    # The first of action and answer wins; what follows is dropped from the transcript.
    first = parse_reply("Action: calculator[1+1]\nFinal Answer: 2")
    assert first.kind == "action" and first.kept == len("Action: calculator[1+1]")
    assert parse_reply("It is seven.\nAnswer: 7").kind == "answer"
    assert parse_reply("I need 2 and 3").kind == "invalid"
    assert parse_reply("Final Answer:").kind == "invalid"
    cut = parse_reply("I keep thinking and", finish_reason="length")
    assert cut.kind == "invalid" and cut.error is not None and "cut off" in cut.error


def test_tools_from_functions_and_langchain() -> None:
    from langchain_core.tools import ToolException
    from langchain_core.tools import tool as lc_tool

    @tool(name="repeat")
    def repeat_text(text: str, times: int = 2) -> str:
        """Repeat a text.

        Args:
            text: what to repeat
            times: how often: at least once
        """
        return text * times

    @lc_tool
    def shout(text: str) -> str:
        """Upper-case a text."""
        if not text:
            raise ToolException("nothing to shout")
        return text.upper()

    registry = ToolRegistry([repeat_text])
    registry.register(shout)
    assert registry.names() == ["repeat", "shout"]
    assert repeat_text.args_schema() == {
        "type": "object", "required": ["text"], "properties": {
            "text": {"type": "string", "description": "what to repeat"},
            "times": {"type": "integer", "description": "how often: at least once",
                      "default": 2}}}
    assert repeat_text.run("ab") == "abab"
    assert repeat_text.run({"text": "ab", "times": "3"}) == "ababab"
    assert registry.get("shout").run("hi") == "HI"
    assert registry.get("shout").source == "langchain"
    with pytest.raises(ToolError, match="nothing to shout"):
        registry.get("shout").run("")
    with pytest.raises(ToolError, match="must be a integer"):
        repeat_text.run({"text": "a", "times": "many"})
    with pytest.raises(UnknownToolError, match="available tools: repeat, shout"):
        registry.get("search")
    with pytest.raises(UsageError, match="already registered"):
        registry.register(tool(name="repeat", description="other")(lambda text: text))


def test_the_default_registry_holds_the_built_ins_and_takes_tools_later() -> None:
    registry = default_registry()
    built_in = registry.names()
    assert built_in == ["calculator", "search"]

    @tool
    def lookup(query: str) -> str:
        """Look a word up."""
        return f"results for {query}"

    registry.register(lookup)
    try:
        agent = ReActAgent(ScriptedBackend(), Recorder(trace.get_tracer(__name__)))
        assert sorted(agent.settings()["tools"]) == sorted([*built_in, "lookup"])
    finally:
        registry.unregister("lookup")
    assert registry.names() == built_in


def test_cli_runs_a_react_episode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    from faithtrace.cli import _run
    from faithtrace.cli._main import main

    backend = ScriptedBackend([" Action: calculator[6*7]", " Final Answer: 42"])
    monkeypatch.setattr(_run, "load_backend", lambda name, model: backend)
    db = tmp_path / "cli.duckdb"
    assert main(["run", "react", "What is 6 times 7?", "--db", str(db), "--json",
                 "--tools", "calculator", "--max-steps", "3"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["answer"] == "42"
    assert printed["settings"]["max_steps"] == 3
    assert [r["result"] for r in rows(db, "SELECT result FROM tool_calls")] == ["42"]
    assert main(["run", "react", "q", "--db", str(db), "--tools", "calculator,nope"]) == 2
    assert "unknown tool 'nope'" in capsys.readouterr().err


@pytest.mark.model
def test_smollm2_react_episode_leaves_an_ordered_trace(tmp_path: Path) -> None:
    from faithtrace.llm import load_backend

    backend = load_backend("hf", "smollm2-135m")
    db = tmp_path / "t.duckdb"
    tracing = setup_tracing(db)
    agent = ReActAgent(backend, Recorder(tracing.tracer), tools=ToolRegistry([calculator]),
                       max_steps=2, max_new_tokens=32, tool_timeout=5)
    started = time.perf_counter()
    episode = agent.run("What is 17 * 23?")
    elapsed = time.perf_counter() - started
    tracing.shutdown()
    steps = rows(db, "SELECT step_index, kind, text FROM steps WHERE trace_id = ? "
                     "ORDER BY step_index", episode.trace_id)
    print(f"\nsmollm2 react ({elapsed:.1f}s): answer={episode.answer!r} "
          f"reason={episode.no_answer_reason!r}")
    for step in steps:
        print(f"  {step['step_index']} {step['kind']}: {step['text'][:80]!r}")
    assert steps, "every model reply leaves at least one step"
    assert [s["step_index"] for s in steps] == list(range(len(steps)))
    assert {s["kind"] for s in steps} <= set(STEP_KINDS) - {"retrieval"}
    assert (episode.answer is None) == (episode.no_answer_reason == "max_iterations")
    calls = rows(db, "SELECT step_index FROM tool_calls WHERE trace_id = ?", episode.trace_id)
    for call in calls:
        assert steps[call["step_index"]]["kind"] == "action"
        assert steps[call["step_index"] + 1]["kind"] == "observation"
    [row] = rows(db, "SELECT step_count FROM episodes WHERE trace_id = ?", episode.trace_id)
    assert row["step_count"] == len(steps)
