"""Entry point: parse arguments, dispatch, and turn user errors into one line and exit code 2."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence

from faithtrace import __version__
from faithtrace.config import debug
from faithtrace.errors import FaithtraceError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default=None, metavar="PATH",
                        help="trace database (default ./faithtrace.duckdb or $FAITHTRACE_DB)")


def build_parser() -> argparse.ArgumentParser:
    from faithtrace.cli import _experiment, _index, _models, _probe, _query, _replay, _run, _serve, _tools

    parser = argparse.ArgumentParser(
        prog="faithtrace",
        description="Trace LLM agent episodes into DuckDB; replay them; probe their faithfulness.",
    )
    parser.add_argument("--version", action="version", version=f"faithtrace {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (_run, _query, _replay, _probe, _models, _tools, _index, _serve, _experiment):
        module.register(subparsers, _add_db)
    return parser


def _quiet_libraries() -> None:
    # Library progress bars and advisory warnings drown the episode output on stderr.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _sigterm_as_interrupt(signum: int, frame: object) -> None:
    # Turn SIGTERM into the same path as Ctrl-C so finished spans are flushed on the way out.
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    _quiet_libraries()
    parser = build_parser()
    args = parser.parse_args(argv)
    if threading_is_main():
        signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    try:
        return int(args.handler(args) or 0)
    except FaithtraceError as error:
        if debug():
            raise
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("interrupted; finished episodes are saved", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0


def threading_is_main() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
