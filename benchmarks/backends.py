"""hf vs vLLM on one model: generation and scoring throughput, and the early-answering curve.

The curve scores the same answer after each of n prefixes of one reasoning text, one `score`
call per prefix, as an early-answering probe does. With vLLM's prefix caching on, each call
reuses the KV blocks of the reasoning the previous calls already computed.

Run it where vllm is installed: `make bench-backends` (or `.venv-vllm/bin/python
benchmarks/backends.py`). vLLM starts an engine process, hence the `__main__` guard.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")

QUESTIONS = [
    "What is 17 + 25? Think step by step.",
    "A train travels 60 km in one hour. How far does it go in 3 hours?",
    "Name the capital of France and explain why it is important.",
    "If a box holds 12 eggs, how many eggs are in 4 boxes?",
]
REASONING = " ".join(
    f"Step {i}: the shop sells pencils at 3 dollars and pens at 5 dollars, so after {i} "
    f"purchases Maria has paid {3 * i} dollars for pencils and {5 * i} dollars for pens, "
    f"{8 * i} dollars in all."
    for i in range(1, 13)
)
CURVE_QUESTION = "Maria buys 4 pencils and 4 pens. How much does she pay?"
ANSWER_SUFFIX = "\nSo the answer is"
CANDIDATES = [" 32", " 28", " 36", " 40"]


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Best wall time of `repeat` runs (the machine is shared), and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def bench_generate(backend: Any, new_tokens: int, repeat: int) -> dict[str, float]:
    from faithtrace.llm import GenerationRequest

    requests = [GenerationRequest(messages=({"role": "user", "content": q},),
                                  max_new_tokens=new_tokens) for q in QUESTIONS]
    backend.generate(requests[:1])  # warm-up: first calls pay for allocations and kernels
    single_s, [one] = timed(lambda: backend.generate(requests[:1]), repeat)
    batch_s, many = timed(lambda: backend.generate(requests), repeat)
    return {"gen1_tok_s": len(one.token_ids) / single_s,
            "gen4_tok_s": sum(len(c.token_ids) for c in many) / batch_s}


def bench_score(backend: Any, repeat: int) -> dict[str, float]:
    prompt = backend.render(({"role": "user", "content": CURVE_QUESTION},
                             {"role": "assistant", "content": REASONING}),
                            continue_final=True) + ANSWER_SUFFIX
    tokens = backend.count_tokens(prompt) + sum(backend.count_tokens(c) for c in CANDIDATES)
    backend.score(prompt, CANDIDATES)
    seconds, _ = timed(lambda: backend.score(prompt, CANDIDATES), repeat)
    return {"score_ms": seconds * 1000, "score_tok_s": tokens / seconds}


def curve_prompts(backend: Any, points: int) -> list[str]:
    cuts = [round(len(REASONING) * k / points) for k in range(points + 1)]
    return [backend.render(({"role": "user", "content": CURVE_QUESTION},
                            {"role": "assistant", "content": REASONING[:cut]}),
                           continue_final=True) + ANSWER_SUFFIX for cut in cuts]


def bench_curve(backend: Any, points: int) -> dict[str, float]:
    prompts = curve_prompts(backend, points)
    before = backend.stats.prompt_tokens_computed
    started = time.perf_counter()
    for prompt in prompts:
        backend.score(prompt, CANDIDATES)
    seconds = time.perf_counter() - started
    return {"curve_s": seconds, "curve_prefill_tokens": backend.stats.prompt_tokens_computed - before}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--points", type=int, default=8, help="prefixes on the curve")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="torch threads for hf")
    args = parser.parse_args()

    import torch

    from faithtrace.llm import load_backend

    torch.set_num_threads(args.threads)
    rows: list[tuple[str, dict[str, float]]] = []
    configs: list[tuple[str, str, dict[str, Any]]] = [
        ("hf", "hf", {}),
        ("vllm (prefix cache on)", "vllm", {"enable_prefix_caching": True}),
        ("vllm (prefix cache off)", "vllm", {"enable_prefix_caching": False}),
    ]
    for label, name, options in configs:
        started = time.perf_counter()
        backend = load_backend(name, args.model, **options)
        row = {"load_s": time.perf_counter() - started}
        # The curve first, on a cold cache: the cache-on row then shows reuse within one curve.
        row |= bench_curve(backend, args.points)
        row |= bench_generate(backend, args.new_tokens, args.repeat)
        row |= bench_score(backend, args.repeat)
        rows.append((label, row))
        print(f"{label}: {row}", flush=True)
        if hasattr(backend, "close"):
            backend.close()  # free the engine's cores and memory for the next row

    columns = ["load_s", "gen1_tok_s", "gen4_tok_s", "score_ms", "score_tok_s", "curve_s",
               "curve_prefill_tokens"]
    print(f"\nmodel {args.model}, {args.new_tokens} new tokens, curve of {args.points + 1} "
          f"prefixes x {len(CANDIDATES)} candidates, best of {args.repeat}\n")
    print("| backend | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for label, row in rows:
        print(f"| {label} | " + " | ".join(f"{row[c]:.1f}" for c in columns) + " |")


if __name__ == "__main__":
    main()
