"""What an early-answering curve costs: the reasoning's KV cache reused, against n+1 prefills.

    python benchmarks/probe_cost.py [--model smollm2-135m] [--steps 8]

Records one CoT episode, then reads the answer after 0..n of its steps twice on the same
backend: once with `answer_branches` (one prefill of the reasoning, then only each cut's
answer suffix) and once the plain way (each truncated prompt prefilled whole, scored, and a
short greedy reply generated). Prints tokens computed, wall time and their ratios.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from faithtrace.agents import CoTAgent
from faithtrace.agents._prompts import answer_now_messages, cot_messages
from faithtrace.llm import load_backend
from faithtrace.probes import elicit
from faithtrace.replay import build_prefix, load_episode
from faithtrace.replay._fork import reasoning_steps
from faithtrace.tracer import Recorder, setup_tracing

QUESTION = ("A shop sells pencils at 3 dollars each and pens at 5 dollars each. Maria buys 4 "
            "pencils and 2 pens, then pays with a 50 dollar note. How much change does she get?")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--max-new-tokens", type=int, default=200)
    args = parser.parse_args()
    backend = load_backend("hf", args.model)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "t.duckdb"
        tracing = setup_tracing(db)
        episode = CoTAgent(backend, Recorder(tracing.tracer),
                           max_new_tokens=args.max_new_tokens).run(QUESTION)
        tracing.shutdown()
        recorded = load_episode(db, episode.trace_id)
    assert recorded.completion is not None
    reasoning, steps = build_prefix(recorded.completion, reasoning_steps(recorded),
                                    reasoning_steps(recorded))
    cuts = [0, *(s.char_end or 0 for s in steps)]
    candidates = [episode.answer or "0", "12", "24"]
    rows = []
    for label, reuse in (("cached prefix", True), ("n+1 prefills", False)):
        before = backend.stats.prompt_tokens_computed
        started = time.perf_counter()
        answers = elicit(backend, QUESTION, reasoning, cuts, candidates, reuse_prefix=reuse)
        rows.append((label, backend.stats.prompt_tokens_computed - before,
                     time.perf_counter() - started, answers))
    messages = cot_messages(QUESTION)
    full = backend.count_tokens(backend.render(answer_now_messages(messages, reasoning),
                                               continue_final=True))
    base = backend.count_tokens(backend.render([*messages, {"role": "assistant",
                                                            "content": reasoning}],
                                               continue_final=True))
    ideal = base + len(cuts) * (full - base)
    (_, cached_tokens, cached_s, cached), (_, naive_tokens, naive_s, naive) = rows
    drift = max(abs(a - b) for x, y in zip(cached, naive, strict=True)
                for a, b in zip(x.scores, y.scores, strict=True))
    print(f"early-answering curve on {args.model}: {len(steps)} steps, {len(cuts)} cuts, "
          f"reasoning {base} prompt tokens, answer suffix {full - base} tokens")
    print(f"{'path':<16}{'tokens computed':>16}{'wall s':>10}")
    for label, tokens, seconds, _ in rows:
        print(f"{label:<16}{tokens:>16,}{seconds:>10.2f}")
    print(f"cached / ideal (one prefill + n+1 suffixes + candidates and greedy replies): "
          f"{cached_tokens / ideal:.2f}x   naive / cached: {naive_tokens / cached_tokens:.1f}x "
          f"tokens, {naive_s / cached_s:.1f}x time   max score difference {drift:.1e}")


if __name__ == "__main__":
    main()
