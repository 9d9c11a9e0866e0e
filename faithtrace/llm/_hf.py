"""The transformers backend: the embedded default, on CPU in float32."""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from itertools import groupby
from typing import Any, cast

import torch

from faithtrace.errors import UsageError
from faithtrace.llm._protocol import (
    BackendStats,
    BranchAnswer,
    Completion,
    GenerationRequest,
)
from faithtrace.llm._registry import resolve_model
from faithtrace.llm._text import TokenizerText, score_inputs


def _truncate_at_stop(text: str, stops: Sequence[str]) -> tuple[str, str | None]:
    cut, which = len(text), None
    for stop in stops:
        at = text.find(stop)
        if 0 <= at < cut:
            cut, which = at, stop
    return text[:cut], which


class HFBackend(TokenizerText):
    """Runs a model with transformers. Generation is batched with left padding."""

    provider = "transformers"
    name = "hf"

    def __init__(self, model: str, *, device: str = "cpu", dtype: torch.dtype = torch.float32,
                 threads: int | None = None) -> None:
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer

        transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        transformers.utils.logging.set_verbosity_error()  # type: ignore[no-untyped-call]
        resolved = resolve_model(model)
        self.model_name = model
        self.label = resolved.label
        self.engine_version = f"transformers {transformers.__version__}"
        self.stats = BackendStats()
        if threads:
            torch.set_num_threads(threads)
        # transformers' own stubs type these too narrowly for generate/caches; Any is honest here.
        self.tokenizer: Any = AutoTokenizer.from_pretrained(str(resolved.path))
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model: Any = cast(Any, AutoModelForCausalLM).from_pretrained(str(resolved.path), dtype=dtype)
        self.model.to(device)
        self.model.eval()
        self.device = device
        # generate() and score() mutate caches; one model call at a time keeps them honest.
        self._lock = threading.Lock()

    # -- generation -------------------------------------------------------------------

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        results: dict[int, Completion] = {}
        # Requests with the same settings share one batched generate call.
        def key(item: tuple[int, GenerationRequest]) -> tuple[Any, ...]:
            r = item[1]
            return (r.max_new_tokens, r.temperature, r.top_p, r.seed, r.stop)

        for _, group in groupby(sorted(enumerate(requests), key=key), key=key):
            items = list(group)
            completions = self._generate_batch([r for _, r in items])
            for (index, _), completion in zip(items, completions, strict=True):
                results[index] = completion
        return [results[i] for i in range(len(requests))]

    def _generate_batch(self, batch: list[GenerationRequest]) -> list[Completion]:
        settings = batch[0]
        prompts = [self._prompt_of(r) for r in batch]
        encoded = self.tokenizer(prompts, return_tensors="pt", padding=True,
                                 add_special_tokens=False).to(self.device)
        kwargs: dict[str, Any] = {
            "max_new_tokens": settings.max_new_tokens,
            "return_dict_in_generate": True,
            "output_logits": True,
            "pad_token_id": self.tokenizer.pad_token_id,
        }
        if settings.temperature > 0:
            kwargs.update(do_sample=True, temperature=settings.temperature, top_p=settings.top_p)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if settings.stop:
            kwargs.update(stop_strings=list(settings.stop), tokenizer=self.tokenizer)
        with self._lock, torch.inference_mode():
            if settings.seed is not None:
                torch.manual_seed(settings.seed)
            output = self.model.generate(**encoded, **kwargs)
        prompt_width = encoded["input_ids"].shape[1]
        generated = output.sequences[:, prompt_width:]
        logprobs = torch.stack(output.logits, dim=1).float().log_softmax(-1)
        chosen = logprobs.gather(-1, generated.unsqueeze(-1)).squeeze(-1)
        eos_ids = set(self._eos_ids())
        completions = []
        for row, prompt in enumerate(prompts):
            ids = generated[row].tolist()
            end, hit_eos = len(ids), False
            for position, token in enumerate(ids):
                if token in eos_ids:
                    end, hit_eos = position, True
                    break
            ids = ids[:end]
            text, stop = _truncate_at_stop(self.decode(ids), settings.stop)
            finish = "stop" if hit_eos or stop is not None else "length"
            prompt_tokens = int(encoded["attention_mask"][row].sum())
            completions.append(Completion(
                text=text, token_ids=ids, logprobs=chosen[row, :end].tolist(),
                finish_reason=finish, prompt=prompt, prompt_tokens=prompt_tokens,
                completion_tokens=len(ids), stop_sequence=stop,
            ))
            self.stats.prompt_tokens_computed += prompt_tokens
            self.stats.generated_tokens += len(ids)
        self.stats.calls += 1
        return completions

    def _eos_ids(self) -> list[int]:
        ids = self.model.generation_config.eos_token_id
        if ids is None:
            ids = self.tokenizer.eos_token_id
        return [ids] if isinstance(ids, int) else list(ids or [])

    # -- scoring ----------------------------------------------------------------------

    def score(self, prompt: str, continuations: Sequence[str]) -> list[float]:
        """One forward pass over the prompt, then all continuations batched on its KV cache."""
        if not continuations:
            return []
        prompt_ids, conts = score_inputs(self.encode, prompt, continuations)
        with self._lock, torch.inference_mode():
            prefix = self.model(input_ids=torch.tensor([prompt_ids], device=self.device),
                                use_cache=True)
            first = prefix.logits[0, -1].float().log_softmax(-1)
            totals = [float(first[c[0]]) for c in conts]
            longest = max(len(c) for c in conts)
            self.stats.prompt_tokens_computed += len(prompt_ids)
            if longest > 1:
                # Feed every continuation but its last token; the cache holds the prompt once.
                width = longest - 1
                pad = self.tokenizer.pad_token_id
                inputs = torch.tensor([c[:-1] + [pad] * (width - len(c) + 1) for c in conts],
                                      device=self.device)
                mask_tail = torch.tensor([[1] * (len(c) - 1) + [0] * (width - len(c) + 1)
                                          for c in conts], device=self.device)
                cache = prefix.past_key_values
                cache.batch_repeat_interleave(len(conts))
                mask = torch.cat([torch.ones(len(conts), len(prompt_ids), dtype=mask_tail.dtype,
                                             device=self.device), mask_tail], dim=1)
                positions = torch.arange(len(prompt_ids), len(prompt_ids) + width,
                                         device=self.device).expand(len(conts), -1)
                out = self.model(input_ids=inputs, attention_mask=mask, past_key_values=cache,
                                 position_ids=positions, use_cache=True)
                logprobs = out.logits.float().log_softmax(-1)
                for row, cont in enumerate(conts):
                    for j in range(1, len(cont)):
                        totals[row] += float(logprobs[row, j - 1, cont[j]])
                self.stats.prompt_tokens_computed += sum(len(c) - 1 for c in conts)
        self.stats.calls += 1
        return totals

    # -- many answers from one reasoning text -------------------------------------------

    def answer_branches(self, base: str, cuts: Sequence[int], suffix: str,
                        candidates: Sequence[str], max_new_tokens: int = 8) -> list[BranchAnswer]:
        """For each cut c, the answer after `base[:c] + suffix`: candidate scores and a greedy reply.

        `base` is computed once. Each branch crops that KV cache to its cut and computes only
        its own suffix, so an early-answering curve over n cuts costs about one prefill of
        the reasoning plus n short suffixes, not n prefills.
        """
        encoded = self.tokenizer(base, add_special_tokens=False, return_offsets_mapping=True)
        ids: list[int] = list(encoded["input_ids"])
        ends = [int(end) for _, end in encoded["offset_mapping"]]
        cand_ids = [self.encode(c) for c in candidates]
        if not ids or any(not c for c in cand_ids):
            raise UsageError("answer_branches needs a non-empty base and candidates")
        results: dict[int, BranchAnswer] = {}
        eos = set(self._eos_ids())
        with self._lock, torch.inference_mode():
            cache = self.model(input_ids=torch.tensor([ids], device=self.device),
                               use_cache=True).past_key_values
            self.stats.prompt_tokens_computed += len(ids)
            # Longest prefix first: each crop only shortens the cache.
            for position, cut in sorted(enumerate(cuts), key=lambda item: -item[1]):
                kept = sum(1 for end in ends if end <= cut)
                kept = max(kept, 1)  # the chat template's opening tokens are always shared
                tail = base[ends[kept - 1]:cut] + suffix
                surplus = cache.get_seq_length() - kept
                if surplus > 0:
                    cache.crop(-surplus)  # transformers 5 counts tokens to remove, negatively
                tail_ids = self.encode(tail)
                out = self.model(input_ids=torch.tensor([tail_ids], device=self.device),
                                 past_key_values=cache, use_cache=True)
                computed = len(tail_ids)
                scores, extra = self._score_on_cache(out, cand_ids)
                computed += extra
                greedy_ids: list[int] = []
                logits = out.logits[0, -1]
                for _ in range(max_new_tokens):
                    token = int(logits.argmax())
                    if token in eos:
                        break
                    greedy_ids.append(token)
                    step = self.model(input_ids=torch.tensor([[token]], device=self.device),
                                      past_key_values=cache, use_cache=True)
                    logits = step.logits[0, -1]
                    computed += 1
                    if "\n" in self.decode(greedy_ids):
                        break
                self.stats.prompt_tokens_computed += computed
                results[position] = BranchAnswer(scores, self.decode(greedy_ids), computed)
        self.stats.calls += 1
        return [results[i] for i in range(len(cuts))]

    def _score_on_cache(self, out: Any, cand_ids: list[list[int]]) -> tuple[list[float], int]:
        """Candidate log-probabilities after the state in `out` (its cache is left as it was)."""
        first = out.logits[0, -1].float().log_softmax(-1)
        totals = [float(first[c[0]]) for c in cand_ids]
        longest = max(len(c) for c in cand_ids)
        if longest == 1:
            return totals, 0
        width = longest - 1
        pad = self.tokenizer.pad_token_id
        # A copy: scoring must not grow the cache the greedy reply continues from.
        cache = copy.deepcopy(out.past_key_values)
        cache.batch_repeat_interleave(len(cand_ids))
        cached = cache.get_seq_length()
        inputs = torch.tensor([c[:-1] + [pad] * (width - len(c) + 1) for c in cand_ids],
                              device=self.device)
        tail = torch.tensor([[1] * (len(c) - 1) + [0] * (width - len(c) + 1) for c in cand_ids],
                            device=self.device)
        mask = torch.cat([torch.ones(len(cand_ids), cached, dtype=tail.dtype, device=self.device),
                          tail], dim=1)
        positions = torch.arange(cached, cached + width, device=self.device).expand(len(cand_ids), -1)
        logprobs = self.model(input_ids=inputs, attention_mask=mask, past_key_values=cache,
                              position_ids=positions, use_cache=True).logits.float().log_softmax(-1)
        for row, cont in enumerate(cand_ids):
            for j in range(1, len(cont)):
                totals[row] += float(logprobs[row, j - 1, cont[j]])
        return totals, sum(len(c) - 1 for c in cand_ids)
