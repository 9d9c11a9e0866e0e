"""`faithtrace tools`: list the registered tools, or run one directly."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from faithtrace.agents import call_with_timeout, default_registry
from faithtrace.cli._output import print_json, print_rows
from faithtrace.errors import FaithtraceError, UnknownToolError

EXIT_TOOL_ERROR = 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
             add_db: Callable[[argparse.ArgumentParser], None]) -> None:
    tools = subparsers.add_parser("tools", help="list the tools agents can call, or run one")
    tools.add_argument("--json", action="store_true", help="print as JSON")
    tools.set_defaults(handler=run_list)
    verbs = tools.add_subparsers(dest="tools_command", metavar="VERB")
    listing = verbs.add_parser("list", help="list the registered tools (the default)")
    listing.add_argument("--json", action="store_true", help="print as JSON")
    listing.set_defaults(handler=run_list)
    run = verbs.add_parser("run", help="run one tool: result on stdout, `error: ...` on stderr")
    run.add_argument("name", help="the tool's name (see `faithtrace tools`)")
    run.add_argument("input", help="the tool's input as the model would write it; - reads stdin "
                          "(put -- before an input that starts with -)")
    run.add_argument("--timeout", type=float, default=10.0,
                     help="seconds the tool may take (default 10)")
    run.set_defaults(handler=run_tool)


def run_list(args: argparse.Namespace) -> int:
    tools = default_registry().list()
    if args.json:
        print_json([t.to_dict() for t in tools])
        return 0
    rows = [[t.name, ", ".join(a.name + ("" if a.required else "?") for a in t.arguments),
             t.source, t.description] for t in tools]
    print_rows(["name", "arguments", "source", "description"], rows, "table", title="tools",
               max_width=80)
    return 0


def run_tool(args: argparse.Namespace) -> int:
    tool = default_registry().get(args.name)  # unknown name: a usage error, exit 2
    tool_input = sys.stdin.read().rstrip("\n") if args.input == "-" else args.input
    try:
        result = call_with_timeout(lambda: tool.run(tool_input), args.timeout)
    except UnknownToolError:
        raise
    except FaithtraceError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_TOOL_ERROR
    except Exception as error:  # a failing tool is a tool error here, not a crash
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_TOOL_ERROR
    print(result)
    return 0
