"""Steps, the unit of replay and intervention, and segmenting a generation into them."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

STEP_KINDS = ("thought", "action", "observation", "retrieval", "answer")

# A list item or an explicit "Step 3:" starts a step of its own.
_LIST_ITEM = re.compile(r"^\s*(?:(?:step\s*)?\d+\s*[.):]|[-*•])\s+", re.IGNORECASE)
# A sentence ends at . ! or ? followed by space and a capital, digit, quote or bracket.
# Decimals ("3.5") and most abbreviations ("e.g. x") do not match.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[\\$])")


@dataclass(frozen=True)
class Step:
    """One step of an episode, located in the text it came from."""

    index: int
    kind: str
    text: str
    char_start: int | None = None
    """Offset of the step in its source completion (None for observations and retrievals)."""
    char_end: int | None = None
    token_start: int | None = None
    token_end: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _spans_of_line(line: str, offset: int) -> list[tuple[int, int]]:
    if _LIST_ITEM.match(line):
        return [(offset, offset + len(line))]
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(line):
        spans.append((offset + start, offset + match.start()))
        start = match.end()
    spans.append((offset + start, offset + len(line)))
    return spans


def segment(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Character spans of the steps in `text[start:end]`: numbered/bulleted lines whole,
    other lines split into sentences. Blank lines and surrounding whitespace are dropped."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    position = start
    for raw_line in text[start:end].splitlines(keepends=True):
        line = raw_line.rstrip("\r\n")
        for s, e in _spans_of_line(line, position):
            piece = text[s:e]
            stripped = piece.strip()
            if stripped:
                lead = len(piece) - len(piece.lstrip())
                spans.append((s + lead, s + lead + len(stripped)))
        position += len(raw_line)
    return spans


def token_char_ends(token_ids: Sequence[int], decode: Callable[[Sequence[int]], str]) -> list[int]:
    """For each generated token, the length of the decoded text up to and including it."""
    ends, previous = [], 0
    for i in range(len(token_ids)):
        length = len(decode(token_ids[: i + 1]))
        previous = max(previous, length)
        ends.append(previous)
    return ends


def char_span_to_tokens(char_ends: Sequence[int], start: int, end: int) -> tuple[int, int]:
    """The token range [first, last) whose text covers characters [start, end)."""
    first = next((i for i, e in enumerate(char_ends) if e > start), len(char_ends))
    last = next((i + 1 for i, e in enumerate(char_ends) if e >= end), len(char_ends))
    return first, max(first, last)
