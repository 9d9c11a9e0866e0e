"""The `hf` backend on the real packaged test model: generation and scoring contracts."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from faithtrace.llm import GenerationRequest

pytestmark = pytest.mark.model

QUESTION = ({"role": "user", "content": "What is 2 + 3? Reply with the number."},)


def _naive_score(backend: Any, prompt: str, continuation: str) -> float:
    ids, cont = backend.encode(prompt), backend.encode(continuation)
    with torch.inference_mode():
        logits = backend.model(input_ids=torch.tensor([ids + cont])).logits[0]
    logprobs = logits.log_softmax(-1)
    return sum(float(logprobs[len(ids) + j - 1, cont[j]]) for j in range(len(cont)))


def test_generate_returns_text_tokens_logprobs_and_usage(smol_backend: Any) -> None:
    [completion] = smol_backend.generate([GenerationRequest(messages=QUESTION, max_new_tokens=8)])
    assert completion.text and completion.token_ids
    assert len(completion.logprobs) == len(completion.token_ids) == completion.completion_tokens
    assert all(lp <= 0 for lp in completion.logprobs)
    assert completion.finish_reason in ("stop", "length")
    assert completion.prompt_tokens == smol_backend.count_tokens(completion.prompt)
    assert "<|im_start|>" in completion.prompt  # the chat template was applied


def test_greedy_batch_matches_single_requests(smol_backend: Any) -> None:
    other = ({"role": "user", "content": "Name one planet of the solar system."},)
    requests = [GenerationRequest(messages=QUESTION, max_new_tokens=6),
                GenerationRequest(messages=other, max_new_tokens=6)]
    batched = smol_backend.generate(requests)
    single = [smol_backend.generate([r])[0] for r in requests]
    # Left padding can move float results slightly; the first greedy tokens must agree.
    for b, s in zip(batched, single, strict=True):
        assert b.token_ids[:3] == s.token_ids[:3]


def test_stop_strings_end_generation_and_are_cut(smol_backend: Any) -> None:
    counting = ({"role": "user", "content": "Count from 1 to 10, separated by commas."},)
    [completion] = smol_backend.generate(
        [GenerationRequest(messages=counting, max_new_tokens=40, stop=("4",))])
    assert "4" not in completion.text
    assert completion.stop_sequence == "4" and completion.finish_reason == "stop"


def test_sampling_is_seedable(smol_backend: Any) -> None:
    request = GenerationRequest(messages=QUESTION, max_new_tokens=8, temperature=1.0, seed=7)
    first = smol_backend.generate([request])[0].token_ids
    assert smol_backend.generate([request])[0].token_ids == first


def test_score_matches_a_full_forward_pass_and_shares_the_prefix(smol_backend: Any) -> None:
    prompt = smol_backend.render(QUESTION) + "The answer is"
    continuations = [" 5", " 6", " five hundred"]
    before = smol_backend.stats.prompt_tokens_computed
    scores = smol_backend.score(prompt, continuations)
    computed = smol_backend.stats.prompt_tokens_computed - before
    for score, continuation in zip(scores, continuations, strict=True):
        assert score == pytest.approx(_naive_score(smol_backend, prompt, continuation), abs=1e-3)
    # The prompt is computed once, not once per continuation.
    assert computed < 2 * smol_backend.count_tokens(prompt)
    assert scores[0] > scores[1]  # even SmolLM2 knows 2 + 3
