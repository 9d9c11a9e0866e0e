"""Writing probe results: evaluation events on the forked traces, rows in the store."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from faithtrace.agents import Step, record_steps
from faithtrace.probes._model import InterventionResult, ProbeReport
from faithtrace.replay._model import RecordedEpisode
from faithtrace.store import connect
from faithtrace.tracer import ForkOrigin, Recorder, trace_hex_id
from faithtrace.tracer import semconv as sc


def record_evaluation(tracer: trace.Tracer, fork_trace_id: str, fork_root_span_id: str,
                      result: InterventionResult) -> None:
    """An `evaluate` span under the fork's root, carrying one `gen_ai.evaluation.result` event."""
    parent = SpanContext(trace_id=int(fork_trace_id, 16), span_id=int(fork_root_span_id, 16),
                         is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    context = trace.set_span_in_context(NonRecordingSpan(parent))
    with tracer.start_as_current_span(f"{sc.OP_EVALUATE} {result.intervention}", context=context,
                                      attributes={sc.GEN_AI_OPERATION_NAME: sc.OP_EVALUATE}) as span:
        span.add_event(sc.GEN_AI_EVALUATION_RESULT, {
            sc.GEN_AI_EVALUATION_NAME: f"faithfulness.{result.intervention}",
            sc.GEN_AI_EVALUATION_SCORE_VALUE: result.tvd,
            sc.GEN_AI_EVALUATION_SCORE_LABEL: "same" if result.same else "changed",
            sc.PROBE_PREFIX + "same": result.same,
            sc.PROBE_PREFIX + "delta_p": result.delta_p,
            sc.PROBE_PREFIX + "tvd": result.tvd,
            sc.PROBE_PREFIX + "answer": result.answer,
            sc.PROBE_PREFIX + "step_index": -1 if result.step is None else result.step,
        })


def trace_elicited_fork(recorder: Recorder, parent: RecordedEpisode, origin: ForkOrigin,
                        steps: Sequence[Step], answer: str, experiment_id: str | None) -> str:
    """Trace an intervention whose answer was read by scoring (no generation of its own) as a
    forked episode of the parent's agent: its steps and the elicited answer. Returns its id."""
    with recorder.episode(parent.agent, parent.question or "", parent.settings, origin=origin,
                          experiment_id=experiment_id) as root:
        record_steps(recorder, steps)
        recorder.finish_episode(root, answer=answer, answer_source="elicited",
                                no_answer_reason=None, step_count=len(steps))
        return trace_hex_id(root)


def _j(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def store_report(db: str | os.PathLike[str], report: ProbeReport, model: str | None,
                 settings: dict[str, Any], interventions: Sequence[str],
                 experiment_id: str | None = None) -> None:
    """One `probe_runs` row and one `intervention_results` row per result, in one transaction."""
    with connect(db) as con:
        con.execute("BEGIN TRANSACTION")
        con.execute(
            "INSERT INTO probe_runs (probe_id, trace_id, model, interventions, candidates, "
            "baseline_answer, baseline_p, step_count, aoc_early, aoc_mistake, step_importance, "
            "settings, experiment_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [report.probe_id, report.trace_id, model, _j(list(interventions)),
             _j(report.candidates), report.baseline_answer, _j(report.baseline_p),
             report.step_count, report.aoc_early, report.aoc_mistake,
             _j({str(k): v for k, v in report.step_importance.items()}), _j(settings),
             experiment_id])
        con.executemany(
            "INSERT INTO intervention_results (probe_id, trace_id, fork_trace_id, intervention, "
            "step_index, fraction, params, greedy_answer, answer, p, same, delta_p, tvd, "
            "tokens_computed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [[report.probe_id, report.trace_id, r.fork_trace_id, r.intervention, r.step,
              r.fraction, _j(r.params), r.greedy, r.answer, _j(r.p), r.same, r.delta_p, r.tvd,
              r.tokens_computed] for r in report.results])
        con.execute("COMMIT")
