"""The `make run` job: a few CoT episodes on the embedded demo model, traced into DuckDB,
then one SQL query over their steps.

    python examples/demo.py [--model qwen2.5-coder-0.5b] [--db demo.duckdb]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from faithtrace import CoTAgent, Recorder, load_backend, run_query, setup_tracing
from faithtrace.cli._output import print_rows
from faithtrace.llm import DEFAULT_DEMO_MODEL

QUESTIONS = [
    "A baker makes 12 muffins and sells 5. Then she bakes 8 more. How many muffins does she have?",
    "Sam reads 15 pages a day. How many pages does he read in 4 days?",
    "A train travels 60 km in the first hour and 45 km in the second hour. "
    "How far does it travel in total?",
]

STEPS_QUERY = """
SELECT s.trace_id[:8] AS trace, s.step_index AS step, s.kind, s.text
FROM steps s JOIN episodes e USING (trace_id)
WHERE s.trace_id IN ({ids})
ORDER BY e.start_time, s.step_index
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_DEMO_MODEL)
    parser.add_argument("--db", default=os.environ.get("FAITHTRACE_DB", "faithtrace.duckdb"))
    parser.add_argument("--max-new-tokens", type=int, default=200)
    args = parser.parse_args()
    console = Console()

    started = time.monotonic()
    console.print(f"[bold]faithtrace demo[/bold]: {len(QUESTIONS)} chain-of-thought episodes on "
                  f"{args.model}, traced into {args.db}")
    console.print("loading the model (the first run converts the packaged GGUF once, ~1-2 min) ...")
    backend = load_backend("hf", args.model)
    console.print(f"loaded in {time.monotonic() - started:.0f} s")
    tracing = setup_tracing(args.db)
    agent = CoTAgent(backend, Recorder(tracing.tracer, tracing.capture_content),
                     max_new_tokens=args.max_new_tokens)
    episodes = []
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/"
                  "{task.total}"), TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("episodes", total=len(QUESTIONS))
        for question in QUESTIONS:
            episode = agent.run(question)
            episodes.append(episode)
            progress.console.print(f"[cyan]{episode.trace_id[:8]}[/cyan] {question}\n"
                                   f"  -> answer [bold]{episode.answer}[/bold] "
                                   f"({len(episode.steps)} steps)")
            progress.advance(task)
    tracing.shutdown()

    ids = ", ".join(f"'{e.trace_id}'" for e in episodes)
    result = run_query(args.db, STEPS_QUERY.format(ids=ids))
    console.print(f"\n[bold]SQL[/bold] over the recorded steps ({args.db}):")
    console.print(STEPS_QUERY.format(ids="...").strip(), style="dim")
    print_rows(result.columns, result.rows, "table", max_width=70)
    console.print(f"\ndone in {time.monotonic() - started:.0f} s. Try: faithtrace traces --db "
                  f"{args.db}   |   faithtrace sql \"SELECT * FROM llm_calls\" --db {args.db}")


if __name__ == "__main__":
    main()
