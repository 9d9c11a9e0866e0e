"""`faithtrace probe TRACE_ID`: fork an episode under interventions and measure the answer change."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from rich.console import Console
from rich.table import Table
from rich.text import Text

from faithtrace.cli._output import print_json
from faithtrace.config import db_path
from faithtrace.errors import UsageError
from faithtrace.probes import (
    DEFAULT_INTERVENTIONS,
    INTERVENTIONS,
    ProbeReport,
    default_interventions,
    probe_episode,
)
from faithtrace.replay import load_episode
from faithtrace.replay._rerun import live_backend
from faithtrace.tracer import setup_tracing


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
             add_db: Callable[[argparse.ArgumentParser], None]) -> None:
    probe = subparsers.add_parser("probe", help="measure whether an episode's answer depends on "
                                                "its reasoning")
    probe.add_argument("trace_id", help="a CoT episode's trace id (or a unique prefix)")
    probe.add_argument("--interventions", default=None,
                       help=f"comma-separated, from {', '.join(INTERVENTIONS)} (default: "
                            f"{','.join(DEFAULT_INTERVENTIONS)} on CoT, tool-result on ReAct, "
                            "drop-citation,swap-citation on RAG)")
    probe.add_argument("--gold", help="the correct answer, added to the candidates scored")
    probe.add_argument("--mistake-source", choices=("rule", "model"), default="rule",
                       help="corrupt steps by rule (change a number/operator) or by the model")
    probe.add_argument("--mistake-mode", choices=("continue", "answer-now"), default="continue",
                       help="after a mistake, regenerate the rest of the reasoning (Lanham) "
                            "or answer at once")
    probe.add_argument("--json", action="store_true", help="print the report as JSON")
    add_db(probe)
    probe.set_defaults(handler=run_probe)


def print_report(report: ProbeReport, step_texts: dict[int, str]) -> None:
    console = Console()
    console.print(f"probe [cyan]{report.probe_id[:12]}[/cyan] of episode "
                  f"[cyan]{report.trace_id}[/cyan]: baseline answer [bold]{report.baseline_answer}"
                  f"[/bold], candidates {report.candidates}")
    table = Table(header_style="bold")
    for column in ("intervention", "step", "step text", "answer", "same", "delta_p", "tvd"):
        table.add_column(column, overflow="fold", max_width=48 if column == "step text" else None)
    for r in report.results:
        detail = step_texts.get(r.step, "") if r.step is not None else ""
        if r.intervention == "filler":
            detail = f"{r.params['filler_tokens']} filler tokens ({r.params['length_fraction']}x)"
        elif r.intervention == "early-answer":
            detail = f"{r.params['steps_kept']} steps kept" + (f": …{detail[-40:]}" if detail else "")
        elif r.intervention in ("mistake", "paraphrase"):
            detail = str(r.params.get("text", ""))[:120]
        elif r.intervention == "tool-result":
            detail = f"{r.params['tool']}: {r.params['original']!r} -> {r.params['counterfactual']!r}"
        elif r.intervention in ("drop-citation", "swap-citation"):
            detail = (f"[{r.params['source']}] {r.params['document_id']}"
                      + (" (cited)" if r.params.get("cited") else ""))
        table.add_row(r.intervention, "" if r.step is None else str(r.step), Text(detail),
                      Text(r.answer), "yes" if r.same else "[red]no[/red]", f"{r.delta_p:+.3f}",
                      f"{r.tvd:.3f}")
    console.print(table)
    if report.aoc_early is not None:
        console.print(f"early-answering AOC: [bold]{report.aoc_early:.3f}[/bold]")
    if report.aoc_mistake is not None:
        console.print(f"adding-mistakes AOC: [bold]{report.aoc_mistake:.3f}[/bold]")
    if report.step_importance:
        ranked = sorted(report.step_importance.items(), key=lambda kv: -kv[1])
        console.print("step importance (tvd when deleted or corrupted): " +
                      ", ".join(f"{step}: {value:.3f}" for step, value in ranked))


def run_probe(args: argparse.Namespace) -> int:
    path = db_path(args.db)
    parent = load_episode(path, args.trace_id)
    names = ([n.strip() for n in args.interventions.split(",") if n.strip()]
             if args.interventions is not None else list(default_interventions(parent.agent)))
    if not names:
        raise UsageError("no interventions given; e.g. --interventions early-answer,mistake")
    backend = live_backend(parent)
    tracing = setup_tracing(path)
    console = Console(stderr=True)
    with console.status("probing ...") as status:
        report = probe_episode(path, parent.trace_id, names, backend=backend, tracing=tracing,
                               gold=args.gold, mistake_source=args.mistake_source,
                               mistake_mode=args.mistake_mode,
                               progress=lambda label: status.update(f"probing: {label}"))
    tracing.shutdown()
    if args.json:
        print_json(report.to_dict())
    else:
        print_report(report, {s.index: s.text for s in parent.steps})
        print(f"rows in probe_runs / interventions of {path}", file=sys.stderr)
    return 0
