"""The `faithtrace` command line. One module per command group; errors become one line."""

from faithtrace.cli._main import main

__all__ = ["main"]
