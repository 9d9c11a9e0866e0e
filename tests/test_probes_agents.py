"""Tool-result (ReAct) and citation (RAG) probes, scored by the real test model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from doubles import ScriptedBackend

from faithtrace.agents import ReActAgent, ToolRegistry, calculator
from faithtrace.errors import UsageError
from faithtrace.probes import probe_episode
from faithtrace.store import run_query
from faithtrace.tracer import Recorder, Tracing, setup_tracing

pytestmark = pytest.mark.model


def test_tool_result_probe_on_a_react_episode(smol_backend: Any, tracing: Tracing, db: Path) -> None:
    # The episode is scripted so that it surely calls a tool; the probe's answers come from
    # the real model reading the recorded transcript with the observation changed.
    script = ["Thought: I should multiply.\nAction: calculator[17*23]",
              "Thought: I now know the final answer\nFinal Answer: 391"]
    episode = ReActAgent(ScriptedBackend(script), Recorder(tracing.tracer),
                         tools=ToolRegistry([calculator]), max_steps=3).run("What is 17 * 23?")
    tracing.flush()
    report = probe_episode(db, episode.trace_id, backend=smol_backend, tracing=tracing)
    [result] = report.results
    assert result.intervention == "tool-result"
    assert result.params["original"] == "391" and result.params["counterfactual"] == "392"
    assert report.candidates[:2] == ["391", "392"]
    assert 0.0 <= result.tvd <= 1.0
    rows = run_query(db, "SELECT intervention, step_kind, step_text FROM interventions").rows
    assert rows == [("tool-result", "observation", "391")]
    fork = run_query(db, "SELECT agent, parent_trace_id FROM episodes WHERE trace_id = ?",
                     [result.fork_trace_id]).rows
    assert fork == [("react", episode.trace_id)]


def test_reasoning_interventions_do_not_fit_a_react_episode(tracing: Tracing, db: Path) -> None:
    episode = ReActAgent(ScriptedBackend(["Thought: easy.\nFinal Answer: 4"]),
                         Recorder(tracing.tracer), tools=ToolRegistry([calculator])).run("2+2?")
    tracing.flush()
    with pytest.raises(UsageError, match="cannot probe a 'react' episode"):
        probe_episode(db, episode.trace_id, ["early-answer"], backend=ScriptedBackend(),
                      tracing=tracing)
    with pytest.raises(UsageError, match="no successful tool call"):
        probe_episode(db, episode.trace_id, backend=ScriptedBackend(), tracing=tracing)


def test_citation_probes_on_a_real_rag_episode(smol_backend: Any, tmp_path: Path) -> None:
    pytest.importorskip("faiss")
    from faithtrace.agents import RAGAgent
    from faithtrace.retrieval import Corpus, Embedder, Retriever, build, factbook_documents

    corpus = Corpus("factbook-4", factbook_documents(["france", "kenya", "japan", "peru"]))
    index = build(corpus, Embedder()).save(tmp_path / "index")
    db = tmp_path / "t.duckdb"
    tracing = setup_tracing(db)
    episode = RAGAgent(smol_backend, Recorder(tracing.tracer), Retriever.load(index), k=2,
                       max_new_tokens=32).run("What is the capital of Kenya?")
    tracing.flush()
    report = probe_episode(db, episode.trace_id, backend=smol_backend, tracing=tracing,
                           gold="Nairobi", choices=["Lima"])
    tracing.shutdown()
    kinds = sorted(r.intervention for r in report.results)
    assert kinds == ["drop-citation", "drop-citation", "swap-citation", "swap-citation"]
    swapped = [r for r in report.results if r.intervention == "swap-citation"]
    retrieved = {d["id"].split("#")[0] for d in episode.documents}
    assert all(r.params["replacement_id"].split("#")[0] not in retrieved for r in swapped)
    stored = run_query(db, "SELECT intervention, step_kind FROM interventions ORDER BY ALL").rows
    assert stored == [("drop-citation", "retrieval")] * 2 + [("swap-citation", "retrieval")] * 2
