"""`faithtrace datasets`, `faithtrace experiment` and `faithtrace report EXP`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from faithtrace.cli._output import print_json, print_rows
from faithtrace.config import db_path
from faithtrace.errors import UsageError
from faithtrace.llm import BACKENDS, DEFAULT_TEST_MODEL, load_backend
from faithtrace.probes import (
    AGENTS,
    DEFAULT_INTERVENTIONS,
    ExperimentConfig,
    ExperimentReport,
    build_report,
    find_experiment,
    list_datasets,
    plan_interventions,
    run_experiment,
    write_report,
)
from faithtrace.tracer import setup_tracing

DEFAULT_REPORTS_DIR = "faithtrace-reports"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
             add_db: Callable[[argparse.ArgumentParser], None]) -> None:
    datasets = subparsers.add_parser("datasets", help="list the data sets experiments can use")
    datasets.add_argument("--json", action="store_true", help="print the list as JSON")
    datasets.set_defaults(handler=run_datasets)

    experiment = subparsers.add_parser(
        "experiment", help="run agents over a data set and probe every episode (resumable)")
    experiment.add_argument("--dataset", required=True,
                            help="arithmetic, word-problems, factbook or a JSONL file "
                                 "(see `faithtrace datasets`)")
    experiment.add_argument("--n", type=int, default=10, help="items to run (default 10)")
    experiment.add_argument("--agent", choices=AGENTS, default="cot", help="default cot")
    experiment.add_argument("--interventions", default=",".join(DEFAULT_INTERVENTIONS),
                            help="comma-separated probe names "
                                 f"(default {','.join(DEFAULT_INTERVENTIONS)})")
    experiment.add_argument("--name", default=None,
                            help="experiment name; re-running a name resumes it (default: made "
                                 "from the data set, agent, model and seed)")
    experiment.add_argument("--seed", type=int, default=0,
                            help="picks the generated items / Factbook order (default 0)")
    experiment.add_argument("--model", default=DEFAULT_TEST_MODEL,
                            help=f"registry name, HF directory or .gguf (default {DEFAULT_TEST_MODEL})")
    experiment.add_argument("--backend", default="auto", choices=BACKENDS, help="default auto")
    experiment.add_argument("--max-new-tokens", type=int, default=256,
                            help="generation budget per model call (default 256)")
    experiment.add_argument("--mistake-source", choices=("rule", "model"), default="rule")
    experiment.add_argument("--mistake-mode", choices=("continue", "answer-now"), default="continue")
    experiment.add_argument("--out", default=None, metavar="DIR",
                            help=f"also write the report here (default {DEFAULT_REPORTS_DIR}/NAME)")
    add_db(experiment)
    experiment.set_defaults(handler=run_experiment_command)

    report = subparsers.add_parser("report", help="an experiment's results: tables, CSV/JSON, "
                                                  "plots and one HTML page")
    report.add_argument("experiment", help="experiment name or id")
    report.add_argument("--out", default=None, metavar="DIR",
                        help=f"where to write the files (default {DEFAULT_REPORTS_DIR}/NAME)")
    report.add_argument("--json", action="store_true", help="print the report as JSON")
    add_db(report)
    report.set_defaults(handler=run_report)


def run_datasets(args: argparse.Namespace) -> int:
    infos = [d.to_dict() for d in list_datasets()]
    if args.json:
        print_json(infos)
    else:
        columns = ["name", "size", "source", "license", "description"]
        print_rows(columns, [[d[c] for c in columns] for d in infos], title="data sets")
    return 0


def _config(args: argparse.Namespace) -> ExperimentConfig:
    names = tuple(n.strip() for n in args.interventions.split(",") if n.strip())
    if args.n < 1:
        raise UsageError(f"--n must be at least 1 (got {args.n})")
    return ExperimentConfig(dataset=args.dataset, n=args.n, agent=args.agent, interventions=names,
                            name=args.name, seed=args.seed, max_new_tokens=args.max_new_tokens,
                            mistake_source=args.mistake_source, mistake_mode=args.mistake_mode)


def run_experiment_command(args: argparse.Namespace) -> int:
    config = _config(args)
    from faithtrace.probes import load_dataset

    load_dataset(config.dataset, 1, config.seed)  # a bad data set fails before the model loads
    _, notes = plan_interventions(config.agent, config.interventions)
    console = Console(stderr=True)
    for note in notes:
        console.print(f"[yellow]note[/yellow]: {note}", highlight=False)
    path = db_path(args.db)
    console.print(f"loading {args.model} ...")
    backend = load_backend(args.backend, args.model)
    tracing = setup_tracing(path)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn())
    try:
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task("experiment", total=config.n)

            def show(done: int, total: int, label: str) -> None:
                progress.update(task, completed=done, total=total, description=label)

            run = run_experiment(path, config, backend=backend, tracing=tracing, progress=show)
    finally:
        tracing.shutdown()  # finished items are saved already; this writes their last spans
    console.print(f"experiment [bold]{run.name}[/bold] ({run.experiment_id[:12]}): "
                  f"{run.finished} item(s) run now, {run.already_done} already done")
    report = build_report(path, run.name)
    out = Path(args.out or Path(DEFAULT_REPORTS_DIR) / run.name)
    files = write_report(report, out)
    print_summary(report)
    print(f"report: {files['html']}", file=sys.stderr)
    return 0


def _fmt(value: object) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def print_summary(report: ExperimentReport) -> None:
    """The headline numbers and the per-intervention table, for people."""
    console = Console()
    e = report.experiment
    console.print(f"[bold]{e['name']}[/bold] · {e['dataset']} · {e['agent']} · {e['model']}",
                  highlight=False)
    table = Table(header_style="bold", title="summary")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in report.summary.items():
        if key == "flip_rates":
            for name, rate in value.items():
                table.add_row(f"flip rate: {name}", _fmt(rate))
        else:
            table.add_row(key, _fmt(value))
    console.print(table)
    if report.interventions:
        table = Table(header_style="bold", title="by intervention")
        columns = list(report.interventions[0])
        for column in columns:
            table.add_column(column, justify="left" if column == "intervention" else "right")
        for row in report.interventions:
            table.add_row(*(Text(_fmt(row[c])) for c in columns))
        console.print(table)
    for note in report.notes:
        console.print(f"[yellow]note[/yellow]: {note}", highlight=False)


def run_report(args: argparse.Namespace) -> int:
    path = db_path(args.db)
    record = find_experiment(path, args.experiment)
    report = build_report(path, record)
    out = Path(args.out or Path(DEFAULT_REPORTS_DIR) / record.name)
    files = write_report(report, out)
    if args.json:
        print_json({**report.to_dict(), "files": {k: str(v) for k, v in files.items()}})
    else:
        print_summary(report)
        print(f"report: {files['html']} (tables as CSV/JSON and plots in {out})", file=sys.stderr)
    return 0
