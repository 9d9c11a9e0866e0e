"""`faithtrace run cot "QUESTION"`: run one traced episode and print it."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console

from faithtrace.agents import CoTAgent, Episode
from faithtrace.cli._output import print_json
from faithtrace.errors import UsageError
from faithtrace.llm import BACKENDS, DEFAULT_DEMO_MODEL, load_backend
from faithtrace.tracer import Recorder, setup_tracing


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """The options every command that runs a model shares."""
    parser.add_argument("--model", default=DEFAULT_DEMO_MODEL,
                        help="registry name, HF model directory or .gguf file "
                             f"(default {DEFAULT_DEMO_MODEL}; see `faithtrace models`)")
    parser.add_argument("--backend", default="auto", choices=BACKENDS,
                        help="model backend (default auto)")
    parser.add_argument("--max-new-tokens", type=int, default=256,
                        help="generation budget per model call (default 256)")
    parser.add_argument("--temperature", type=float, default=0.0,
                        help="0 is greedy (default)")
    parser.add_argument("--seed", type=int, default=None, help="sampling seed")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
             add_db: object) -> None:
    run = subparsers.add_parser("run", help="run one traced agent episode")
    agents = run.add_subparsers(dest="agent", required=True, metavar="AGENT")
    cot = agents.add_parser("cot", help="chain-of-thought: reason step by step, then answer")
    cot.add_argument("question", help="the question to answer")
    add_model_options(cot)
    add_db(cot)  # type: ignore[operator]
    cot.add_argument("--json", action="store_true", help="print the episode as JSON")
    cot.set_defaults(handler=run_cot)


def print_episode(episode: Episode) -> None:
    """The episode for people: steps, then the answer, then where the trace is."""
    console = Console()
    console.print(f"[bold]{episode.agent}[/bold] · {episode.settings.get('model')} · "
                  f"trace [cyan]{episode.trace_id}[/cyan]")
    for step in episode.steps:
        style = {"answer": "bold green", "action": "yellow", "observation": "magenta"}.get(
            step.kind, "")
        console.print(f"  [dim]{step.index:>2}[/dim] [{style}]{step.kind:<11}[/{style}] "
                      if style else f"  [dim]{step.index:>2}[/dim] {step.kind:<11} ",
                      end="")
        console.print(step.text, markup=False, highlight=False)
    if episode.answer is not None:
        console.print(f"[bold]answer:[/bold] {episode.answer}  [dim]({episode.answer_source})[/dim]")
    else:
        console.print(f"[bold red]no answer[/bold red] ({episode.no_answer_reason})")


def run_cot(args: argparse.Namespace) -> int:
    if not args.question.strip():
        raise UsageError("the question is empty; pass the question to answer as text")
    tracing = setup_tracing(args.db)
    print(f"loading {args.model} ...", file=sys.stderr)
    backend = load_backend(args.backend, args.model)
    agent = CoTAgent(backend, Recorder(tracing.tracer, tracing.capture_content),
                     max_new_tokens=args.max_new_tokens, temperature=args.temperature,
                     seed=args.seed)
    episode = agent.run(args.question)
    tracing.shutdown()
    if args.json:
        print_json({"trace_id": episode.trace_id, "answer": episode.answer,
                    "answer_source": episode.answer_source,
                    "no_answer_reason": episode.no_answer_reason,
                    "steps": [s.to_dict() for s in episode.steps],
                    "model": args.model, "db": str(tracing.db_path)})
    else:
        print_episode(episode)
        print(f"trace written to {tracing.db_path}", file=sys.stderr)
    return 0
