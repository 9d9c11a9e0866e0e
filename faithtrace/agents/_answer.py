"""Reading the final answer out of a model's text, and saying why when there is none."""

from __future__ import annotations

import re
from dataclasses import dataclass

_ANSWER_LINE = re.compile(
    r"^[ \t>*#]*(?:\*\*)?(?:final\s+answer|answer)(?:\*\*)?\s*[:：]\s*(?:\*\*)?(?P<value>.+?)\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_BOXED = re.compile(r"\\boxed\s*\{")
_ANSWER_PHRASE = re.compile(
    r"\b(?:the\s+)?(?:final\s+)?answer\s+is\s*[:：]?\s*(?P<value>[^\n]+?)(?:\.\s|\.?$|\n)",
    re.IGNORECASE | re.MULTILINE,
)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


@dataclass(frozen=True)
class ParsedAnswer:
    """An answer found in text, or the reason none was found."""

    answer: str | None
    source: str | None
    """`answer_line`, `boxed`, `answer_phrase` or `last_number`; None without an answer."""
    no_answer_reason: str | None
    """`max_tokens` (generation was cut off) or `no_answer_found`; None with an answer."""
    char_start: int | None = None
    """Where the answer's line (or marker) starts in the text, so reasoning can end there."""


def normalize(value: str) -> str:
    """Strip markup and punctuation that does not change the answer (`**$1,000.**` -> `1000`)."""
    value = value.strip()
    value = re.sub(r"^\\\(|\\\)$|^\\\[|\\\]$", "", value).strip()
    value = re.sub(r"\\text\{([^}]*)\}", r"\1", value)
    value = value.strip("*`$ ").rstrip(".").strip("*`$ ")
    if re.fullmatch(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?", value):
        value = value.replace(",", "")
    if re.fullmatch(r"-?\d+\.0+", value):
        value = value.split(".")[0]
    return value


def _boxed_values(text: str) -> list[tuple[int, str]]:
    found = []
    for match in _BOXED.finditer(text):
        depth, i = 1, match.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            found.append((match.start(), text[match.end(): i - 1]))
    return found


def _line_start(text: str, position: int) -> int:
    return text.rfind("\n", 0, position) + 1


def parse_answer(text: str, finish_reason: str = "stop") -> ParsedAnswer:
    """The final answer in `text`; the last marked answer wins, then fallbacks.

    Order: an `Answer:` line, `\\boxed{...}`, "the answer is ...", and, only when the
    model finished on its own, the last number in the text.
    """
    lines = list(_ANSWER_LINE.finditer(text))
    if lines:
        last = lines[-1]
        boxed_inside = _boxed_values(last.group("value"))
        value = boxed_inside[-1][1] if boxed_inside else last.group("value")
        if normalize(value):
            return ParsedAnswer(normalize(value), "answer_line", None, last.start())
    boxed = _boxed_values(text)
    if boxed:
        position, value = boxed[-1]
        return ParsedAnswer(normalize(value), "boxed", None, _line_start(text, position))
    phrases = list(_ANSWER_PHRASE.finditer(text))
    if phrases:
        last = phrases[-1]
        return ParsedAnswer(normalize(last.group("value")), "answer_phrase", None,
                            _line_start(text, last.start()))
    if finish_reason == "length":
        return ParsedAnswer(None, None, "max_tokens")
    numbers = list(_NUMBER.finditer(text))
    if numbers:
        last_number = numbers[-1]
        return ParsedAnswer(normalize(last_number.group()), "last_number", None, None)
    return ParsedAnswer(None, None, "no_answer_found")


def first_answer(text: str) -> str | None:
    """The answer in a short completion of "The single, most likely answer is ..."."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    line = line.lstrip(":( ").strip()
    number = re.match(r"-?\$?\d[\d,]*(?:\.\d+)?", line)
    if number:
        return normalize(number.group())
    value = normalize(re.split(r"[.,;)]\s|\.$", line)[0]) if line else ""
    return value or None
