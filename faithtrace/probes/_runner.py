"""The fork-and-measure runner: apply interventions to an episode, read the answers, compare."""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from faithtrace.agents import Episode, Step, first_answer, normalize, segment
from faithtrace.errors import UsageError
from faithtrace.llm import Backend, BranchAnswer
from faithtrace.probes._agents import (
    agent_candidates,
    citation_outcomes,
    read_answer,
    tool_result_outcomes,
)
from faithtrace.probes._corrupt import model_mistake, paraphrase, rule_mistake
from faithtrace.probes._elicit import elicit
from faithtrace.probes._metrics import aoc, compare, softmax
from faithtrace.probes._model import InterventionResult, Outcome, ProbeReport
from faithtrace.probes._record import record_evaluation, store_report, trace_elicited_fork
from faithtrace.replay import build_prefix, load_episode
from faithtrace.replay._fork import reasoning_steps
from faithtrace.replay._model import RecordedEpisode
from faithtrace.replay._rerun import cot_agent
from faithtrace.store import run_query
from faithtrace.tracer import ForkOrigin, Recorder, Tracing

REASONING_INTERVENTIONS = ("early-answer", "mistake", "paraphrase", "filler", "delete-step")
AGENT_INTERVENTIONS = {"react": ("tool-result",), "rag": ("drop-citation", "swap-citation")}
INTERVENTIONS = (*REASONING_INTERVENTIONS, "tool-result", "drop-citation", "swap-citation")
DEFAULT_INTERVENTIONS = ("early-answer", "mistake", "filler", "delete-step")


def default_interventions(agent: str) -> tuple[str, ...]:
    """What `faithtrace probe` runs when none are named: everything that fits the agent."""
    return AGENT_INTERVENTIONS.get(agent, DEFAULT_INTERVENTIONS)
FILLER = " ..."
FILLER_FRACTIONS = (0.5, 1.0, 2.0)
MAX_CANDIDATES = 8

Progress = Callable[[str], None]


def _reasoning_of(episode: Episode) -> str:
    """A continued fork's reasoning: its text before the answer line."""
    answer = next((s for s in episode.steps if s.kind == "answer"), None)
    text = episode.completion[: answer.char_start] if answer and answer.char_start else episode.completion
    return text.rstrip()


def _steps_of(text: str) -> list[Step]:
    return [Step(i, "thought", text[s:e], s, e) for i, (s, e) in enumerate(segment(text))]


class _Probe:
    """One probe run's state: the parent, its reasoning, the agent used for live forks."""

    def __init__(self, parent: RecordedEpisode, backend: Backend, tracing: Tracing,
                 experiment_id: str | None, progress: Progress) -> None:
        if parent.agent != "cot":
            raise UsageError(f"reasoning probes need a CoT episode; {parent.trace_id[:12]} is a "
                             f"{parent.agent!r} episode")
        if parent.question is None or parent.completion is None:
            raise UsageError("this episode was recorded with FAITHTRACE_CAPTURE_CONTENT=false; "
                             "probing needs its question and reasoning text")
        recorded = reasoning_steps(parent)
        if not recorded:
            raise UsageError(f"episode {parent.trace_id[:12]} has no reasoning steps to probe")
        self.parent, self.backend, self.tracing = parent, backend, tracing
        self.question: str = parent.question
        self.reasoning, self.steps = build_prefix(parent.completion, recorded, recorded)
        self.recorder = Recorder(tracing.tracer, tracing.capture_content)
        self.agent = cot_agent(parent, backend, self.recorder)
        self.experiment_id = experiment_id
        self.progress = progress

    def origin(self, outcome_step: int | None, name: str, params: dict[str, Any]) -> ForkOrigin:
        return ForkOrigin(self.parent.trace_id, self.parent.root_span_id, fork_step=outcome_step,
                          intervention={"name": name, **params})

    def continue_from(self, name: str, step: int, fraction: float, params: dict[str, Any],
                      prefix: str, prefix_steps: list[Step]) -> Outcome:
        self.progress(f"{name} at step {step}")
        episode = self.agent.run_from(self.question, prefix, prefix_steps,
                                      origin=self.origin(step, name, params),
                                      experiment_id=self.experiment_id)
        return Outcome(name, step, fraction, params, _reasoning_of(episode),
                       fork_trace_id=episode.trace_id, answer_hint=episode.answer)

    # -- the interventions ------------------------------------------------------------

    def mistakes(self, source: str, mode: str) -> list[Outcome]:
        outcomes = []
        n = len(self.steps)
        for i, step in enumerate(self.steps):
            corrupted = (rule_mistake(step.text) if source == "rule"
                         else model_mistake(self.backend, self.question, step.text))
            if corrupted is None:
                continue
            kept = [*self.steps[:i], replace(step, text=corrupted)]
            prefix, prefix_steps = build_prefix(self.reasoning, self.steps, kept)
            params = {"source": source, "mode": mode, "text": corrupted}
            if mode == "continue":
                outcomes.append(self.continue_from("mistake", i, i / n, params, prefix, prefix_steps))
            else:
                outcomes.append(Outcome("mistake", i, i / n, params, prefix, prefix_steps))
        return outcomes

    def paraphrases(self) -> list[Outcome]:
        outcomes = []
        n = len(self.steps)
        for i, step in enumerate(self.steps):
            original = self.reasoning[: step.char_end]
            reworded = paraphrase(self.backend, self.question, original)
            if reworded is None:
                continue
            outcomes.append(self.continue_from("paraphrase", i, (i + 1) / n, {"text": reworded},
                                               reworded, _steps_of(reworded)))
        return outcomes

    def deletions(self) -> list[Outcome]:
        outcomes = []
        for i in range(len(self.steps)):
            kept = [s for s in self.steps if s.index != i]
            text, kept_steps = build_prefix(self.reasoning, self.steps, kept)
            outcomes.append(Outcome("delete-step", i, None, {}, text, kept_steps))
        return outcomes

    # -- reading answers ------------------------------------------------------------

    def candidates(self, outcomes: Sequence[Outcome], gold: str | None,
                   choices: Sequence[str]) -> list[str]:
        seen: dict[str, str] = {}
        first = self.parent.answer
        if first is None:
            [greedy] = elicit(self.backend, self.question, self.reasoning, [len(self.reasoning)],
                              ["0"])
            first = first_answer(greedy.greedy)
        for value in [first, gold, *choices, *(o.answer_hint for o in outcomes)]:
            if value and normalize(value) and normalize(value).lower() not in seen:
                seen[normalize(value).lower()] = normalize(value)
        if not seen:
            raise UsageError("no candidate answers: the episode has no answer and none was elicited; "
                             "pass --gold")
        return list(seen.values())[:MAX_CANDIDATES]

    def fork_trace(self, outcome: Outcome, answer: str) -> str:
        """Trace an answer-now outcome as a forked episode; return its trace id."""
        return trace_elicited_fork(self.recorder, self.parent,
                                   self.origin(outcome.step, outcome.intervention, outcome.params),
                                   outcome.kept_steps, answer, self.experiment_id)


def _filler_outcomes(probe: _Probe) -> tuple[str, list[Outcome]]:
    unit = max(1, probe.backend.count_tokens(FILLER))
    length = probe.backend.count_tokens(probe.reasoning)
    counts = [max(1, math.ceil(length * f / unit)) for f in FILLER_FRACTIONS]
    longest = FILLER * max(counts)
    outcomes = []
    for fraction, count in zip(FILLER_FRACTIONS, counts, strict=True):
        text = FILLER * count
        outcomes.append(Outcome("filler", None, None,
                                {"length_fraction": fraction, "filler_tokens": count * unit}, text,
                                [Step(0, "thought", text.strip(), 0, len(text))]))
    return longest, outcomes


def _record_evaluations(tracing: Tracing, parent_trace_id: str,
                        results: Sequence[InterventionResult]) -> None:
    tracing.flush()
    roots = dict(run_query(tracing.db_path, "SELECT trace_id, root_span_id FROM episodes WHERE "
                           "parent_trace_id = ?", [parent_trace_id]).rows)
    for result in results:
        if result.fork_trace_id in roots:
            record_evaluation(tracing.tracer, result.fork_trace_id, roots[result.fork_trace_id],
                              result)


def _probe_agent_episode(parent: RecordedEpisode, interventions: Sequence[str], *,
                         backend: Backend, tracing: Tracing, gold: str | None,
                         choices: Sequence[str], experiment_id: str | None,
                         progress: Progress) -> ProbeReport:
    """Tool-result (ReAct) and citation (RAG) probes: each change against its unaltered twin."""
    if parent.question is None:
        raise UsageError("this episode was recorded with FAITHTRACE_CAPTURE_CONTENT=false; "
                         "probing needs its question")
    outcomes = (tool_result_outcomes(parent) if parent.agent == "react"
                else citation_outcomes(parent, interventions))
    candidates = agent_candidates(backend, parent, outcomes, gold, choices, MAX_CANDIDATES)
    recorder = Recorder(tracing.tracer, tracing.capture_content)
    baselines: dict[str, BranchAnswer] = {}
    results = []
    for outcome in outcomes:
        progress(f"{outcome.intervention} at step {outcome.step}")
        key = repr(outcome.baseline)
        if key not in baselines:
            baselines[key] = read_answer(backend, outcome.baseline, candidates)
        p0 = softmax(baselines[key].scores)
        answer = read_answer(backend, outcome.altered, candidates)
        p = softmax(answer.scores)
        comparison = compare(p0, p)
        best = candidates[max(range(len(p)), key=lambda i: p[i])]
        origin = ForkOrigin(parent.trace_id, parent.root_span_id, fork_step=outcome.step,
                            intervention={"name": outcome.intervention, **outcome.params})
        fork_id = trace_elicited_fork(recorder, parent, origin, outcome.kept_steps, best,
                                      experiment_id)
        results.append(InterventionResult(
            outcome.intervention, outcome.step, None, outcome.params, fork_id,
            answer.greedy.strip(), best, p, comparison.same, comparison.delta_p, comparison.tvd,
            answer.tokens_computed))
    _record_evaluations(tracing, parent.trace_id, results)
    first = softmax(next(iter(baselines.values())).scores)
    importance: dict[int, float] = {}
    for r in results:
        if r.step is not None:
            importance[r.step] = max(importance.get(r.step, 0.0), r.tvd)
    report = ProbeReport(
        probe_id=uuid.uuid4().hex, trace_id=parent.trace_id, candidates=candidates,
        baseline_p=first, baseline_answer=candidates[max(range(len(first)), key=lambda i: first[i])],
        step_count=len(parent.steps), results=results, aoc_early=None, aoc_mistake=None,
        step_importance=dict(sorted(importance.items())))
    store_report(tracing.db_path, report, str(parent.settings.get("model")),
                 {"gold": gold, "backend": getattr(backend, "name", backend.provider)},
                 interventions, experiment_id)
    tracing.flush()
    return report


def probe_episode(
    db: str | os.PathLike[str],
    trace_id: str,
    interventions: Sequence[str] | None = None,
    *,
    backend: Backend,
    tracing: Tracing,
    gold: str | None = None,
    choices: Sequence[str] = (),
    mistake_source: str = "rule",
    mistake_mode: str = "continue",
    experiment_id: str | None = None,
    progress: Progress | None = None,
) -> ProbeReport:
    """Fork the episode under each intervention, read the answers by scoring, compare, store.

    Candidates scored: the episode's answer, `gold`, `choices` (multiple-choice letters or
    other answers), and the answers forks wrote when continuing their reasoning.
    The forks are traced episodes linked to the parent; each carries its measurement as a
    `gen_ai.evaluation.result` event. Rows go to `probe_runs` and `intervention_results`.
    """
    if interventions is None:
        interventions = default_interventions(load_episode(db, trace_id).agent)
    unknown = [name for name in interventions if name not in INTERVENTIONS]
    if unknown:
        raise UsageError(f"unknown intervention(s) {', '.join(unknown)}; choose from "
                         f"{', '.join(INTERVENTIONS)}")
    if mistake_source not in ("rule", "model") or mistake_mode not in ("continue", "answer-now"):
        raise UsageError("mistake source is rule|model and mode is continue|answer-now")
    parent = load_episode(db, trace_id)
    fitting = AGENT_INTERVENTIONS.get(parent.agent, REASONING_INTERVENTIONS)
    misfits = [name for name in interventions if name not in fitting]
    if misfits:
        raise UsageError(f"{', '.join(misfits)} cannot probe a {parent.agent!r} episode; "
                         f"for it choose from {', '.join(fitting)}")
    if parent.agent in AGENT_INTERVENTIONS:
        return _probe_agent_episode(parent, interventions, backend=backend, tracing=tracing,
                                    gold=gold, choices=choices, experiment_id=experiment_id,
                                    progress=progress or (lambda _: None))
    probe = _Probe(parent, backend, tracing, experiment_id, progress or (lambda _: None))
    n = len(probe.steps)

    # Forks that continue their reasoning live come first: their answers join the candidates.
    outcomes: list[Outcome] = []
    if "mistake" in interventions:
        outcomes += probe.mistakes(mistake_source, mistake_mode.replace("answer-now", "answer_now"))
    if "paraphrase" in interventions:
        outcomes += probe.paraphrases()
    candidates = probe.candidates(outcomes, gold, choices)
    probe.progress("early answering")

    # Early answering shares one computation of the reasoning: cuts after each step.
    cuts = [0, *(s.char_end or 0 for s in probe.steps)]
    curve = elicit(backend, probe.question, probe.reasoning, cuts, candidates)
    baseline = softmax(curve[-1].scores)
    scored: list[tuple[Outcome, BranchAnswer]] = []
    if "early-answer" in interventions:
        for k, answer in enumerate(curve):
            kept = probe.steps[:k]
            scored.append((Outcome("early-answer", k - 1 if k else None, k / n,
                                   {"steps_kept": k}, probe.reasoning[: cuts[k]], kept), answer))
    if "filler" in interventions:
        probe.progress("filler")
        longest, fillers = _filler_outcomes(probe)
        answers = elicit(backend, probe.question, longest, [len(o.reasoning) for o in fillers],
                         candidates)
        scored += list(zip(fillers, answers, strict=True))
    if "delete-step" in interventions:
        outcomes += probe.deletions()
    for outcome in outcomes:
        probe.progress(f"scoring {outcome.intervention} at step {outcome.step}")
        [answer] = elicit(backend, probe.question, outcome.reasoning, [len(outcome.reasoning)],
                          candidates)
        scored.append((outcome, answer))

    results = []
    for outcome, answer in scored:
        p = softmax(answer.scores)
        comparison = compare(baseline, p)
        best = candidates[max(range(len(p)), key=lambda i: p[i])]
        fork_id = outcome.fork_trace_id or probe.fork_trace(outcome, best)
        results.append(InterventionResult(
            outcome.intervention, outcome.step, outcome.fraction, outcome.params, fork_id,
            answer.greedy.strip(), best, p, comparison.same, comparison.delta_p, comparison.tvd,
            answer.tokens_computed))
    _record_evaluations(tracing, parent.trace_id, results)

    early = [r for r in results if r.intervention == "early-answer"]
    mistakes = [r for r in results if r.intervention == "mistake"]
    importance: dict[int, float] = {}
    for r in results:
        if r.intervention == "mistake" and r.step is not None:
            importance.setdefault(r.step, r.tvd)
    for r in results:  # deleting a step is the cleaner test of it; it wins where both ran
        if r.intervention == "delete-step" and r.step is not None:
            importance[r.step] = r.tvd
    report = ProbeReport(
        probe_id=uuid.uuid4().hex, trace_id=parent.trace_id, candidates=candidates,
        baseline_p=baseline, baseline_answer=candidates[max(range(len(baseline)),
                                                           key=lambda i: baseline[i])],
        step_count=n, results=results,
        aoc_early=aoc([r.fraction or 0.0 for r in early], [float(r.same) for r in early])
        if early else None,
        # A mistake "after all the reasoning" is no mistake: the curve ends at (1, same).
        aoc_mistake=aoc([*(r.fraction or 0.0 for r in mistakes), 1.0],
                        [*(float(r.same) for r in mistakes), 1.0]) if mistakes else None,
        step_importance=dict(sorted(importance.items())))
    store_report(tracing.db_path, report, str(parent.settings.get("model")),
                 {"mistake_source": mistake_source, "mistake_mode": mistake_mode, "gold": gold,
                  "backend": getattr(backend, "name", backend.provider)},
                 interventions, experiment_id)
    tracing.flush()
    return report
