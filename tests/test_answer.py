"""Answer parsing and step segmentation: pure text logic, no model."""

from __future__ import annotations

import pytest

from faithtrace.agents import normalize, parse_answer, segment
from faithtrace.agents._steps import char_span_to_tokens, token_char_ends


@pytest.mark.parametrize(
    ("text", "answer", "source"),
    [
        ("3 + 4 = 7\nAnswer: 7", "7", "answer_line"),
        ("Step 1: 2*3=6\n**Final Answer:** **6**", "6", "answer_line"),
        ("So x = 5.\nAnswer: 4\nWait.\nAnswer: 5", "5", "answer_line"),
        ("The total is \\boxed{42}.", "42", "boxed"),
        ("Answer: \\boxed{\\frac{1}{2}}", "\\frac{1}{2}", "answer_line"),
        ("We add them. The answer is 12.", "12", "answer_phrase"),
        ("Thus the final answer is: Paris", "Paris", "answer_phrase"),
        ("First 3, then 4, giving 7 apples", "7", "last_number"),
        ("Answer: $1,000.", "1000", "answer_line"),
    ],
)
def test_parse_answer_finds_the_final_answer(text: str, answer: str, source: str) -> None:
    parsed = parse_answer(text)
    assert (parsed.answer, parsed.source, parsed.no_answer_reason) == (answer, source, None)


def test_no_answer_is_an_outcome_with_a_reason() -> None:
    assert parse_answer("I am thinking about", "stop").no_answer_reason == "no_answer_found"
    # A cut-off generation's last number is mid-reasoning, not an answer.
    cut = parse_answer("First 3 then 4 and then", "length")
    assert (cut.answer, cut.no_answer_reason) == (None, "max_tokens")


def test_answer_char_start_points_at_the_answer_line() -> None:
    text = "Think.\nAnswer: 9"
    parsed = parse_answer(text)
    assert parsed.char_start is not None and text[parsed.char_start:].startswith("Answer")


def test_normalize() -> None:
    assert normalize(" **12.** ") == "12"
    assert normalize("7.0") == "7"
    assert normalize("\\text{Paris}") == "Paris"


def test_segment_splits_lines_and_sentences_but_not_decimals() -> None:
    text = "First, 3.5 + 1 = 4.5. Then we double it.\n\n1. Double: 9.\n2. Done it."
    pieces = [text[s:e] for s, e in segment(text)]
    assert pieces == ["First, 3.5 + 1 = 4.5.", "Then we double it.", "1. Double: 9.", "2. Done it."]


def test_segment_respects_bounds() -> None:
    text = "A is 1. B is 2.\nAnswer: 3"
    assert [text[s:e] for s, e in segment(text, 0, text.index("Answer"))] == ["A is 1.", "B is 2."]


def test_token_spans_cover_step_text() -> None:
    tokens = ["Hel", "lo", " wor", "ld", "."]
    def decode(ids: object) -> str:
        return "".join(tokens[i] for i in ids)  # type: ignore[attr-defined]
    ends = token_char_ends(list(range(5)), decode)
    assert ends == [3, 5, 9, 11, 12]
    assert char_span_to_tokens(ends, 6, 11) == (2, 4)  # "world"
    assert char_span_to_tokens(ends, 0, 5) == (0, 2)
