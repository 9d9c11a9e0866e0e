"""`faithtrace run react "QUESTION"`: a ReAct episode with tools."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from faithtrace.agents import ReActAgent, ToolRegistry, default_registry
from faithtrace.cli._run import add_agent_parser, report, start
from faithtrace.errors import UsageError


def register(agents: argparse._SubParsersAction[argparse.ArgumentParser],
             add_db: Callable[[argparse.ArgumentParser], None]) -> None:
    parser = add_agent_parser(agents, "react",
                              "ReAct: think, call tools, read their results, then answer",
                              add_db, run_react)
    parser.add_argument("--tools", default=None, metavar="NAMES",
                        help="comma-separated tools to offer, e.g. calculator,search "
                             "(default: every registered tool; see `faithtrace tools`)")
    parser.add_argument("--max-steps", type=int, default=6,
                        help="most model calls before giving up (default 6)")
    parser.add_argument("--tool-timeout", type=float, default=10.0,
                        help="seconds a tool call may take (default 10)")


def selected_tools(spec: str | None) -> ToolRegistry:
    """The registry to offer: every registered tool, or the comma-separated names in `spec`."""
    registry = default_registry()
    if spec is None:
        return ToolRegistry(registry)
    names = [n.strip() for n in spec.split(",") if n.strip()]
    if len(set(names)) != len(names):
        raise UsageError(f"--tools names a tool twice: {spec}")
    return registry.select(names)


def run_react(args: argparse.Namespace) -> int:
    # Check the cheap options before loading a model.
    tools = selected_tools(args.tools)
    if args.max_steps < 1:
        raise UsageError("--max-steps must be at least 1")
    if args.tool_timeout <= 0:
        raise UsageError("--tool-timeout must be a positive number of seconds")
    tracing, backend, recorder = start(args)
    agent = ReActAgent(backend, recorder, tools=tools, max_steps=args.max_steps,
                       tool_timeout=args.tool_timeout, max_new_tokens=args.max_new_tokens,
                       temperature=args.temperature, seed=args.seed)
    episode = agent.run(args.question)
    tracing.shutdown()
    report(episode, args, tracing)
    return 0
