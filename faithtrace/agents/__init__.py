"""Episode graphs (LangGraph), their prompts, step segmentation, answer parsing and tools."""

from faithtrace.agents._answer import ParsedAnswer, first_answer, normalize, parse_answer
from faithtrace.agents._calculator import (
    CalculatorError,
    CalculatorLimitError,
    CalculatorMathError,
    ExpressionError,
    calculator,
    evaluate,
    format_number,
)
from faithtrace.agents._calls import record_steps, require_question
from faithtrace.agents._cot import CoTAgent
from faithtrace.agents._episode import Episode
from faithtrace.agents._rag import RAG_PROMPT_VERSION, RAGAgent, RAGEpisode, parse_citations
from faithtrace.agents._react import ReActAgent
from faithtrace.agents._react_parse import MalformedActionError, ReActReply, parse_reply
from faithtrace.agents._steps import STEP_KINDS, Step, segment
from faithtrace.agents._tools import (
    TOOL_MODULES,
    Tool,
    ToolArgument,
    ToolRegistry,
    as_tool,
    call_with_timeout,
    default_registry,
    tool,
)

__all__ = [
    "RAG_PROMPT_VERSION",
    "STEP_KINDS",
    "TOOL_MODULES",
    "CalculatorError",
    "CalculatorLimitError",
    "CalculatorMathError",
    "CoTAgent",
    "Episode",
    "ExpressionError",
    "MalformedActionError",
    "ParsedAnswer",
    "RAGAgent",
    "RAGEpisode",
    "ReActAgent",
    "ReActReply",
    "Step",
    "Tool",
    "ToolArgument",
    "ToolRegistry",
    "as_tool",
    "calculator",
    "call_with_timeout",
    "default_registry",
    "evaluate",
    "first_answer",
    "format_number",
    "normalize",
    "parse_answer",
    "parse_citations",
    "parse_reply",
    "record_steps",
    "require_question",
    "segment",
    "tool",
]
