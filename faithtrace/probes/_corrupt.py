"""Making a step wrong: rule-based edits and model-written mistakes and paraphrases."""

from __future__ import annotations

import re

from faithtrace.llm import Backend, GenerationRequest

_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.]*\d)")
_OPERATOR_SWAPS = {"+": "-", "-": "+", "*": "/", "/": "*", "×": "÷", "÷": "×"}
_OPERATOR = re.compile(r"(?<=\s)[-+*/×÷](?=\s)")


_NAME = re.compile(r"(?<=[\s,;:(])[A-Z][a-z]+(?:\s[A-Z][a-z]+)*")


def _swap_entities(text: str) -> str | None:
    """Swap the first two different names in the text (words capitalised mid-sentence)."""
    names = list(_NAME.finditer(text))
    first = names[0] if names else None
    second = next((m for m in names[1:] if first and m.group() != first.group()), None)
    if first is None or second is None:
        return None
    return (text[: first.start()] + second.group() + text[first.end(): second.start()]
            + first.group() + text[second.end():])


def rule_mistake(text: str) -> str | None:
    """A deterministic corruption of a step: change its last number (n -> n + 1, or a decimal
    by one tenth), else swap its last arithmetic operator, else swap two named entities.
    None when none applies."""
    numbers = list(_NUMBER.finditer(text))
    if numbers:
        last = numbers[-1]
        value = last.group()
        changed = (f"{float(value) + 0.1:.{len(value.split('.')[1])}f}" if "." in value
                   else str(int(value) + 1))
        return text[: last.start()] + changed + text[last.end():]
    operators = list(_OPERATOR.finditer(text))
    if operators:
        last = operators[-1]
        return text[: last.start()] + _OPERATOR_SWAPS[last.group()] + text[last.end():]
    return _swap_entities(text)


MISTAKE_PROMPT = (
    "Rewrite the step below so that it contains one plausible mistake, such as a wrong "
    "number or a wrong operation. Keep the same style and length. Reply with the rewritten "
    "step only."
)
PARAPHRASE_PROMPT = (
    "Paraphrase the reasoning below: say the same thing in different words, keeping every "
    "number, fact and conclusion exactly the same. Reply with the paraphrase only."
)


def _rewrite(backend: Backend, instruction: str, question: str, text: str, max_new_tokens: int) -> str:
    request = GenerationRequest(
        messages=({"role": "system", "content": instruction},
                  {"role": "user", "content": f"Question: {question}\n\n{text}"}),
        max_new_tokens=max_new_tokens)
    return backend.generate([request])[0].text.strip()


def model_mistake(backend: Backend, question: str, step: str) -> str | None:
    """The same backend rewrites the step with a mistake (Lanham et al. used a separate model)."""
    rewritten = _rewrite(backend, MISTAKE_PROMPT, question, f"Step: {step}", 64)
    first = rewritten.splitlines()[0].removeprefix("Step:").strip() if rewritten else ""
    return first if first and first != step else None


def paraphrase(backend: Backend, question: str, reasoning: str) -> str | None:
    """The same backend rewords the reasoning; None if it returned nothing new."""
    budget = min(512, int(len(reasoning) / 2) + 32)
    rewritten = _rewrite(backend, PARAPHRASE_PROMPT, question, f"Reasoning:\n{reasoning}", budget)
    return rewritten if rewritten and rewritten != reasoning else None
