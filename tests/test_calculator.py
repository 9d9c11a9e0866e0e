"""The calculator tool: exact results, and every hostile input refused quickly and clearly."""

from __future__ import annotations

import subprocess
import sys
import time
from fractions import Fraction

import pytest

from faithtrace.agents import (
    CalculatorError,
    CalculatorLimitError,
    CalculatorMathError,
    ExpressionError,
    default_registry,
    evaluate,
    format_number,
)
from faithtrace.errors import ToolError


def calc(expression: str) -> str:
    return default_registry().get("calculator").run(expression)


@pytest.mark.parametrize(("expression", "expected"), [
    ("2 + 3 * 4", "14"),
    ("(2 + 3) * 4", "20"),
    ("10 - 4 - 3", "3"),              # left-associative
    ("100 / 10 / 5", "2"),
    ("2 ** 3 ** 2", "512"),           # right-associative: 2 ** 9
    ("-2 ** 2", "-4"),                # ** binds tighter than unary minus, as in Python
    ("(-2) ** 2", "4"),
    ("2 ** -2", "0.25"),
    ("--3", "3"),
    ("-(4 - 10)", "6"),
    ("+5", "5"),
    ("0.1 + 0.2", "0.3"),             # exact, not 0.30000000000000004
    ("1.5 * 4", "6"),
    (".5 + 1.", "1.5"),
    ("2.50 * 2", "5"),
    ("7 % 3", "1"),
    ("-7 % 3", "2"),                  # Python's sign convention
    ("5.5 % 2", "1.5"),
    ("2 * 3 % 4", "2"),               # * and % share a level, left to right
    ("1 / 3", "0.333333333333"),
    ("2 / 3", "0.666666666667"),
    ("1 / 1024", "0.0009765625"),
    ("4 ** 0.5", "2"),
    ("2 ** 0.5", "1.41421356237"),
    ("1.5e3 + 1", "1501"),
    ("2 ** 100", str(2 ** 100)),
    ("  12 *(3+4)  ", "84"),
])
def test_valid_expressions(expression: str, expected: str) -> None:
    assert calc(expression) == expected


def test_results_are_exact_fractions() -> None:
    assert evaluate("1/3 + 1/6") == Fraction(1, 2)
    assert evaluate("0.1 * 3") == Fraction(3, 10)
    assert format_number(Fraction(10**30, 7)) == "1.42857142857e+29"
    assert format_number(Fraction(-1, 8)) == "-0.125"


@pytest.mark.parametrize(("expression", "error", "message"), [
    ("1 / 0", CalculatorMathError, "division by zero"),
    ("5 % 0", CalculatorMathError, "modulo by zero"),
    ("0 ** -1", CalculatorMathError, "division by zero"),
    ("(-8) ** 0.5", CalculatorMathError, "not a real number"),
    ("(1 + 2", ExpressionError, "missing ')'"),
    ("1 + 2)", ExpressionError, "without a matching '('"),
    ("__import__('os')", ExpressionError, "names are not allowed"),
    ("().__class__", ExpressionError, "unexpected"),
    ("abs(-1)", ExpressionError, "names are not allowed"),
    ("2 ^ 3", ExpressionError, "write powers as **"),
    ("1,000 + 1", ExpressionError, "thousands separators"),
    ("", ExpressionError, "empty expression"),
    ("3 +", ExpressionError, "something is missing"),
    ("1 2", ExpressionError, "operator is missing"),
    ("9 ** 9 ** 9", CalculatorLimitError, "too large"),
    ("10 ** 1001", CalculatorLimitError, "too large"),
    ("(2 ** 1000) ** 1000", CalculatorLimitError, "too large"),
    ("10 ** 1000 * 10 ** 300", CalculatorLimitError, "too large"),
    ("1e400", CalculatorLimitError, "too large"),
    ("(" * 150 + "1" + ")" * 150, CalculatorLimitError, "nests deeper"),
    ("-" * 500 + "1", CalculatorLimitError, "nests deeper"),
    ("1+" * 500_000 + "1", CalculatorLimitError, "the limit is 1,000"),
])
def test_hostile_and_invalid_inputs_are_clear_tool_errors(
        expression: str, error: type[CalculatorError], message: str) -> None:
    started = time.perf_counter()
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("*", r"\*")) as raised:
        calc(expression)
    assert time.perf_counter() - started < 0.5  # refused, not computed
    assert isinstance(raised.value, ToolError)


def _cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "faithtrace", "tools", *args], input=stdin,
                          capture_output=True, text=True, timeout=60)


def test_cli_runs_the_calculator() -> None:
    done = _cli("run", "calculator", "(2 + 3) * 4 / 3")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "6.66666666667"


@pytest.mark.parametrize(("expression", "message"), [
    ("1/0", "error: division by zero"),
    ("__import__('os').system('echo pwned')", "error: names are not allowed"),
])
def test_cli_reports_tool_errors(expression: str, message: str) -> None:
    done = _cli("run", "calculator", expression)
    assert done.returncode == 1
    assert done.stderr.startswith(message)
    assert "pwned" not in done.stdout
    assert done.stdout == ""


def test_cli_refuses_a_megabyte_expression_from_stdin() -> None:
    done = _cli("run", "calculator", "-", stdin="1+" * 500_000 + "1")
    assert done.returncode == 1
    assert done.stderr.startswith("error: the expression is 1,000,001 characters long")


def test_cli_lists_tools_and_rejects_unknown_ones() -> None:
    listing = _cli("--json")
    assert listing.returncode == 0
    assert '"calculator"' in listing.stdout
    unknown = _cli("run", "nope", "1")
    assert unknown.returncode == 2
    assert "unknown tool 'nope'; available tools:" in unknown.stderr
