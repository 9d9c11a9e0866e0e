"""Episode graphs (LangGraph), their prompts, step segmentation and answer parsing."""

from faithtrace.agents._answer import ParsedAnswer, normalize, parse_answer
from faithtrace.agents._cot import CoTAgent
from faithtrace.agents._episode import Episode
from faithtrace.agents._steps import STEP_KINDS, Step, segment

__all__ = [
    "STEP_KINDS",
    "CoTAgent",
    "Episode",
    "ParsedAnswer",
    "Step",
    "normalize",
    "parse_answer",
    "segment",
]
