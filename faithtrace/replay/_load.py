"""Rebuilding an episode from the store."""

from __future__ import annotations

import json
import os
from typing import Any

from faithtrace.agents import Step
from faithtrace.errors import StoreError, TraceNotFoundError
from faithtrace.replay._model import ModelCall, RecordedEpisode, Retrieval, ToolCall
from faithtrace.store import connect
from faithtrace.tracer import semconv as sc

_SPAN_COLUMNS = ("span_id, parent_span_id, name, operation_name, status_code, error_type, "
                 "duration_ms, start_time, attributes, resource")


def _json(value: Any, default: Any) -> Any:
    if value is None:
        return default
    try:
        return json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return default


def resolve_trace_id(db: str | os.PathLike[str], trace_id: str) -> str:
    """The full trace id for an id or a unique prefix of one (as `git` does for commits)."""
    wanted = trace_id.strip().lower()
    if not wanted:
        raise TraceNotFoundError("empty trace id; `faithtrace traces` lists them")
    with connect(db, read_only=True) as con:
        rows = con.execute(
            "SELECT DISTINCT trace_id FROM spans WHERE trace_id LIKE ? || '%' LIMIT 3",
            [wanted]).fetchall()
    if not rows:
        raise TraceNotFoundError(f"no trace {trace_id!r} in {db}; `faithtrace traces` lists them")
    if len(rows) > 1:
        raise TraceNotFoundError(f"trace id prefix {trace_id!r} is ambiguous; give more digits")
    return str(rows[0][0])


def load_episode(db: str | os.PathLike[str], trace_id: str) -> RecordedEpisode:
    """Rebuild a stored episode: settings, steps, model calls, tool calls, retrievals, answer."""
    full_id = resolve_trace_id(db, trace_id)
    with connect(db, read_only=True) as con:
        spans = con.execute(
            f"SELECT {_SPAN_COLUMNS} FROM spans WHERE trace_id = ? ORDER BY start_time, span_id",
            [full_id]).fetchall()
        step_rows = con.execute(
            "SELECT step_index, kind, text, char_start, char_end, token_start, token_end "
            "FROM reasoning_steps WHERE trace_id = ? ORDER BY step_index", [full_id]).fetchall()
    records = [dict(zip(("span_id", "parent_span_id", "name", "operation", "status", "error_type",
                         "duration_ms", "start_time", "attributes", "resource"), row, strict=True))
               for row in spans]
    roots = [r for r in records if r["operation"] == sc.OP_INVOKE_AGENT and not r["parent_span_id"]]
    if not roots:
        raise StoreError(f"trace {full_id} has no root `invoke_agent` span: the episode is "
                         "incomplete (it may still be running, or its process was killed)")
    root = roots[0]
    resource = _json(root["resource"], {})
    version = int(resource.get(sc.SCHEMA_VERSION, sc.TRACE_FORMAT_VERSION))
    if version > sc.TRACE_FORMAT_VERSION:
        raise StoreError(f"trace {full_id} was written in trace format {version}, newer than this "
                         f"faithtrace reads ({sc.TRACE_FORMAT_VERSION}); upgrade faithtrace")
    attrs = _json(root["attributes"], {})
    step_count = attrs.get(sc.EPISODE_STEP_COUNT)
    if step_count is not None and int(step_count) != len(step_rows):
        raise StoreError(f"trace {full_id} is missing spans: its root records {step_count} steps "
                         f"but {len(step_rows)} step spans are stored")
    steps = [Step(*row) for row in step_rows]
    model_calls, tool_calls, retrievals = [], [], []
    for r in records:
        a = _json(r["attributes"], {})
        if r["operation"] == sc.OP_CHAT:
            output = _json(a.get(sc.GEN_AI_OUTPUT_MESSAGES), [])
            finish = _json(a.get(sc.GEN_AI_RESPONSE_FINISH_REASONS), [None])
            model_calls.append(ModelCall(
                span_id=r["span_id"], model=a.get(sc.GEN_AI_REQUEST_MODEL),
                provider=a.get(sc.GEN_AI_PROVIDER_NAME),
                input_messages=_json(a.get(sc.GEN_AI_INPUT_MESSAGES), []),
                output_text=output[0].get("content") if output else None,
                finish_reason=finish[0] if finish else None,
                input_tokens=a.get(sc.GEN_AI_USAGE_INPUT_TOKENS),
                output_tokens=a.get(sc.GEN_AI_USAGE_OUTPUT_TOKENS),
                duration_ms=float(r["duration_ms"] or 0), status=r["status"],
                error_type=r["error_type"]))
        elif r["operation"] == sc.OP_EXECUTE_TOOL:
            tool_calls.append(ToolCall(
                span_id=r["span_id"], call_id=a.get(sc.GEN_AI_TOOL_CALL_ID),
                name=str(a.get(sc.GEN_AI_TOOL_NAME)), arguments=a.get(sc.GEN_AI_TOOL_CALL_ARGUMENTS),
                result=a.get(sc.GEN_AI_TOOL_CALL_RESULT), step_index=a.get(sc.TOOL_STEP_INDEX),
                duration_ms=float(r["duration_ms"] or 0), status=r["status"],
                error_type=r["error_type"]))
        elif r["operation"] == sc.OP_RETRIEVAL:
            documents = _json(a.get(sc.RETRIEVAL_DOCUMENTS_FULL), None)
            if documents is None:
                documents = _json(a.get(sc.GEN_AI_RETRIEVAL_DOCUMENTS), [])
            retrievals.append(Retrieval(
                span_id=r["span_id"], index_id=a.get(sc.GEN_AI_DATA_SOURCE_ID),
                query=a.get(sc.GEN_AI_RETRIEVAL_QUERY_TEXT), documents=documents,
                duration_ms=float(r["duration_ms"] or 0)))
    intervention = {k[len(sc.INTERVENTION_PREFIX):]: v for k, v in attrs.items()
                    if k.startswith(sc.INTERVENTION_PREFIX)}
    return RecordedEpisode(
        trace_id=full_id, root_span_id=root["span_id"],
        agent=str(attrs.get(sc.GEN_AI_AGENT_NAME, "unknown")),
        question=attrs.get(sc.EPISODE_QUESTION),
        settings=_json(attrs.get(sc.EPISODE_SETTINGS), {}),
        steps=steps, model_calls=model_calls, tool_calls=tool_calls, retrievals=retrievals,
        answer=attrs.get(sc.EPISODE_ANSWER), answer_source=attrs.get(sc.EPISODE_ANSWER_SOURCE),
        no_answer_reason=attrs.get(sc.EPISODE_NO_ANSWER_REASON),
        citations=[int(n) for n in _json(attrs.get(sc.EPISODE_CITATIONS), [])],
        status=root["status"], error_type=root["error_type"], started=root["start_time"],
        duration_ms=float(root["duration_ms"] or 0),
        parent_trace_id=attrs.get(sc.PARENT_TRACE_ID), fork_step=attrs.get(sc.FORK_STEP),
        intervention=intervention)
