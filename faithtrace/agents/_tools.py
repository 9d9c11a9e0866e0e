"""Tools an agent can call: the `@tool` decorator, `Tool`, and the registry agents and the CLI read.

A tool is a plain function with type hints and a docstring::

    @tool
    def word_count(text: str) -> int:
        '''Count the words in a text.

        Args:
            text: the text to count
        '''
        return len(text.split())

    default_registry().register(word_count)

Other modules add their tools the same way when they are imported, and are listed in
`TOOL_MODULES` so `default_registry()` imports them (the retrieval package's `search` tool is
meant to arrive this way). The registry works with whatever is registered, down to the
built-in calculator alone. A LangChain `BaseTool` can be registered as it is.
"""

from __future__ import annotations

import contextvars
import importlib
import inspect
import json
import re
import threading
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from faithtrace.errors import ToolError, ToolTimeoutError, UnknownToolError, UsageError

T = TypeVar("T")

# JSON-schema type names for the Python annotations a tool argument may carry.
_JSON_TYPES: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean",
                               list: "array", dict: "object"}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
_ARGS_HEADER = re.compile(r"^\s*(?:args|arguments|parameters)\s*:\s*$", re.IGNORECASE)
_ARG_LINE = re.compile(r"^\s*(?P<name>\w+)\s*(?:\([^)]*\))?\s*:\s*(?P<text>.*)$")


@dataclass(frozen=True)
class ToolArgument:
    """One argument of a tool, as the model is told about it."""

    name: str
    type: str
    """JSON-schema type name: string, integer, number, boolean, array or object."""
    description: str = ""
    required: bool = True
    default: Any = None


@dataclass(frozen=True)
class Tool:
    """A named callable with a description and typed arguments, ready to show to a model."""

    name: str
    description: str
    arguments: tuple[ToolArgument, ...]
    func: Callable[..., Any] = field(repr=False, compare=False)
    source: str = "python"
    """`python` for `@tool` functions, `langchain` for wrapped LangChain tools."""

    def args_schema(self) -> dict[str, Any]:
        """The arguments as a JSON-schema object."""
        properties: dict[str, Any] = {}
        for argument in self.arguments:
            prop: dict[str, Any] = {"type": argument.type}
            if argument.description:
                prop["description"] = argument.description
            if not argument.required:
                prop["default"] = argument.default
            properties[argument.name] = prop
        return {"type": "object", "properties": properties,
                "required": [a.name for a in self.arguments if a.required]}

    def describe(self) -> str:
        """One line for a prompt: `name[args]: description`."""
        return f"{self.name}[{', '.join(a.name for a in self.arguments)}]: {self.description}"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "source": self.source,
                "args_schema": self.args_schema()}

    def bind(self, tool_input: str | Mapping[str, Any]) -> dict[str, Any]:
        """Keyword arguments for `func` from a model's input: a mapping, or text.

        Text goes to the one required argument; a tool with several takes a JSON object.
        """
        if isinstance(tool_input, str):
            required = [a for a in self.arguments if a.required]
            if len(self.arguments) == 1 or len(required) == 1:
                target = required[0] if required else self.arguments[0]
                tool_input = {target.name: tool_input}
            elif not self.arguments:
                tool_input = {}
            else:
                try:
                    parsed = json.loads(tool_input)
                except json.JSONDecodeError:
                    parsed = None
                if not isinstance(parsed, dict):
                    raise ToolError(f"{self.name} takes several arguments "
                                    f"({', '.join(a.name for a in self.arguments)}); "
                                    "pass them as a JSON object")
                tool_input = parsed
        known = {a.name: a for a in self.arguments}
        unknown = sorted(set(tool_input) - set(known))
        if unknown:
            raise ToolError(f"{self.name} has no argument {', '.join(unknown)}; "
                            f"its arguments are {', '.join(known) or 'none'}")
        missing = [a.name for a in self.arguments if a.required and a.name not in tool_input]
        if missing:
            raise ToolError(f"{self.name} needs {', '.join(missing)}")
        return {name: _coerce(self.name, known[name], value) for name, value in tool_input.items()}

    def run(self, tool_input: str | Mapping[str, Any]) -> str:
        """Call the tool and return its result as the text a model will read."""
        result = self.func(**self.bind(tool_input))
        return result if isinstance(result, str) else json.dumps(result, ensure_ascii=False,
                                                                 default=str)


def _coerce(tool: str, argument: ToolArgument, value: Any) -> Any:
    # Models write every argument as text; turn "3" into 3 where the tool asked for a number.
    if not isinstance(value, str) or argument.type == "string":
        return value
    try:
        if argument.type == "integer":
            return int(value.strip())
        if argument.type == "number":
            return float(value.strip())
        if argument.type == "boolean":
            return {"true": True, "false": False}[value.strip().lower()]
    except (ValueError, KeyError):
        raise ToolError(f"{tool}: argument {argument.name} must be a {argument.type}, "
                        f"not {value[:40]!r}") from None
    return value


def _json_type(annotation: Any) -> str:
    origin = typing.get_origin(annotation) or annotation
    if origin in (typing.Union, types.UnionType):
        # `int | None` is an optional integer: describe the non-None part.
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _json_type(options[0]) if len(options) == 1 else "string"
    return _JSON_TYPES.get(origin, "string")


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """The summary paragraph and the per-argument lines of a Google-style docstring."""
    lines = inspect.cleandoc(doc).splitlines()
    summary: list[str] = []
    for line in lines:
        if not line.strip() or _ARGS_HEADER.match(line):
            break
        summary.append(line.strip())
    arguments: dict[str, str] = {}
    in_args, arg_indent, current = False, -1, ""
    for line in lines:
        if _ARGS_HEADER.match(line):
            in_args = True
            continue
        if not in_args or not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        if indent == 0:
            in_args = False  # the next section ("Returns:") starts
            continue
        match = _ARG_LINE.match(line)
        # Deeper-indented lines continue the argument above, even when they hold a colon.
        if match and (arg_indent < 0 or indent <= arg_indent):
            arg_indent, current = indent, match.group("name")
            arguments[current] = match.group("text").strip()
        elif current:
            arguments[current] += " " + line.strip()
    return " ".join(summary), arguments


def _from_function(func: Callable[..., Any], name: str | None, description: str | None) -> Tool:
    tool_name = name or str(getattr(func, "__name__", ""))
    summary, documented = _parse_docstring(inspect.getdoc(func) or "")
    hints = typing.get_type_hints(func)
    arguments = []
    for parameter in inspect.signature(func).parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise UsageError(f"tool {tool_name}: *args and **kwargs cannot be described to a "
                             "model; give the function named parameters")
        has_default = parameter.default is not parameter.empty
        arguments.append(ToolArgument(
            name=parameter.name, type=_json_type(hints.get(parameter.name, str)),
            description=documented.get(parameter.name, ""), required=not has_default,
            default=parameter.default if has_default else None))
    return _checked(Tool(tool_name, description or summary, tuple(arguments), func))


def _from_langchain(base_tool: Any) -> Tool:
    from langchain_core.tools import ToolException

    properties: Mapping[str, Any] = base_tool.args
    required = set(base_tool.get_input_schema().model_json_schema().get("required", properties))
    is_single = len(properties) == 1

    def call(**kwargs: Any) -> Any:
        # A single-argument LangChain tool takes its input as text; others take the mapping.
        payload: Any = next(iter(kwargs.values())) if len(kwargs) == 1 and is_single else kwargs
        try:
            return base_tool.invoke(payload)
        except ToolException as error:
            raise ToolError(str(error)) from error

    arguments = tuple(
        ToolArgument(name=key, type=str(spec.get("type", "string")),
                     description=str(spec.get("description", "")), required=key in required,
                     default=spec.get("default"))
        for key, spec in properties.items())
    return _checked(Tool(base_tool.name, base_tool.description or "", arguments, call,
                         source="langchain"))


def _checked(built: Tool) -> Tool:
    if not _NAME.match(built.name):
        raise UsageError(f"tool name {built.name!r} is not usable in an action; use letters, "
                         "digits, _ . or - (up to 64 characters), starting with a letter")
    if not built.description:
        raise UsageError(f"tool {built.name} has no description; give the function a docstring "
                         "or pass description=...")
    return built


@overload
def tool(func: Callable[..., Any], /) -> Tool: ...
@overload
def tool(*, name: str | None = None,
         description: str | None = None) -> Callable[[Callable[..., Any]], Tool]: ...
def tool(func: Callable[..., Any] | None = None, /, *, name: str | None = None,
         description: str | None = None) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a `Tool` from a function: name, description and arguments from its signature and
    docstring. Use as `@tool` or `@tool(name=..., description=...)`; register it to use it."""
    if func is not None:
        return _from_function(func, name, description)
    return lambda f: _from_function(f, name, description)


def as_tool(obj: Tool | Callable[..., Any] | Any) -> Tool:
    """A `Tool` from a Tool, a LangChain `BaseTool` or a plain function."""
    if isinstance(obj, Tool):
        return obj
    from langchain_core.tools import BaseTool

    if isinstance(obj, BaseTool):
        return _from_langchain(obj)
    if callable(obj):
        return _from_function(obj, None, None)
    raise UsageError(f"cannot make a tool from {type(obj).__name__}; pass a function, a Tool "
                     "or a LangChain BaseTool")


class ToolRegistry:
    """Tools by name. Agents get one (or a selection from one); the CLI lists and runs them."""

    def __init__(self, tools: Iterable[Tool | Callable[..., Any] | Any] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for item in tools:
            self.register(item)

    def register(self, item: Tool | Callable[..., Any] | Any, *, replace: bool = False) -> Tool:
        """Add a tool (a `Tool`, a LangChain `BaseTool` or a function); returns the `Tool`.

        Registering a different tool under a taken name is refused unless `replace=True`.
        """
        new = as_tool(item)
        old = self._tools.get(new.name)
        if old is not None and not replace and old.func is not new.func:
            raise UsageError(f"a tool named {new.name} is already registered; pick another "
                             "name or pass replace=True")
        self._tools[new.name] = new
        return new

    def unregister(self, name: str) -> None:
        self.get(name)
        del self._tools[name]

    def get(self, name: str) -> Tool:
        """The tool called `name`; `UnknownToolError` naming the ones there are."""
        try:
            return self._tools[name]
        except KeyError:
            known = ", ".join(self.names()) or "none are registered"
            raise UnknownToolError(f"unknown tool {name[:64]!r}; available tools: {known}") from None

    def names(self) -> list[str]:
        return sorted(self._tools)

    def list(self) -> list[Tool]:
        return [self._tools[n] for n in self.names()]

    def select(self, names: Iterable[str]) -> ToolRegistry:
        """A new registry with only the named tools (each must exist)."""
        return ToolRegistry(self.get(n) for n in names)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[Tool]:
        return iter(self.list())

    def __len__(self) -> int:
        return len(self._tools)


def call_with_timeout(func: Callable[[], T], timeout: float | None) -> T:
    """Run `func` in a worker thread; `ToolTimeoutError` if it takes longer than `timeout` s.

    Python cannot stop a thread, so a timed-out tool keeps running in the background until
    it returns; the thread is a daemon so it never holds up the process's exit. The caller's
    context (the current span) goes with it, so spans the tool opens nest under its call.
    """
    if timeout is None:
        return func()
    outcome: list[T] = []
    failure: list[BaseException] = []
    context = contextvars.copy_context()

    def target() -> None:
        try:
            outcome.append(context.run(func))
        except BaseException as error:  # handed to the caller, which decides what to do
            failure.append(error)

    worker = threading.Thread(target=target, name="faithtrace-tool", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise ToolTimeoutError(f"timeout after {timeout:g}s")
    if failure:
        raise failure[0]
    return outcome[0]


_DEFAULT = ToolRegistry()

TOOL_MODULES: list[str] = ["faithtrace.agents._calculator", "faithtrace.retrieval._search_tool"]
"""Modules that register tools into the default registry when imported. Add yours here (or
import it yourself before calling `default_registry()`); one whose third-party dependencies
are not installed is skipped, so optional tools vanish rather than break the CLI."""


def default_registry() -> ToolRegistry:
    """The registry agents and the CLI use unless given another, with every tool module loaded."""
    for module in TOOL_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            # Our own module missing is a bug; a missing optional dependency is not.
            if (error.name or "").split(".")[0] == "faithtrace":
                raise
    return _DEFAULT
