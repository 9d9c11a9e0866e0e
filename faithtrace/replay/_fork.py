"""Forking a recorded episode at step k with an intervention, then continuing or answering."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace

from faithtrace.agents import Episode, Step
from faithtrace.errors import UsageError
from faithtrace.llm import Backend
from faithtrace.replay._interventions import Intervention
from faithtrace.replay._load import load_episode
from faithtrace.replay._model import RecordedEpisode
from faithtrace.replay._rerun import cot_agent, live_backend
from faithtrace.tracer import ForkOrigin, Recorder


def build_prefix(completion: str, recorded: Sequence[Step], kept: Sequence[Step]) -> tuple[str, list[Step]]:
    """The reasoning text the fork starts from, and its steps re-indexed with new offsets.

    Text between steps (newlines, spaces) is copied from the recorded completion, so an
    unchanged prefix is byte-identical to the parent's. Token offsets stay valid only up to
    the first changed step.
    """
    text, unchanged = "", True
    originals = {(s.char_start, s.char_end): s for s in recorded}
    recorded_ends = sorted(s.char_end for s in recorded if s.char_end is not None)
    out: list[Step] = []
    for index, step in enumerate(kept):
        if text and step.char_start is not None:
            # The gap right before this step in the original (not after the previous kept
            # step: a deleted step's text must not ride along in the separator).
            gap_start = max((e for e in recorded_ends if e <= step.char_start), default=0)
            separator = completion[gap_start:step.char_start]
        else:
            separator = "\n" if text else ""
        original = originals.get((step.char_start, step.char_end))
        unchanged = unchanged and original is not None and original.text == step.text \
            and original.index == index
        start = len(text) + len(separator)
        text += separator + step.text
        out.append(replace(step, index=index, char_start=start, char_end=len(text),
                           token_start=step.token_start if unchanged else None,
                           token_end=step.token_end if unchanged else None))
    return text, out


def reasoning_steps(episode: RecordedEpisode) -> list[Step]:
    """The steps an intervention may change: everything before the answer."""
    return [s for s in episode.steps if s.kind != "answer"]


def fork(
    db: str | os.PathLike[str],
    trace_id: str,
    step: int,
    intervention: Intervention,
    *,
    recorder: Recorder,
    backend: Backend | None = None,
    answer_now: bool = False,
    experiment_id: str | None = None,
) -> Episode:
    """Fork episode `trace_id` at `step` with `intervention` and run the rest live.

    The recorded steps before the fork are served from the trace, not recomputed; the
    intervention changes the state at `step`; then the agent continues its reasoning live
    (or, with `answer_now`, is asked for its answer at once). The new episode is traced with
    `faithtrace.parent.trace_id`, `faithtrace.fork.step`, `faithtrace.intervention.*` and a
    link to the parent's root span.
    """
    parent = load_episode(db, trace_id)
    if parent.agent != "cot":
        raise UsageError(f"fork supports CoT episodes; {parent.trace_id[:12]} is {parent.agent!r}")
    if parent.question is None or parent.completion is None:
        raise UsageError("this episode was recorded with FAITHTRACE_CAPTURE_CONTENT=false; "
                         "forking needs its question and reasoning text")
    recorded = reasoning_steps(parent)
    kept = intervention.apply(recorded, step)
    prefix, prefix_steps = build_prefix(parent.completion, recorded, kept)
    agent = cot_agent(parent, backend or live_backend(parent), recorder)
    origin = ForkOrigin(parent.trace_id, parent.root_span_id, fork_step=step,
                        intervention={"name": intervention.name, **intervention.params(),
                                      "mode": "answer_now" if answer_now else "continue"})
    return agent.run_from(parent.question, prefix, prefix_steps, answer_now=answer_now,
                          origin=origin, experiment_id=experiment_id)
