"""The built-in `calculator` tool: exact arithmetic through a small parser of our own.

Model output is untrusted input, so nothing here evaluates Python: a tokenizer accepts only
numbers, `+ - * / % **` and parentheses, and a recursive-descent parser computes with
`Fraction`. Every size is bounded before work is done: input length, nesting depth,
exponents and the bits of every intermediate result, so `9**9**9` is refused at once.
"""

from __future__ import annotations

import re
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import NamedTuple

from faithtrace.agents._tools import _DEFAULT, tool
from faithtrace.errors import ToolError

MAX_LENGTH = 1000
"""Longest expression accepted, in characters."""
MAX_DEPTH = 100
"""Deepest nesting of parentheses and unary signs (keeps the parser off Python's stack limit)."""
MAX_EXPONENT = 1000
"""Largest |exponent| of `**`."""
MAX_LITERAL_EXPONENT = 300
"""Largest |e| in a literal such as `1.5e-3`."""
MAX_BITS = 4096
"""Largest numerator or denominator of any result (about 1,230 decimal digits)."""
SIGNIFICANT_DIGITS = 12
"""Digits shown for results that are not short exact decimals."""
_EXACT_DIGITS = 15

_ALLOWED = "numbers, + - * / % ** (power) and parentheses"


class CalculatorError(ToolError):
    """The calculator refused an expression."""


class ExpressionError(CalculatorError):
    """Text that is not an expression the calculator reads (names, stray symbols, bad brackets)."""


class CalculatorMathError(CalculatorError):
    """Arithmetic without a result: division by zero, a negative number to a fractional power."""


class CalculatorLimitError(CalculatorError):
    """An expression or result past the calculator's size limits (overflow)."""


class _Token(NamedTuple):
    kind: str
    """`number` or `op`."""
    text: str
    position: int
    """1-based character position, for error messages."""


_NUMBER = re.compile(r"(?P<int>[0-9]*)(?:\.(?P<frac>[0-9]*))?(?:[eE](?P<exp>[+-]?[0-9]+))?")
_OPERATORS = ("**", "+", "-", "*", "/", "%", "(", ")")
_HINTS = {
    "^": "'^' is not an operator here; write powers as **",
    "=": "'=' is not needed; write only the expression, e.g. 2 + 2",
    "x": "write multiplication as *",
    "×": "write multiplication as *",
    "÷": "write division as /",
    ",": "write numbers without thousands separators and use '.' for decimals",
}


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
            continue
        op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
        if op is not None:
            tokens.append(_Token("op", op, i + 1))
            i += len(op)
            continue
        match = _NUMBER.match(text, i)
        if match and (match.group("int") or match.group("frac")):
            tokens.append(_Token("number", match.group(), i + 1))
            i = match.end()
            continue
        raise ExpressionError(_unexpected(text, i))
    return tokens


def _unexpected(text: str, i: int) -> str:
    char = text[i]
    if char.isalpha() or char == "_":
        word = re.match(r"[\w.]*", text[i:])
        name = word.group() if word else char
        if name == "x":
            return f"unexpected 'x' at character {i + 1}; {_HINTS['x']}"
        return (f"names are not allowed (found {name[:20]!r} at character {i + 1}); "
                f"the calculator takes {_ALLOWED}")
    hint = _HINTS.get(char, f"the calculator takes {_ALLOWED}")
    return f"unexpected {char!r} at character {i + 1}; {hint}"


def _number(token: _Token) -> Fraction:
    match = _NUMBER.fullmatch(token.text)
    assert match is not None  # the tokenizer only makes number tokens that match
    whole, frac, exp = match.group("int") or "", match.group("frac") or "", match.group("exp")
    scale = int(exp) if exp else 0
    if abs(scale) > MAX_LITERAL_EXPONENT:
        raise CalculatorLimitError(f"the exponent in {token.text[:30]!r} is too large; "
                                   f"keep it within ±{MAX_LITERAL_EXPONENT}")
    value = Fraction(int(whole + frac or "0"), 10 ** len(frac))
    return _bounded(value * Fraction(10) ** scale)


def _bounded(value: Fraction) -> Fraction:
    if value.numerator.bit_length() > MAX_BITS or value.denominator.bit_length() > MAX_BITS:
        raise CalculatorLimitError(f"the result is too large (over {MAX_BITS} bits, about "
                                   f"{int(MAX_BITS * 0.30103):,} digits); use smaller numbers")
    return value


def _power(base: Fraction, exponent: Fraction) -> Fraction:
    if abs(exponent) > MAX_EXPONENT:
        raise CalculatorLimitError(f"the exponent {_short(exponent)} is too large; keep powers "
                                   f"within ±{MAX_EXPONENT}")
    if base == 0 and exponent < 0:
        raise CalculatorMathError("division by zero (0 to a negative power)")
    if exponent.denominator == 1:
        # Size before work: a b-bit base to the n has at least (b - 1) * n bits.
        size = max(base.numerator.bit_length(), base.denominator.bit_length())
        if (size - 1) * abs(exponent.numerator) > MAX_BITS:
            raise CalculatorLimitError(f"{_short(base)} ** {exponent} is too large; the result "
                                       f"would have over {MAX_BITS} bits")
        return _bounded(base ** exponent.numerator)
    if base < 0:
        raise CalculatorMathError("a negative number to a fractional power is not a real number")
    if base == 0:
        return Fraction(0)
    magnitude = abs(base.numerator.bit_length() - base.denominator.bit_length()) + 1
    if magnitude * abs(exponent) > MAX_BITS:
        raise CalculatorLimitError(f"{_short(base)} ** {_short(exponent)} is too large")
    # A fractional power is irrational in general: computed to 40 digits, shown rounded.
    with localcontext() as context:
        context.prec = 40
        result = (Decimal(base.numerator) / Decimal(base.denominator)) ** (
            Decimal(exponent.numerator) / Decimal(exponent.denominator))
    return _bounded(Fraction(result))


def _short(value: Fraction) -> str:
    text = format_number(value)
    return text if len(text) <= 30 else text[:27] + "..."


class _Parser:
    """expr := term (('+'|'-') term)* ; term := unary (('*'|'/'|'%') unary)* ;
    unary := ('+'|'-') unary | power ; power := atom ('**' unary)? ; atom := number | '(' expr ')'

    As in Python, `**` binds tighter than a unary minus on its left (`-2**2` is -4), is
    right-associative, and takes a signed exponent (`2**-1`).
    """

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    def parse(self) -> Fraction:
        value = self.expr()
        if self.i < len(self.tokens):
            token = self.tokens[self.i]
            if token.text == ")":
                raise ExpressionError(f"unexpected ')' without a matching '(' at character "
                                      f"{token.position}")
            raise ExpressionError(f"unexpected {token.text!r} at character {token.position}; "
                                  "an operator is missing before it")
        return value

    def peek(self) -> str | None:
        return self.tokens[self.i].text if self.i < len(self.tokens) else None

    def take(self) -> _Token:
        if self.i >= len(self.tokens):
            last = self.tokens[-1].text if self.tokens else None
            raise ExpressionError("empty expression; write one such as 2 + 2" if last is None
                                  else f"the expression ends after {last!r}; something is missing")
        token = self.tokens[self.i]
        self.i += 1
        return token

    def descend(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise CalculatorLimitError(f"the expression nests deeper than {MAX_DEPTH} levels")

    def expr(self) -> Fraction:
        value = self.term()
        while self.peek() in ("+", "-"):
            op = self.take().text
            right = self.term()
            value = _bounded(value + right if op == "+" else value - right)
        return value

    def term(self) -> Fraction:
        value = self.unary()
        while self.peek() in ("*", "/", "%"):
            op = self.take().text
            right = self.unary()
            if op != "*" and right == 0:
                raise CalculatorMathError("division by zero" if op == "/" else "modulo by zero")
            value = _bounded(value * right if op == "*" else value / right if op == "/"
                             else value % right)
        return value

    def unary(self) -> Fraction:
        if self.peek() in ("+", "-"):
            op = self.take().text
            self.descend()
            operand = self.unary()
            self.depth -= 1
            return -operand if op == "-" else operand
        return self.power()

    def power(self) -> Fraction:
        base = self.atom()
        if self.peek() == "**":
            self.take()
            self.descend()
            exponent = self.unary()
            self.depth -= 1
            return _power(base, exponent)
        return base

    def atom(self) -> Fraction:
        token = self.take()
        if token.kind == "number":
            return _number(token)
        if token.text == "(":
            self.descend()
            value = self.expr()
            self.depth -= 1
            if self.peek() != ")":
                raise ExpressionError(f"missing ')' for the '(' at character {token.position}")
            self.take()
            return value
        raise ExpressionError(f"unexpected {token.text!r} at character {token.position}; "
                              "expected a number or '('")


def evaluate(expression: str) -> Fraction:
    """The exact value of an arithmetic expression; a `CalculatorError` says what is wrong."""
    if len(expression) > MAX_LENGTH:
        raise CalculatorLimitError(f"the expression is {len(expression):,} characters long; the "
                                   f"limit is {MAX_LENGTH:,}")
    tokens = _tokenize(expression)
    if not tokens:
        raise ExpressionError("empty expression; write one such as 2 + 2")
    return _Parser(tokens).parse()


def format_number(value: Fraction) -> str:
    """Integers as integers, short exact decimals exactly, anything else to 12 significant digits."""
    if value.denominator == 1:
        return str(value.numerator)
    twos = fives = 0
    rest = value.denominator
    while rest % 2 == 0:
        rest, twos = rest // 2, twos + 1
    while rest % 5 == 0:
        rest, fives = rest // 5, fives + 1
    if rest == 1:
        places = max(twos, fives)
        digits = str(abs(value.numerator) * 10 ** places // value.denominator).rjust(places + 1, "0")
        if len(digits.lstrip("0")) <= _EXACT_DIGITS:
            return ("-" if value < 0 else "") + digits[:-places] + "." + digits[-places:]
    with localcontext() as context:
        context.prec = SIGNIFICANT_DIGITS
        rounded = (Decimal(value.numerator) / Decimal(value.denominator)).normalize()
    if -7 < rounded.adjusted() < 16:
        return format(rounded, "f")
    return format(rounded, "e")


@tool
def calculator(expression: str) -> str:
    """Exact arithmetic on numbers with + - * / % ** (power) and parentheses, e.g. (3 + 4.5) * 2 ** 3.

    Args:
        expression: the arithmetic expression to evaluate, e.g. 12 * (3 + 4)
    """
    return format_number(evaluate(expression))


_DEFAULT.register(calculator)
