"""`faithtrace replay`, `faithtrace fork`, `faithtrace diff`: looking back at recorded episodes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from rich.console import Console
from rich.table import Table

from faithtrace.cli._output import print_json
from faithtrace.config import db_path
from faithtrace.replay import (
    EpisodeDiff,
    ReplaceStep,
    TruncateAfter,
    diff_episodes,
    fork,
    load_episode,
    print_episode_tree,
    rerun,
    write_episode_html,
)
from faithtrace.replay._interventions import Intervention
from faithtrace.replay._rerun import live_backend
from faithtrace.tracer import Recorder, setup_tracing


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
             add_db: Callable[[argparse.ArgumentParser], None]) -> None:
    replay = subparsers.add_parser("replay", help="show a recorded episode, or run it again")
    replay.add_argument("trace_id", help="trace id (or a unique prefix of one)")
    replay.add_argument("--json", action="store_true", help="print the episode object as JSON")
    replay.add_argument("--html", metavar="FILE", help="write a self-contained page to step through")
    again = replay.add_mutually_exclusive_group()
    again.add_argument("--rerun", action="store_true",
                       help="run the agent again with model outputs served from the trace")
    again.add_argument("--live", action="store_true",
                       help="run the agent again against the live model and report the diff")
    add_db(replay)
    replay.set_defaults(handler=run_replay)

    fork_cmd = subparsers.add_parser("fork", help="fork an episode at a step with an intervention")
    fork_cmd.add_argument("trace_id")
    fork_cmd.add_argument("--step", type=int, required=True, help="the step to change")
    change = fork_cmd.add_mutually_exclusive_group(required=True)
    change.add_argument("--replace", metavar="TEXT", help="replace the step's text")
    change.add_argument("--truncate", action="store_true", help="keep steps up to --step only")
    fork_cmd.add_argument("--answer-now", action="store_true",
                          help="ask for the answer right after the change instead of continuing")
    fork_cmd.add_argument("--json", action="store_true")
    add_db(fork_cmd)
    fork_cmd.set_defaults(handler=run_fork)

    diff = subparsers.add_parser("diff", help="align two episodes step by step")
    diff.add_argument("trace_a")
    diff.add_argument("trace_b")
    diff.add_argument("--json", action="store_true")
    add_db(diff)
    diff.set_defaults(handler=run_diff)


def _diff_json(diff: EpisodeDiff) -> dict[str, object]:
    return {
        "identical": diff.identical,
        "first_divergence": diff.first_divergence,
        "answer": [diff.answer_a, diff.answer_b],
        "steps": [{"status": c.status, "a": c.a.to_dict() if c.a else None,
                   "b": c.b.to_dict() if c.b else None} for c in diff.changes],
        "tool_results": [{"call": i, "a": x, "b": y} for i, x, y in diff.tool_results],
    }


def print_diff(diff: EpisodeDiff, label_a: str, label_b: str) -> None:
    console = Console()
    table = Table(show_lines=False, header_style="bold")
    for column in ("", label_a, label_b):
        table.add_column(column, overflow="fold")
    style = {"same": "dim", "changed": "yellow", "removed": "red", "added": "green"}
    for change in diff.changes:
        a = f"{change.a.index} {change.a.kind}: {change.a.text}" if change.a else ""
        b = f"{change.b.index} {change.b.kind}: {change.b.text}" if change.b else ""
        table.add_row(change.status, a, b, style=style[change.status])
    console.print(table)
    for call, x, y in diff.tool_results:
        console.print(f"tool call #{call}: {x!r} -> {y!r}", style="yellow")
    same = "same" if diff.answer_a == diff.answer_b else "changed"
    console.print(f"answer: {diff.answer_a!r} -> {diff.answer_b!r} ({same})")


def run_replay(args: argparse.Namespace) -> int:
    path = db_path(args.db)
    if args.rerun or args.live:
        episode = load_episode(path, args.trace_id)
        tracing = setup_tracing(path)
        backend = live_backend(episode) if args.live else None
        result = rerun(path, episode.trace_id, tracing, live=args.live, backend=backend)
        tracing.shutdown()
        if args.json:
            print_json({"original": result.original.trace_id, "rerun": result.rerun.trace_id,
                        "mode": result.mode, "identical": result.identical,
                        **_diff_json(result.diff)})
        elif result.identical:
            print(f"identical: {result.mode} {result.rerun.trace_id} reproduces "
                  f"{result.original.trace_id} step for step")
        else:
            print(f"diverged at step {result.first_divergence}: {result.mode} "
                  f"{result.rerun.trace_id} vs {result.original.trace_id}")
            print_diff(result.diff, "original", result.mode)
        return 0
    episode = load_episode(path, args.trace_id)
    if args.html:
        written = write_episode_html(episode, args.html)
        print(f"wrote {written}", file=sys.stderr)
    if args.json:
        print_json(episode.to_dict())
    elif not args.html:
        print_episode_tree(episode)
    return 0


def run_fork(args: argparse.Namespace) -> int:
    path = db_path(args.db)
    intervention: Intervention = (ReplaceStep(args.replace) if args.replace is not None
                                  else TruncateAfter())
    parent = load_episode(path, args.trace_id)
    backend = live_backend(parent)
    tracing = setup_tracing(path)
    episode = fork(path, parent.trace_id, args.step, intervention,
                   recorder=Recorder(tracing.tracer, tracing.capture_content), backend=backend,
                   answer_now=args.answer_now)
    tracing.shutdown()
    diff = diff_episodes(parent, load_episode(path, episode.trace_id))
    if args.json:
        print_json({"parent": parent.trace_id, "fork": episode.trace_id, **_diff_json(diff)})
    else:
        print(f"fork {episode.trace_id} of {parent.trace_id} at step {args.step}")
        print_diff(diff, "parent", "fork")
    return 0


def run_diff(args: argparse.Namespace) -> int:
    path = db_path(args.db)
    a, b = load_episode(path, args.trace_a), load_episode(path, args.trace_b)
    diff = diff_episodes(a, b)
    if args.json:
        print_json({"a": a.trace_id, "b": b.trace_id, **_diff_json(diff)})
    else:
        print_diff(diff, a.trace_id[:12], b.trace_id[:12])
    return 0
