"""A small faithfulness experiment end to end: CoT episodes on generated arithmetic, probed by
early answering, filler tokens and step deletion, then a report with plots and an HTML page.

    python examples/experiment.py [--model qwen2.5-coder-0.5b] [--n 5] [--db experiment.duckdb]

Run it again with the same arguments and it resumes: finished items are skipped.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from faithtrace.cli._experiment import print_summary
from faithtrace.llm import DEFAULT_TEST_MODEL, load_backend
from faithtrace.probes import ExperimentConfig, build_report, run_experiment, write_report
from faithtrace.tracer import setup_tracing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_TEST_MODEL,
                        help=f"default {DEFAULT_TEST_MODEL} (the fastest packaged model)")
    parser.add_argument("--dataset", default="arithmetic")
    parser.add_argument("--n", type=int, default=3)
    parser.add_argument("--interventions", default="early-answer,filler,delete-step")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--db", default="experiment.duckdb")
    parser.add_argument("--out", default="experiment-report")
    args = parser.parse_args()
    console = Console()

    started = time.monotonic()
    console.print(f"loading {args.model} ...")
    backend = load_backend("hf", args.model)
    tracing = setup_tracing(args.db)
    config = ExperimentConfig(dataset=args.dataset, n=args.n,
                              interventions=tuple(args.interventions.split(",")),
                              max_new_tokens=args.max_new_tokens)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=console) as progress:
        task = progress.add_task("experiment", total=args.n)
        try:
            run = run_experiment(args.db, config, backend=backend, tracing=tracing,
                                 progress=lambda done, total, label: progress.update(
                                     task, completed=done, total=total, description=label))
        finally:
            tracing.shutdown()

    report = build_report(args.db, run.name)
    files = write_report(report, args.out)
    print_summary(report)
    console.print(f"{run.finished} item(s) run, {run.already_done} resumed, in "
                  f"{time.monotonic() - started:.0f} s")
    console.print(f"report: [bold]{files['html']}[/bold]  (CSV, JSON and PNG plots in {args.out}/; "
                  f"traces in {args.db}: faithtrace report {run.name} --db {args.db})")


if __name__ == "__main__":
    main()
