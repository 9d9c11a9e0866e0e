"""The ReAct agent as a LangGraph graph: think -> act -> observe, looping until an answer.

The model continues one assistant turn that holds the whole transcript so far
(`Thought: ... Action: ... Observation: ... Thought:`), generating until it would write
`Observation:` itself. Each `chat` span records the messages it was given, so the transcript
at any step can be rebuilt from the trace. Whatever goes wrong with an action (unreadable, an
unknown tool, an exception, a timeout) becomes an `error: ...` observation for the model and
an error-status `execute_tool` span, and the loop goes on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph

from faithtrace.agents._calls import (
    base_settings,
    record_outcome,
    require_question,
    traced_generate,
)
from faithtrace.agents._episode import Episode
from faithtrace.agents._prompts import (
    REACT_OBSERVATION,
    REACT_PROMPT_VERSION,
    REACT_START,
    react_messages,
)
from faithtrace.agents._react_parse import MalformedActionError, ReActReply, parse_reply
from faithtrace.agents._steps import Step, char_span_to_tokens, token_char_ends
from faithtrace.agents._tools import Tool, ToolRegistry, call_with_timeout, default_registry
from faithtrace.errors import FaithtraceError, UsageError
from faithtrace.llm import Backend, Completion
from faithtrace.tracer import ForkOrigin, Recorder, span_hex_id

INVALID_ACTION_TOOL = "invalid_action"
"""The tool name on the `execute_tool` span of an action that could not be read."""
STOP = (REACT_OBSERVATION,)


@dataclass(frozen=True)
class PendingCall:
    """An action read from a reply, waiting to run."""

    tool: str
    tool_input: str | dict[str, Any]
    step_index: int
    error: str | None = None
    """Set when the action could not be read: the call fails with this message."""


@dataclass(frozen=True)
class Observation:
    """What a tool call gave back, as the model will read it."""

    text: str
    tool_span_id: str


class ReActState(TypedDict, total=False):
    """What flows through the graph."""

    question: str
    transcript: str
    """The assistant turn so far, starting with `Thought:`; the next reply continues it."""
    steps: list[Step]
    iteration: int
    calls: int
    pending: PendingCall | None
    observation: Observation
    answer: str | None
    answer_source: str | None
    no_answer_reason: str | None


class ReActAgent:
    """Thinks, calls tools and reads their results until it writes a final answer."""

    name = "react"

    def __init__(self, backend: Backend, recorder: Recorder, *,
                 tools: ToolRegistry | Iterable[Tool] | None = None, max_steps: int = 6,
                 tool_timeout: float = 10.0, max_new_tokens: int = 256,
                 temperature: float = 0.0, seed: int | None = None,
                 max_observation_chars: int = 2000) -> None:
        if max_steps < 1:
            raise UsageError(f"max_steps must be at least 1, not {max_steps}")
        if tool_timeout <= 0:
            raise UsageError(f"tool_timeout must be a positive number of seconds, not {tool_timeout}")
        self.backend = backend
        self.recorder = recorder
        # A snapshot: tools registered later do not change what this agent was set up with.
        self.tools = ToolRegistry(default_registry() if tools is None else tools)
        self.max_steps = max_steps
        self.tool_timeout = tool_timeout
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.seed = seed
        self.max_observation_chars = max_observation_chars
        self.graph = self._build()

    def settings(self) -> dict[str, Any]:
        """Everything needed to run this agent again the same way."""
        return {
            **base_settings(self.name, self.backend, max_new_tokens=self.max_new_tokens,
                            temperature=self.temperature, seed=self.seed,
                            prompt_version=REACT_PROMPT_VERSION),
            "tools": self.tools.names(),
            "max_steps": self.max_steps,
            "tool_timeout": self.tool_timeout,
            "max_observation_chars": self.max_observation_chars,
        }

    def _build(self) -> Any:
        graph = StateGraph(ReActState)
        graph.add_node("think", self._think)
        graph.add_node("act", self._act)
        graph.add_node("observe", self._observe)
        graph.add_edge(START, "think")
        graph.add_conditional_edges("think", self._after_think, {"act": "act", "end": END})
        graph.add_edge("act", "observe")
        graph.add_conditional_edges("observe", self._after_observe, {"think": "think", "end": END})
        return graph.compile()

    # -- nodes ------------------------------------------------------------------------

    def _think(self, state: ReActState) -> ReActState:
        messages = react_messages(state["question"], [t.describe() for t in self.tools],
                                  state["transcript"])
        completion, chat_span_id = self._generate(messages)
        reply = parse_reply(completion.text, completion.finish_reason)
        steps = list(state.get("steps", []))
        char_ends = self._char_ends(completion)
        if reply.thought is not None:
            self._record(steps, "thought", completion.text, reply.thought, char_ends, chat_span_id)
        kind = "answer" if reply.kind == "answer" else "action"
        self._record(steps, kind, completion.text, reply.span, char_ends, chat_span_id)
        update: ReActState = {
            "transcript": state["transcript"] + completion.text[:reply.kept].rstrip(),
            "steps": steps,
            "iteration": state.get("iteration", 0) + 1,
            "pending": None,
        }
        if reply.kind == "answer" and reply.answer is not None:
            update["answer"] = reply.answer.answer
            update["answer_source"] = reply.answer.source
        else:
            update["pending"] = self._pending(reply, steps[-1].index)
        return update

    def _act(self, state: ReActState) -> ReActState:
        pending = state["pending"]
        assert pending is not None  # routed here only with an action
        calls = state.get("calls", 0)
        with self.recorder.tool(name=pending.tool, call_id=f"call_{calls}",
                                arguments=pending.tool_input,
                                step_index=pending.step_index) as span:
            try:
                text = self._clip(self._call(pending))
                self.recorder.tool_result(span, text)
            except Exception as error:  # every failure is the model's to see, not a crash
                message = str(error) or type(error).__name__
                if not isinstance(error, FaithtraceError):
                    # A bug in the tool rather than a refusal: name the exception.
                    message = f"{type(error).__name__}: {message}"
                text = self._clip(f"error: {message}")
                self.recorder.tool_error(span, type(error).__name__, message)
            return {"observation": Observation(text, span_hex_id(span)), "calls": calls + 1}

    def _observe(self, state: ReActState) -> ReActState:
        observation = state["observation"]
        steps = list(state["steps"])
        index = len(steps)
        self.recorder.step(index=index, kind="observation", text=observation.text,
                           source_span_id=observation.tool_span_id)
        steps.append(Step(index, "observation", observation.text))
        update: ReActState = {
            "steps": steps,
            "pending": None,
            "transcript": (f"{state['transcript']}\n{REACT_OBSERVATION} {observation.text}\n"
                           f"{REACT_START}"),
        }
        if state.get("iteration", 0) >= self.max_steps:
            update["answer"] = None
            update["no_answer_reason"] = "max_iterations"
        return update

    def _after_think(self, state: ReActState) -> str:
        return "act" if state.get("pending") is not None else "end"

    def _after_observe(self, state: ReActState) -> str:
        return "end" if state.get("no_answer_reason") else "think"

    # -- helpers ----------------------------------------------------------------------

    def _generate(self, messages: list[dict[str, str]]) -> tuple[Completion, str]:
        # The reply continues the assistant's transcript; `Observation:` stops it so the model
        # never writes a tool's result itself.
        return traced_generate(self.recorder, self.backend, messages,
                               max_new_tokens=self.max_new_tokens, temperature=self.temperature,
                               seed=self.seed, stop=STOP, continue_final=True)

    def _char_ends(self, completion: Completion) -> list[int] | None:
        decode = getattr(self.backend, "decode", None)
        return token_char_ends(completion.token_ids, decode) if decode else None

    def _record(self, steps: list[Step], kind: str, text: str, span: tuple[int, int],
                char_ends: list[int] | None, chat_span_id: str) -> None:
        start, end = span
        token_start, token_end = (char_span_to_tokens(char_ends, start, end)
                                  if char_ends is not None else (None, None))
        step = Step(len(steps), kind, text[start:end].strip(), start, end, token_start, token_end)
        self.recorder.step(index=step.index, kind=kind, text=step.text, char_start=start,
                           char_end=end, token_start=token_start, token_end=token_end,
                           source_span_id=chat_span_id)
        steps.append(step)

    def _pending(self, reply: ReActReply, step_index: int) -> PendingCall:
        if reply.kind == "action" and reply.tool is not None:
            # Model-written names go into span names: keep them short.
            return PendingCall(reply.tool[:64], reply.tool_input or "", step_index)
        return PendingCall(INVALID_ACTION_TOOL, "", step_index,
                           reply.error or "the action could not be read")

    def _call(self, pending: PendingCall) -> str:
        if pending.error is not None:
            raise MalformedActionError(pending.error)
        tool = self.tools.get(pending.tool)
        return call_with_timeout(lambda: tool.run(pending.tool_input), self.tool_timeout)

    def _clip(self, text: str) -> str:
        # A huge result would crowd the question out of the context window.
        limit = self.max_observation_chars
        if len(text) <= limit:
            return text
        return f"{text[:limit]} ... [{len(text) - limit:,} more characters cut]"

    # -- running ----------------------------------------------------------------------

    def run(self, question: str, *, origin: ForkOrigin | None = None,
            experiment_id: str | None = None) -> Episode:
        """Run one traced episode and return it (`origin` links a re-run to its original)."""
        require_question(question)
        settings = self.settings()
        with self.recorder.episode(self.name, question, settings, origin=origin,
                                   experiment_id=experiment_id) as root:
            # Each iteration is at most three graph steps (think, act, observe).
            state: ReActState = self.graph.invoke(
                {"question": question, "transcript": REACT_START, "steps": []},
                config={"recursion_limit": 3 * self.max_steps + 5})
            return Episode(**record_outcome(self.recorder, root, state), agent=self.name,
                           question=question, settings=settings,
                           completion=state.get("transcript", ""))
