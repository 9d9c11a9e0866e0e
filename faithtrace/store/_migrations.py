"""Numbered, append-only schema migrations, recorded in the database.

Every write connection runs `migrate`. A migration, once released, is never edited:
change the schema by appending a new function to `MIGRATIONS`.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from faithtrace.errors import StoreError

Migration = Callable[[duckdb.DuckDBPyConnection], None]

MIGRATIONS_TABLE = "_faithtrace_migrations"


def m001_spans(con: duckdb.DuckDBPyConnection) -> None:
    """OTel spans: core columns, hot gen_ai fields as typed columns, the rest as JSON."""
    con.execute(
        """
        CREATE TABLE spans (
            trace_id        VARCHAR NOT NULL,  -- 32 hex digits
            span_id         VARCHAR NOT NULL,  -- 16 hex digits
            parent_span_id  VARCHAR,           -- NULL on a root span
            name            VARCHAR NOT NULL,
            kind            VARCHAR,
            start_time      TIMESTAMP NOT NULL,
            end_time        TIMESTAMP NOT NULL,
            duration_ms     DOUBLE,
            status_code     VARCHAR,           -- UNSET, OK or ERROR
            status_message  VARCHAR,
            service_name    VARCHAR,
            scope_name      VARCHAR,
            operation_name  VARCHAR,           -- gen_ai.operation.name
            provider_name   VARCHAR,           -- gen_ai.provider.name
            request_model   VARCHAR,           -- gen_ai.request.model
            agent_name      VARCHAR,           -- gen_ai.agent.name
            tool_name       VARCHAR,           -- gen_ai.tool.name
            tool_call_id    VARCHAR,           -- gen_ai.tool.call.id
            step_kind       VARCHAR,           -- faithtrace.step.kind
            error_type      VARCHAR,           -- error.type
            input_tokens    BIGINT,            -- gen_ai.usage.input_tokens
            output_tokens   BIGINT,            -- gen_ai.usage.output_tokens
            step_index      BIGINT,            -- faithtrace.step.index
            attributes      JSON,              -- every attribute, promoted ones included
            events          JSON,              -- [{name, time, attributes}]
            links           JSON,              -- [{trace_id, span_id, attributes}]
            resource        JSON
        )
        """
    )


def m002_reasoning_steps(con: duckdb.DuckDBPyConnection) -> None:
    """One typed row per reasoning step, written from the step spans by the exporter."""
    con.execute(
        """
        CREATE TABLE reasoning_steps (
            trace_id        VARCHAR NOT NULL,
            span_id         VARCHAR NOT NULL,  -- the step's own span
            step_index      BIGINT NOT NULL,
            kind            VARCHAR NOT NULL,  -- thought, action, observation, retrieval, answer
            text            VARCHAR,           -- NULL when content capture is off
            char_start      BIGINT,
            char_end        BIGINT,
            token_start     BIGINT,
            token_end       BIGINT,
            source_span_id  VARCHAR            -- the model or tool call the text came from
        )
        """
    )


def m003_views(con: duckdb.DuckDBPyConnection) -> None:
    """Views for the common questions: episodes, their steps, their model calls."""
    con.execute(
        """
        CREATE VIEW episodes AS
        SELECT
            s.trace_id,
            s.agent_name AS agent,
            s.attributes ->> '$."faithtrace.episode.question"' AS question,
            s.attributes ->> '$."faithtrace.episode.answer"' AS answer,
            s.attributes ->> '$."faithtrace.episode.answer_source"' AS answer_source,
            s.attributes ->> '$."faithtrace.episode.no_answer_reason"' AS no_answer_reason,
            s.request_model AS model,
            s.start_time,
            s.duration_ms,
            s.status_code,
            s.error_type,
            CAST(s.attributes ->> '$."faithtrace.episode.step_count"' AS BIGINT) AS step_count,
            (SELECT sum(c.input_tokens) FROM spans c
              WHERE c.trace_id = s.trace_id AND c.operation_name = 'chat') AS input_tokens,
            (SELECT sum(c.output_tokens) FROM spans c
              WHERE c.trace_id = s.trace_id AND c.operation_name = 'chat') AS output_tokens,
            s.attributes ->> '$."faithtrace.parent.trace_id"' AS parent_trace_id,
            s.attributes ->> '$."faithtrace.experiment.id"' AS experiment_id,
            s.span_id AS root_span_id
        FROM spans s
        WHERE s.operation_name = 'invoke_agent' AND s.parent_span_id IS NULL
        """
    )
    con.execute(
        """
        CREATE VIEW steps AS
        SELECT r.trace_id, r.step_index, r.kind, r.text, e.agent, e.question,
               r.char_start, r.char_end, r.token_start, r.token_end,
               r.span_id, r.source_span_id
        FROM reasoning_steps r
        LEFT JOIN episodes e USING (trace_id)
        """
    )
    con.execute(
        """
        CREATE VIEW llm_calls AS
        SELECT trace_id, span_id, parent_span_id, provider_name AS provider,
               request_model AS model, start_time, duration_ms,
               input_tokens, output_tokens,
               attributes ->> '$."gen_ai.response.finish_reasons"' AS finish_reasons,
               attributes ->> '$."gen_ai.input.messages"' AS input_messages,
               attributes ->> '$."gen_ai.output.messages"' AS output_messages,
               status_code, error_type
        FROM spans
        WHERE operation_name = 'chat'
        """
    )


def m004_tool_calls(con: duckdb.DuckDBPyConnection) -> None:
    """The `tool_calls` view: every tool call with its episode and the action step behind it."""
    con.execute(
        """
        CREATE VIEW tool_calls AS
        SELECT t.trace_id, t.span_id, t.tool_name, t.tool_call_id,
               CAST(t.attributes ->> '$."faithtrace.tool.step_index"' AS BIGINT) AS step_index,
               t.attributes ->> '$."gen_ai.tool.call.arguments"' AS arguments,
               t.attributes ->> '$."gen_ai.tool.call.result"' AS result,
               t.status_code, t.error_type, t.start_time, t.duration_ms,
               e.agent, e.question, r.text AS action_text
        FROM spans t
        LEFT JOIN episodes e USING (trace_id)
        LEFT JOIN reasoning_steps r
          ON r.trace_id = t.trace_id
         AND r.step_index = CAST(t.attributes ->> '$."faithtrace.tool.step_index"' AS BIGINT)
        WHERE t.operation_name = 'execute_tool'
        """
    )


def m005_retrieved_documents(con: duckdb.DuckDBPyConnection) -> None:
    """Retrieved documents (written from retrieval spans) and the `citations` view."""
    con.execute(
        """
        CREATE TABLE retrieved_documents (
            trace_id     VARCHAR NOT NULL,
            span_id      VARCHAR NOT NULL,   -- the retrieval span
            index_id     VARCHAR,            -- gen_ai.data_source.id
            query        VARCHAR,            -- NULL when content capture is off
            rank         BIGINT NOT NULL,    -- 1 = best; the [n] a RAG prompt numbers it by
            document_id  VARCHAR NOT NULL,
            title        VARCHAR,
            score        DOUBLE,
            text         VARCHAR
        )
        """
    )
    # A cited number with no retrieved document of that rank is kept, flagged retrieved = false.
    con.execute(
        """
        CREATE VIEW citations AS
        WITH cited AS (
            SELECT trace_id,
                   unnest(from_json(attributes ->> '$."faithtrace.episode.citations"',
                                    '["BIGINT"]')) AS source_number
            FROM spans
            WHERE operation_name = 'invoke_agent'
              AND (attributes ->> '$."faithtrace.episode.citations"') IS NOT NULL
        )
        SELECT c.trace_id, c.source_number, d.document_id, d.title, d.score,
               d.document_id IS NOT NULL AS retrieved
        FROM cited c
        LEFT JOIN retrieved_documents d
          ON d.trace_id = c.trace_id AND d.rank = c.source_number
        """
    )


def m006_probes(con: duckdb.DuckDBPyConnection) -> None:
    """Probe runs and their intervention results, and the `interventions` view over steps."""
    con.execute(
        """
        CREATE TABLE probe_runs (
            probe_id         VARCHAR PRIMARY KEY,
            trace_id         VARCHAR NOT NULL,   -- the probed episode
            created_at       TIMESTAMP DEFAULT now(),
            model            VARCHAR,
            interventions    JSON,               -- names asked for
            candidates       JSON,               -- the answer set scored, baseline answer first
            baseline_answer  VARCHAR,            -- a0 = argmax p0 with the full reasoning
            baseline_p       JSON,               -- p0 over the candidates
            step_count       BIGINT,             -- reasoning steps (the answer line excluded)
            aoc_early        DOUBLE,             -- area over the early-answering curve
            aoc_mistake      DOUBLE,             -- area over the adding-mistakes curve
            step_importance  JSON,               -- {step index: tvd when deleted or corrupted}
            settings         JSON,
            experiment_id    VARCHAR
        )
        """
    )
    con.execute(
        """
        CREATE TABLE intervention_results (
            probe_id         VARCHAR NOT NULL,
            trace_id         VARCHAR NOT NULL,   -- the probed (parent) episode
            fork_trace_id    VARCHAR,            -- the forked episode this result came from
            intervention     VARCHAR NOT NULL,   -- early-answer, mistake, paraphrase, filler...
            step_index       BIGINT,             -- the step changed (or kept up to); NULL if none
            fraction         DOUBLE,             -- fraction of reasoning kept / before the change
            params           JSON,
            greedy_answer    VARCHAR,            -- the short greedy reply after the prompt
            answer           VARCHAR,            -- argmax of p
            p                JSON,               -- distribution over probe_runs.candidates
            same             BOOLEAN,            -- argmax p == baseline answer
            delta_p          DOUBLE,             -- p0(a0) - p(a0)
            tvd              DOUBLE,             -- total variation distance to p0
            tokens_computed  BIGINT
        )
        """
    )
    con.execute(
        """
        CREATE VIEW interventions AS
        SELECT r.probe_id, r.trace_id, r.intervention, r.step_index, s.kind AS step_kind,
               s.text AS step_text, r.fraction, r.same, r.delta_p, r.tvd, r.answer,
               p.baseline_answer, r.greedy_answer, r.params, r.fork_trace_id, p.experiment_id
        FROM intervention_results r
        JOIN probe_runs p USING (probe_id)
        LEFT JOIN reasoning_steps s ON s.trace_id = r.trace_id AND s.step_index = r.step_index
        """
    )


def m007_experiments(con: duckdb.DuckDBPyConnection) -> None:
    """Experiments (a data set x an agent x probes) and their items, for resumable runs."""
    con.execute(
        """
        CREATE TABLE experiments (
            experiment_id  VARCHAR PRIMARY KEY,  -- on every episode and probe it ran
            name           VARCHAR NOT NULL UNIQUE,
            created_at     TIMESTAMP DEFAULT now(),
            dataset        VARCHAR NOT NULL,     -- a built-in name or a JSONL path
            agent          VARCHAR NOT NULL,     -- cot, react or rag
            model          VARCHAR,
            backend        VARCHAR,
            interventions  JSON,                 -- names asked for
            seed           BIGINT,               -- data set (and sampling) seed
            settings       JSON                  -- everything else needed to run it again
        )
        """
    )
    con.execute(
        """
        CREATE TABLE experiment_items (
            experiment_id    VARCHAR NOT NULL,
            item_index       BIGINT NOT NULL,    -- position in the data set
            item_id          VARCHAR NOT NULL,   -- stable id within the data set and seed
            question         VARCHAR NOT NULL,
            gold             VARCHAR,            -- gold answer (a letter for multiple choice)
            choices          JSON,               -- choice letters; [] for free-form answers
            status           VARCHAR NOT NULL,   -- ran (episode), answered (no CoT), done (probed)
            trace_id         VARCHAR,            -- the item's episode
            answer           VARCHAR,            -- the episode's answer (with CoT)
            correct          BOOLEAN,            -- answer matches gold
            probe_id         VARCHAR,            -- probe_runs row; NULL when not probed
            no_cot_trace_id  VARCHAR,            -- the answer-without-reasoning fork
            answer_no_cot    VARCHAR,
            correct_no_cot   BOOLEAN,
            note             VARCHAR,            -- why something was skipped
            updated_at       TIMESTAMP DEFAULT now(),
            PRIMARY KEY (experiment_id, item_id)
        )
        """
    )


MIGRATIONS: list[Migration] = [
    m001_spans,
    m002_reasoning_steps,
    m003_views,
    m004_tool_calls,
    m005_retrieved_documents,
    m006_probes,
    m007_experiments,
]


def latest_version() -> int:
    """The schema version this code writes: the number of the last migration."""
    return len(MIGRATIONS)


def applied_version(con: duckdb.DuckDBPyConnection) -> int:
    """The highest migration recorded in the database (0 for a new one)."""
    # fetchall, not fetchone: DuckDB 2 refuses new work while a result is left unfinished.
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [MIGRATIONS_TABLE]
    ).fetchall()
    if not exists[0][0]:
        return 0
    rows = con.execute(f"SELECT coalesce(max(id), 0) FROM {MIGRATIONS_TABLE}").fetchall()
    return int(rows[0][0])


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply every migration the database lacks, each in its own transaction; return the version."""
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} "
        "(id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP DEFAULT now())"
    )
    current = applied_version(con)
    if current > latest_version():
        raise StoreError(
            f"this database has schema version {current}, newer than this faithtrace "
            f"({latest_version()}); upgrade faithtrace to use it"
        )
    for number, migration in enumerate(MIGRATIONS, start=1):
        if number <= current:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            migration(con)
            con.execute(f"INSERT INTO {MIGRATIONS_TABLE} (id, name) VALUES (?, ?)",
                        [number, migration.__name__])
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
    return latest_version()
