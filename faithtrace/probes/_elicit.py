"""Asking for the answer after a (possibly altered) reasoning, and scoring the candidates.

Lanham et al.'s elicitation: the reasoning closes the assistant turn, the user asks "Given
all of the above, what's the single, most likely answer?", and the assistant's reply starts
"The single, most likely answer is". The candidate answers are scored by log-probability
after that prefix (not sampled), giving a distribution over the candidate set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from faithtrace.agents._prompts import answer_now_messages, cot_messages
from faithtrace.llm import Backend, BranchAnswer, GenerationRequest

GREEDY_TOKENS = 8


@dataclass(frozen=True)
class AnswerPrompt:
    """The chat prompt up to the end of a reasoning text, and the elicitation suffix after it."""

    base: str
    reasoning_offset: int
    suffix: str


def answer_prompt(backend: Backend, question: str, reasoning: str) -> AnswerPrompt | None:
    """Split the elicitation prompt into (chat up to the reasoning's end) + (fixed suffix).

    None when the chat template does not keep the reasoning verbatim at the end of the
    assistant turn; callers then build each prompt whole.
    """
    messages = cot_messages(question)
    base = backend.render([*messages, {"role": "assistant", "content": reasoning}],
                          continue_final=True)
    full = backend.render(answer_now_messages(messages, reasoning), continue_final=True)
    if not full.startswith(base) or not base.endswith(reasoning):
        return None
    return AnswerPrompt(base, len(base) - len(reasoning), full[len(base):])


def elicit(backend: Backend, question: str, reasoning: str, cuts: Sequence[int],
           candidates: Sequence[str], *, reuse_prefix: bool = True) -> list[BranchAnswer]:
    """The answer after each prefix `reasoning[:cut]`: candidate scores and a greedy reply.

    With a backend that offers `answer_branches` (hf), the reasoning is computed once and each
    cut costs only its suffix; otherwise each prompt is scored and generated whole.
    """
    options = [" " + c for c in candidates]
    prompt = answer_prompt(backend, question, reasoning)
    branches = getattr(backend, "answer_branches", None) if reuse_prefix else None
    if prompt is not None and branches is not None:
        result: list[BranchAnswer] = branches(
            prompt.base, [prompt.reasoning_offset + c for c in cuts], prompt.suffix, options,
            GREEDY_TOKENS)
        return result
    answers = []
    messages = cot_messages(question)
    for cut in cuts:
        text = backend.render(answer_now_messages(messages, reasoning[:cut]), continue_final=True)
        before = backend.stats.prompt_tokens_computed
        scores = backend.score(text, options)
        greedy = backend.generate([GenerationRequest(prompt=text, max_new_tokens=GREEDY_TOKENS)])[0]
        answers.append(BranchAnswer(scores, greedy.text,
                                    backend.stats.prompt_tokens_computed - before))
    return answers
