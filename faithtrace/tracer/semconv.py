"""Every span and attribute name faithtrace writes, in one place.

GenAI names follow the OpenTelemetry GenAI semantic conventions; names under
`faithtrace.` are ours, for what those conventions do not cover (reasoning steps,
episodes, forks and interventions).
"""

from __future__ import annotations

# --- GenAI semantic conventions -------------------------------------------------------

GEN_AI_OPERATION_NAME = "gen_ai.operation.name"
"""What the span does: `invoke_agent`, `chat`, `execute_tool`, `retrieval`."""
GEN_AI_PROVIDER_NAME = "gen_ai.provider.name"
"""The backend that served a model call (`faithtrace.hf`, `vllm`)."""
GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
"""The model name as requested (a registry name, a directory or a GGUF path)."""
GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
"""The model that answered, as the backend reports it."""
GEN_AI_REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
"""Generation budget in new tokens."""
GEN_AI_REQUEST_TEMPERATURE = "gen_ai.request.temperature"
"""Sampling temperature; 0 means greedy."""
GEN_AI_REQUEST_SEED = "gen_ai.request.seed"
"""Sampling seed, recorded so a run can be rebuilt."""
GEN_AI_REQUEST_STOP_SEQUENCES = "gen_ai.request.stop_sequences"
"""Strings that end generation."""
GEN_AI_RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
"""Why each generation stopped: `stop` or `length`."""
GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
"""Prompt tokens of a model call."""
GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
"""Generated tokens of a model call."""
GEN_AI_INPUT_MESSAGES = "gen_ai.input.messages"
"""The chat messages sent to the model, as JSON (content capture only)."""
GEN_AI_OUTPUT_MESSAGES = "gen_ai.output.messages"
"""The model's reply messages, as JSON (content capture only)."""
GEN_AI_AGENT_NAME = "gen_ai.agent.name"
"""The agent kind of an episode: `cot`, `react`, `rag`."""
GEN_AI_CONVERSATION_ID = "gen_ai.conversation.id"
"""The episode id (also the trace id of its root span)."""
GEN_AI_TOOL_NAME = "gen_ai.tool.name"
"""Name of the tool an `execute_tool` span ran."""
GEN_AI_TOOL_CALL_ID = "gen_ai.tool.call.id"
"""Id of one tool call, unique within its episode."""
GEN_AI_TOOL_CALL_ARGUMENTS = "gen_ai.tool.call.arguments"
"""The tool's arguments as JSON."""
GEN_AI_TOOL_CALL_RESULT = "gen_ai.tool.call.result"
"""The tool's result (or error text) as the model saw it."""
GEN_AI_RETRIEVAL_QUERY_TEXT = "gen_ai.retrieval.query.text"
"""The query sent to a retriever."""
GEN_AI_RETRIEVAL_DOCUMENTS = "gen_ai.retrieval.documents"
"""Retrieved documents as JSON: a list of {id, score}."""
GEN_AI_DATA_SOURCE_ID = "gen_ai.data_source.id"
"""The index a retrieval searched."""
GEN_AI_EVALUATION_RESULT = "gen_ai.evaluation.result"
"""Event name for a probe's measurement on a forked episode."""
GEN_AI_EVALUATION_NAME = "gen_ai.evaluation.name"
"""What was evaluated: `faithfulness.{intervention}`."""
GEN_AI_EVALUATION_SCORE_VALUE = "gen_ai.evaluation.score.value"
"""The evaluation's number: for a probe, the TVD between baseline and intervened answers."""
GEN_AI_EVALUATION_SCORE_LABEL = "gen_ai.evaluation.score.label"
"""`same` or `changed`: whether the intervened answer equals the baseline answer."""
ERROR_TYPE = "error.type"
"""Class of the error that ended a span (an exception name or a short code)."""

# Operation names (values of gen_ai.operation.name).
OP_INVOKE_AGENT = "invoke_agent"
OP_CHAT = "chat"
OP_EXECUTE_TOOL = "execute_tool"
OP_RETRIEVAL = "retrieval"
OP_EVALUATE = "evaluate"
"""Ours: the span that carries a probe's `gen_ai.evaluation.result` event on a forked episode."""
OP_STEP = "reasoning_step"
"""Ours: a reasoning step is not a GenAI operation, but naming it keeps queries uniform."""

# --- faithtrace names -----------------------------------------------------------------

EPISODE_QUESTION = "faithtrace.episode.question"
"""The question the episode answers."""
EPISODE_ANSWER = "faithtrace.episode.answer"
"""The parsed final answer; absent when the model never gave one."""
EPISODE_ANSWER_SOURCE = "faithtrace.episode.answer_source"
"""How the answer was found (`answer_line`, `boxed`, `last_number`...)."""
EPISODE_NO_ANSWER_REASON = "faithtrace.episode.no_answer_reason"
"""Why there is no answer (`max_tokens`, `no_answer_found`, `max_iterations`...)."""
EPISODE_SETTINGS = "faithtrace.episode.settings"
"""Everything needed to rebuild the run (model, backend, sampling, tools), as JSON."""
EPISODE_STEP_COUNT = "faithtrace.episode.step_count"
"""How many reasoning steps the episode recorded."""
EPISODE_EXPERIMENT_ID = "faithtrace.experiment.id"
"""The experiment an episode belongs to, if any."""

STEP_INDEX = "faithtrace.step.index"
"""Position of the step in its episode, from 0."""
STEP_KIND = "faithtrace.step.kind"
"""`thought`, `action`, `observation`, `retrieval` or `answer`."""
STEP_TEXT = "faithtrace.step.text"
"""The step's text (content capture only)."""
STEP_CHAR_START = "faithtrace.step.char_start"
"""Start offset of the step in the completion it came from."""
STEP_CHAR_END = "faithtrace.step.char_end"
"""End offset (exclusive) of the step in its completion."""
STEP_TOKEN_START = "faithtrace.step.token_start"
"""First completion token of the step."""
STEP_TOKEN_END = "faithtrace.step.token_end"
"""One past the last completion token of the step."""
STEP_SOURCE_SPAN_ID = "faithtrace.step.source_span_id"
"""Span id (hex) of the model call or tool call the step's text came from."""

TOOL_STEP_INDEX = "faithtrace.tool.step_index"
"""On an `execute_tool` span: index of the action step that asked for the call."""
RETRIEVAL_DOCUMENTS_FULL = "faithtrace.retrieval.documents"
"""Retrieved documents with rank, title and text, as JSON (content capture only)."""
RETRIEVAL_K = "faithtrace.retrieval.k"
"""How many documents the retriever was asked for."""
EPISODE_CITATIONS = "faithtrace.episode.citations"
"""Source numbers ([n]) the answer cited, as a JSON list of integers."""

PARENT_TRACE_ID = "faithtrace.parent.trace_id"
"""On a forked episode: the trace it was forked from."""
FORK_STEP = "faithtrace.fork.step"
"""On a forked episode: the step index where the parent was changed."""
INTERVENTION_PREFIX = "faithtrace.intervention."
"""Prefix of an intervention's name and parameters on a forked episode."""
BACKEND_VERSION = "faithtrace.backend.version"
"""Engine version of the backend (transformers or vLLM version)."""

PROBE_PREFIX = "faithtrace.probe."
"""Prefix of a probe measurement's attributes on its evaluation event (same, delta_p, tvd...)."""

SCHEMA_VERSION = "faithtrace.schema_version"
"""Resource attribute: the trace format version the writer used."""
TRACE_FORMAT_VERSION = 1

# Promoted to typed columns of the `spans` table (attribute name -> column name).
PROMOTED_STRING = {
    GEN_AI_OPERATION_NAME: "operation_name",
    GEN_AI_PROVIDER_NAME: "provider_name",
    GEN_AI_REQUEST_MODEL: "request_model",
    GEN_AI_AGENT_NAME: "agent_name",
    GEN_AI_TOOL_NAME: "tool_name",
    GEN_AI_TOOL_CALL_ID: "tool_call_id",
    STEP_KIND: "step_kind",
    ERROR_TYPE: "error_type",
}
PROMOTED_INT = {
    GEN_AI_USAGE_INPUT_TOKENS: "input_tokens",
    GEN_AI_USAGE_OUTPUT_TOKENS: "output_tokens",
    STEP_INDEX: "step_index",
}
