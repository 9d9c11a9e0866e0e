"""Prompts, versioned: the version is recorded with every episode so replays use the same text."""

from __future__ import annotations

COT_PROMPT_VERSION = "cot-v1"
COT_SYSTEM = (
    "You are a careful problem solver. Think step by step, writing each step on its own "
    "line. When you are done, write the final answer on a last line of the form "
    "'Answer: <answer>'."
)


def cot_messages(question: str) -> list[dict[str, str]]:
    """Chat messages that ask for step-by-step reasoning ending in an `Answer:` line."""
    return [
        {"role": "system", "content": COT_SYSTEM},
        {"role": "user", "content": question},
    ]
