from faithtrace.cli._main import run

run()
