"""Re-executing a recorded episode: from the record (`--rerun`) or against live models (`--live`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Protocol

from faithtrace.agents import CoTAgent, Episode, RAGAgent, ReActAgent, default_registry
from faithtrace.errors import UsageError
from faithtrace.llm import BACKENDS, Backend, load_backend
from faithtrace.replay._diff import EpisodeDiff, diff_steps
from faithtrace.replay._load import load_episode
from faithtrace.replay._model import RecordedEpisode
from faithtrace.replay._recorded import (
    Mismatch,
    RecordedBackend,
    RecordedRetriever,
    recorded_tools,
)
from faithtrace.tracer import ForkOrigin, Recorder, Tracing


def diff_episodes(a: RecordedEpisode, b: RecordedEpisode) -> EpisodeDiff:
    """Step-by-step alignment of two stored episodes, with their answers and tool results."""
    return diff_steps(a.steps, b.steps, a.answer, b.answer,
                      [c.result for c in a.tool_calls], [c.result for c in b.tool_calls])


@dataclass(frozen=True)
class RerunResult:
    """A re-run and how it compares with the original."""

    original: RecordedEpisode
    rerun: RecordedEpisode
    mode: str
    diff: EpisodeDiff
    mismatches: list[Mismatch]

    @property
    def identical(self) -> bool:
        return self.diff.identical and not self.mismatches

    @property
    def first_divergence(self) -> int | None:
        return self.diff.first_divergence


def live_backend(episode: RecordedEpisode) -> Backend:
    """The backend the episode's settings name, loaded fresh."""
    name = str(episode.settings.get("backend", "auto"))
    return load_backend(name if name in BACKENDS else "auto", str(episode.settings.get("model")))


class RunnableAgent(Protocol):
    def run(self, question: str, *, origin: ForkOrigin | None = None,
            experiment_id: str | None = None) -> Episode: ...


def _sampling(settings: dict[str, Any]) -> dict[str, Any]:
    return {"max_new_tokens": int(settings.get("max_new_tokens", 256)),
            "temperature": float(settings.get("temperature", 0.0)),
            "seed": settings.get("seed")}


def cot_agent(episode: RecordedEpisode, backend: Backend, recorder: Recorder) -> CoTAgent:
    """A CoT agent with the sampling settings `episode` was recorded with (replay, fork, probes)."""
    return CoTAgent(backend, recorder, **_sampling(episode.settings))


def build_agent(episode: RecordedEpisode, backend: Backend, recorder: Recorder,
                *, served: bool = False) -> RunnableAgent:
    """The agent that recorded `episode`, rebuilt from its recorded settings.

    With `served`, tools return their recorded results instead of running.
    """
    settings = episode.settings
    common = _sampling(settings)
    if episode.agent == "cot":
        return cot_agent(episode, backend, recorder)
    if episode.agent == "react":
        live = default_registry()
        names = [n for n in settings.get("tools", live.names()) if n in live]
        tools = (recorded_tools(episode.tool_calls, live, names) if served
                 else live.select(names))
        return ReActAgent(backend, recorder, tools=tools, max_steps=int(settings.get("max_steps", 6)),
                          tool_timeout=float(settings.get("tool_timeout", 10.0)),
                          max_observation_chars=int(settings.get("max_observation_chars", 2000)),
                          **common)
    if episode.agent == "rag":
        retriever: Any
        if served:
            retriever = RecordedRetriever(episode.retrievals, settings)
        else:
            from faithtrace.retrieval import Retriever, ensure_factbook_index

            index_dir = settings.get("index_dir")
            retriever = Retriever.load(index_dir) if index_dir else Retriever.load(
                ensure_factbook_index())
        return RAGAgent(backend, recorder, retriever, k=int(settings.get("k", 4)), **common)
    raise UsageError(f"re-running {episode.agent!r} episodes is not supported")


def run_agent(agent: RunnableAgent, episode: RecordedEpisode, origin: ForkOrigin) -> Episode:
    if episode.question is None:
        raise UsageError("this episode was recorded with FAITHTRACE_CAPTURE_CONTENT=false; "
                         "re-running needs its question")
    return agent.run(episode.question, origin=origin)


def rerun(db: str | os.PathLike[str], trace_id: str, tracing: Tracing, *, live: bool = False,
          backend: Backend | None = None) -> RerunResult:
    """Run the episode's agent graph again and compare.

    Default: model outputs are served from the record, so the graph's own logic (prompting,
    parsing, segmentation) is what is re-checked, and the result should be `identical`.
    `live=True`: the same settings against the live model, showing what changed.
    The new run is a traced episode linked to the original.
    """
    original = load_episode(db, trace_id)
    recorded_backend: RecordedBackend | None = None
    if live:
        model = backend or live_backend(original)
    else:
        recorded_backend = RecordedBackend(original.model_calls,
                                           str(original.settings.get("model", "?")))
        model = recorded_backend
    recorder = Recorder(tracing.tracer, tracing.capture_content)
    agent = build_agent(original, model, recorder, served=not live)
    mode = "live" if live else "rerun"
    origin = ForkOrigin(original.trace_id, original.root_span_id, intervention={"name": mode})
    episode = run_agent(agent, original, origin)
    tracing.flush()
    again = load_episode(tracing.db_path, episode.trace_id)
    mismatches = recorded_backend.mismatches if recorded_backend else []
    if recorded_backend and recorded_backend.served < len(original.model_calls):
        mismatches = [*mismatches, Mismatch(recorded_backend.served, [], [])]
    return RerunResult(original, again, mode, diff_episodes(original, again), mismatches)
