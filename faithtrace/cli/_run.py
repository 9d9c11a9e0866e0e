"""`faithtrace run AGENT "QUESTION"`: the shared options and output of every agent command.

Each agent adds its own subcommand in `_run_<agent>.py` and is listed in `AGENT_COMMANDS`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from types import ModuleType

from rich.console import Console

from faithtrace.agents import CoTAgent, Episode, require_question
from faithtrace.cli._output import print_json
from faithtrace.llm import BACKENDS, DEFAULT_DEMO_MODEL, Backend, load_backend
from faithtrace.tracer import Recorder, Tracing, setup_tracing


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


def add_agent_parser(agents: argparse._SubParsersAction[argparse.ArgumentParser], name: str,
                     help_text: str, add_db: Callable[[argparse.ArgumentParser], None],
                     handler: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
    """A `run NAME "QUESTION"` subcommand with the options every agent shares."""
    parser = agents.add_parser(name, help=help_text)
    parser.add_argument("question", help="the question to answer")
    add_model_options(parser)
    add_db(parser)
    parser.add_argument("--json", action="store_true", help="print the episode as JSON")
    parser.set_defaults(handler=handler)
    return parser


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
             add_db: Callable[[argparse.ArgumentParser], None]) -> None:
    run = subparsers.add_parser("run", help="run one traced agent episode")
    agents = run.add_subparsers(dest="agent", required=True, metavar="AGENT")
    add_agent_parser(agents, "cot", "chain-of-thought: reason step by step, then answer",
                     add_db, run_cot)
    for module in AGENT_COMMANDS:
        module.register(agents, add_db)


def report(episode: Episode, args: argparse.Namespace, tracing: Tracing) -> None:
    """Print a finished episode: JSON with --json, else steps and answer for people."""
    if args.json:
        print_json({**episode.to_dict(), "model": args.model, "db": str(tracing.db_path)})
    else:
        print_episode(episode)
        print(f"trace written to {tracing.db_path}", file=sys.stderr)


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
        text = step.text
        if step.kind == "retrieval" and len(text) > 160:
            # A retrieved chunk is long; its full text is in the trace (`faithtrace replay`).
            text = text[:159] + "…"
        console.print(text, markup=False, highlight=False)
    if episode.answer is not None:
        console.print(f"[bold]answer:[/bold] {episode.answer}  [dim]({episode.answer_source})[/dim]")
    else:
        console.print(f"[bold red]no answer[/bold red] ({episode.no_answer_reason})")


def start(args: argparse.Namespace) -> tuple[Tracing, Backend, Recorder]:
    """Tracing, the model backend and a recorder, from the shared options."""
    require_question(args.question)
    tracing = setup_tracing(args.db)
    print(f"loading {args.model} ...", file=sys.stderr)
    backend = load_backend(args.backend, args.model)
    return tracing, backend, Recorder(tracing.tracer, tracing.capture_content)


def run_cot(args: argparse.Namespace) -> int:
    tracing, backend, recorder = start(args)
    agent = CoTAgent(backend, recorder, max_new_tokens=args.max_new_tokens,
                     temperature=args.temperature, seed=args.seed)
    episode = agent.run(args.question)
    tracing.shutdown()
    report(episode, args, tracing)
    return 0


# Other agents' subcommand modules, each with register(agents, add_db).
from faithtrace.cli import _run_rag, _run_react  # noqa: E402  (it imports this module, so it comes last)

AGENT_COMMANDS: list[ModuleType] = [_run_react, _run_rag]
