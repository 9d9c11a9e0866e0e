"""Replay: rebuild a stored episode, draw it, re-run it, fork it with an intervention, diff two."""

from faithtrace.replay._diff import EpisodeDiff, StepChange, diff_steps
from faithtrace.replay._fork import build_prefix, fork
from faithtrace.replay._html import episode_html, write_episode_html
from faithtrace.replay._interventions import Intervention, KeepNone, ReplaceStep, TruncateAfter
from faithtrace.replay._load import load_episode, resolve_trace_id
from faithtrace.replay._model import ModelCall, RecordedEpisode, Retrieval, ToolCall
from faithtrace.replay._recorded import RecordedBackend
from faithtrace.replay._render import episode_tree, print_episode_tree
from faithtrace.replay._rerun import RerunResult, diff_episodes, rerun

__all__ = [
    "EpisodeDiff",
    "Intervention",
    "KeepNone",
    "ModelCall",
    "RecordedBackend",
    "RecordedEpisode",
    "ReplaceStep",
    "RerunResult",
    "Retrieval",
    "StepChange",
    "ToolCall",
    "TruncateAfter",
    "build_prefix",
    "diff_episodes",
    "diff_steps",
    "episode_html",
    "episode_tree",
    "fork",
    "load_episode",
    "print_episode_tree",
    "rerun",
    "resolve_trace_id",
    "write_episode_html",
]
