"""Reading one ReAct reply: its thought, then an action (three spellings) or a final answer.

Accepted actions, first one in the reply wins:

    Action: calculator[2 + 2]            (also `calculator(2 + 2)`)
    Action: calculator                   followed by   Action Input: 2 + 2
    {"tool": "calculator", "input": "2 + 2"}   (bare, or after `Action:`)

Anything after the action or the final answer is dropped: the model was told to stop there.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from faithtrace.agents._answer import ParsedAnswer, parse_answer
from faithtrace.errors import ToolError

_ACTION = re.compile(r"\bAction[ \t]*:", re.IGNORECASE)
_ACTION_INPUT = re.compile(r"^[ \t*]*Action[ \t]+Input[ \t]*:[ \t]*", re.IGNORECASE | re.MULTILINE)
_FINAL = re.compile(r"\bFinal[ \t]+Answer[ \t]*:", re.IGNORECASE)
_THOUGHT_PREFIX = re.compile(r"^\s*Thought\s*:\s*", re.IGNORECASE)
_CALL = re.compile(r"^(?P<tool>[A-Za-z_][\w.-]*)\s*(?:\[(?P<square>.*)\]|\((?P<round>.*)\))\s*$")
_BARE_NAME = re.compile(r"^(?P<tool>[A-Za-z_][\w.-]*)\s*$")
_TOOL_KEYS = ("tool", "name", "action", "tool_name")
_INPUT_KEYS = ("input", "tool_input", "action_input", "arguments", "args", "parameters")
# Without an Action or Final Answer marker, only clearly marked answers end the episode;
# "the last number in the text" would turn a half-finished thought into an answer.
_IMPLICIT_ANSWER_SOURCES = ("answer_line", "boxed", "answer_phrase")

FORMAT_HINT = "write 'Action: tool_name[input]' or 'Final Answer: <answer>'"


class MalformedActionError(ToolError):
    """A reply whose action cannot be read, or that has neither an action nor a final answer."""


@dataclass(frozen=True)
class ReActReply:
    """What one model reply says. Spans are character offsets in the reply text."""

    kind: str
    """`action`, `answer` or `invalid` (the model sees `error` as its observation)."""
    thought: tuple[int, int] | None
    """The thought before the action or answer, without a repeated `Thought:` label."""
    span: tuple[int, int]
    """The action or answer text; for an invalid reply, the part that should have been one."""
    kept: int
    """The reply is cut here for the transcript: the end of the action or answer."""
    tool: str | None = None
    tool_input: str | dict[str, Any] | None = None
    answer: ParsedAnswer | None = None
    error: str | None = None


def _strip_span(text: str, start: int, end: int) -> tuple[int, int] | None:
    piece = text[start:end]
    label = _THOUGHT_PREFIX.match(piece)
    if label:
        start += label.end()
        piece = text[start:end]
    if not piece.strip():
        return None
    lead = len(piece) - len(piece.lstrip())
    return start + lead, start + lead + len(piece.strip())


def _line_end(text: str, position: int) -> int:
    end = text.find("\n", position)
    return len(text) if end < 0 else end


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'`":
        return value[1:-1].strip()
    return value


def _json_call(text: str, start: int) -> tuple[dict[str, Any], int] | None:
    """A JSON object with a tool name at `start`, and where it ends."""
    try:
        value, end = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError:
        return None
    if not isinstance(value, dict) or not any(k in value for k in _TOOL_KEYS):
        return None
    return value, end


def _from_json(value: dict[str, Any]) -> tuple[str | None, str | dict[str, Any]]:
    name = next((value[k] for k in _TOOL_KEYS if k in value), None)
    raw = next((value[k] for k in _INPUT_KEYS if k in value), "")
    tool_input: str | dict[str, Any] = raw if isinstance(raw, dict) else (
        raw if isinstance(raw, str) else json.dumps(raw))
    return (name if isinstance(name, str) and name else None), tool_input


def _action(text: str, start: int, body: int) -> ReActReply:
    """The action whose `Action:` label is at `start` and whose text begins at `body`."""
    thought = _strip_span(text, 0, start)
    line_end = _line_end(text, body)
    rest = text[body:line_end].strip()
    first = body + (len(text[body:line_end]) - len(text[body:line_end].lstrip()))
    if rest.startswith("{"):
        found = _json_call(text, first)
        if found is not None:
            name, tool_input = _from_json(found[0])
            if name:
                return ReActReply("action", thought, (start, found[1]), found[1], name, tool_input)
        return _invalid(text, thought, (start, line_end),
                        "the JSON action needs a tool name and input, e.g. "
                        '{"tool": "calculator", "input": "2 + 2"}')
    call = _CALL.match(rest)
    if call:
        tool_input = call.group("square") if call.group("square") is not None else call.group("round")
        return ReActReply("action", thought, (start, line_end), line_end, call.group("tool"),
                          _unquote(tool_input or ""))
    bare = _BARE_NAME.match(rest)
    if bare:
        follow = _ACTION_INPUT.search(text, line_end)
        # Action Input must come next (only blank space between): not in a later paragraph.
        if follow and not text[line_end:follow.start()].strip():
            value_start = follow.end()
            if text[value_start:value_start + 1] == "{":
                found = _json_call(text, value_start) or _plain_json(text, value_start)
                if found is not None:
                    return ReActReply("action", thought, (start, found[1]), found[1],
                                      bare.group("tool"), found[0])
            end = _line_end(text, value_start)
            return ReActReply("action", thought, (start, end), end, bare.group("tool"),
                              _unquote(text[value_start:end]))
        return ReActReply("action", thought, (start, line_end), line_end, bare.group("tool"), "")
    shown = rest if len(rest) <= 60 else rest[:57] + "..."
    return _invalid(text, thought, (start, line_end),
                    f"could not read the action {shown!r}; write 'Action: tool_name[input]'")


def _plain_json(text: str, start: int) -> tuple[dict[str, Any], int] | None:
    try:
        value, end = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError:
        return None
    return (value, end) if isinstance(value, dict) else None


def _invalid(text: str, thought: tuple[int, int] | None, span: tuple[int, int],
             error: str) -> ReActReply:
    return ReActReply("invalid", thought, span, span[1], error=error)


def _answer(text: str, start: int, finish_reason: str) -> ReActReply:
    thought = _strip_span(text, 0, start)
    colon = text.index(":", start) + 1
    # The answer is the rest of the line, or the next line when the label stands alone.
    end = _line_end(text, colon)
    if not text[colon:end].strip():
        next_text = len(text[end:]) - len(text[end:].lstrip())
        end = _line_end(text, end + next_text)
    parsed = parse_answer(text[start:end], finish_reason)
    if parsed.answer is None:
        return _invalid(text, thought, (start, end),
                        "the final answer is empty; write 'Final Answer: <answer>'")
    return ReActReply("answer", thought, (start, end), end, answer=parsed)


def parse_reply(text: str, finish_reason: str = "stop") -> ReActReply:
    """Read one model reply (the text after `Thought:`)."""
    action = _ACTION.search(text)
    final = _FINAL.search(text)
    brace = text.find("{")
    bare_json = _json_call(text, brace) if brace >= 0 else None
    candidates: list[tuple[int, str]] = []
    if action:
        candidates.append((action.start(), "action"))
    if final:
        candidates.append((final.start(), "answer"))
    if bare_json and not (action and action.start() < brace):
        candidates.append((brace, "json"))
    if candidates:
        position, kind = min(candidates)
        if kind == "answer":
            return _answer(text, position, finish_reason)
        if kind == "action" and action is not None:
            return _action(text, action.start(), action.end())
        assert bare_json is not None
        name, tool_input = _from_json(bare_json[0])
        if name:
            return ReActReply("action", _strip_span(text, 0, brace), (brace, bare_json[1]),
                              bare_json[1], name, tool_input)
    implicit = parse_answer(text, finish_reason)
    if implicit.answer is not None and implicit.source in _IMPLICIT_ANSWER_SOURCES:
        start = implicit.char_start or 0
        end = _line_end(text, start)
        return ReActReply("answer", _strip_span(text, 0, start), (start, end), end,
                          answer=implicit)
    end = len(text.rstrip())
    error = (f"the reply was cut off before an action or a final answer; keep thoughts short and "
             f"{FORMAT_HINT}" if finish_reason == "length" else f"no action found; {FORMAT_HINT}")
    return _invalid(text, _strip_span(text, 0, end), (end, end), error)
