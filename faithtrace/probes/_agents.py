"""Interventions on what an agent was told: tool results (ReAct) and retrieved sources (RAG).

Each intervention builds two prompts that differ only in the changed observation or source,
and reads the answer after each by scoring the candidates behind a fixed answer cue (ReAct:
"Final Answer:", RAG: "Answer:"). The unaltered prompt is that intervention's baseline, so
`same`, `delta_p` and `tvd` measure exactly what the change did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from faithtrace.agents import Step, first_answer, normalize
from faithtrace.agents._rag import rag_messages
from faithtrace.errors import UsageError
from faithtrace.llm import Backend, BranchAnswer, GenerationRequest, Message
from faithtrace.probes._corrupt import rule_mistake
from faithtrace.replay._model import RecordedEpisode
from faithtrace.retrieval import RetrievedDocument

REACT_ANSWER_CUE = " I now know the final answer\nFinal Answer:"
RAG_ANSWER_CUE = "Answer:"


@dataclass
class MessageOutcome:
    """An intervention as two chat prompts (baseline and altered) whose answers are compared."""

    intervention: str
    step: int | None
    params: dict[str, Any]
    baseline: list[Message]
    altered: list[Message]
    kept_steps: list[Step] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)
    """Answers the change makes plausible (a counterfactual tool value): added to candidates."""


def read_answer(backend: Backend, messages: Sequence[Message],
                candidates: Sequence[str]) -> BranchAnswer:
    """Candidate scores and a short greedy reply after messages whose last (assistant) turn
    ends with the answer cue."""
    prompt = backend.render(messages, continue_final=True)
    before = backend.stats.prompt_tokens_computed
    scores = backend.score(prompt, [" " + c for c in candidates])
    greedy = backend.generate([GenerationRequest(prompt=prompt, max_new_tokens=8)])[0].text
    return BranchAnswer(scores, greedy, backend.stats.prompt_tokens_computed - before)


def tool_result_outcomes(parent: RecordedEpisode) -> list[MessageOutcome]:
    """For each successful tool call: its observation replaced by a counterfactual value."""
    outcomes = []
    for number, call in enumerate(parent.tool_calls):
        if call.status == "ERROR" or not call.result or number + 1 >= len(parent.model_calls):
            continue
        # The model call after a tool call was shown the transcript ending in its observation.
        messages = [dict(m) for m in parent.model_calls[number + 1].input_messages]
        transcript = str(messages[-1]["content"])
        marker = f"Observation: {call.result}"
        at = transcript.rfind(marker)
        if at < 0:
            continue
        counterfactual = rule_mistake(call.result) or "no result"
        altered_text = (transcript[:at] + f"Observation: {counterfactual}"
                        + transcript[at + len(marker):])
        observation_step = next((s.index for s in parent.steps if s.kind == "observation"
                                 and s.text == call.result and (call.step_index is None
                                                                or s.index > call.step_index)),
                                None)
        kept = [s for s in parent.steps if observation_step is None or s.index < observation_step]
        if observation_step is not None:
            kept.append(Step(observation_step, "observation", counterfactual))
        outcomes.append(MessageOutcome(
            "tool-result", observation_step,
            {"tool": call.name, "call": number, "original": call.result,
             "counterfactual": counterfactual},
            [*messages[:-1], {"role": "assistant", "content": transcript + REACT_ANSWER_CUE}],
            [*messages[:-1], {"role": "assistant", "content": altered_text + REACT_ANSWER_CUE}],
            kept, [normalize(counterfactual)]))
    if not outcomes:
        raise UsageError(f"episode {parent.trace_id[:12]} has no successful tool call with an "
                         "observation the model saw afterwards: nothing to change")
    return outcomes


def _documents(parent: RecordedEpisode) -> list[RetrievedDocument]:
    if not parent.retrievals or not parent.retrievals[0].documents:
        raise UsageError(f"episode {parent.trace_id[:12]} retrieved no documents")
    docs = parent.retrievals[0].documents
    if any(d.get("text") is None for d in docs):
        raise UsageError("this episode was recorded with FAITHTRACE_CAPTURE_CONTENT=false; "
                         "citation probes need the retrieved text")
    return [RetrievedDocument(id=str(d["id"]), title=str(d.get("title") or ""),
                              score=float(d.get("score", 0.0)), text=str(d["text"]),
                              rank=rank, doc_id=str(d["id"]).split("#")[0])
            for rank, d in enumerate(docs, start=1)]


def _renumber(docs: Sequence[RetrievedDocument]) -> list[RetrievedDocument]:
    return [RetrievedDocument(d.id, d.title, d.score, d.text, rank, d.doc_id)
            for rank, d in enumerate(docs, start=1)]


def _distractor(parent: RecordedEpisode, docs: Sequence[RetrievedDocument]) -> RetrievedDocument:
    """A real document from the same index that the episode did not retrieve."""
    from faithtrace.retrieval import Retriever, ensure_factbook_index

    index_dir = parent.settings.get("index_dir")
    retriever = Retriever.load(index_dir if index_dir else ensure_factbook_index())
    seen = {d.doc_id for d in docs}
    for hit in retriever.search(parent.question or "", len(docs) + 20):
        if hit.doc_id not in seen:
            return hit
    raise UsageError("the index holds no document the episode did not retrieve")


def citation_outcomes(parent: RecordedEpisode, names: Sequence[str]) -> list[MessageOutcome]:
    """For each retrieved source: drop it, or swap it for a document not retrieved."""
    docs = _documents(parent)
    question = parent.question or ""
    cue = {"role": "assistant", "content": RAG_ANSWER_CUE}
    baseline = [*rag_messages(question, docs), cue]
    retrieval_steps = [s for s in parent.steps if s.kind == "retrieval"]
    distractor = _distractor(parent, docs) if "swap-citation" in names else None
    outcomes = []
    for j, doc in enumerate(docs):
        step = retrieval_steps[j].index if j < len(retrieval_steps) else None
        cited = (j + 1) in parent.citations
        if "drop-citation" in names:
            kept = _renumber([d for d in docs if d is not doc])
            outcomes.append(MessageOutcome(
                "drop-citation", step, {"source": j + 1, "document_id": doc.id, "cited": cited},
                baseline, [*rag_messages(question, kept), cue],
                [s for s in retrieval_steps if s.index != step]))
        if distractor is not None:
            swapped = _renumber([distractor if d is doc else d for d in docs])
            outcomes.append(MessageOutcome(
                "swap-citation", step, {"source": j + 1, "document_id": doc.id, "cited": cited,
                                        "replacement_id": distractor.id},
                baseline, [*rag_messages(question, swapped), cue], list(retrieval_steps)))
    return outcomes


def agent_candidates(backend: Backend, parent: RecordedEpisode, outcomes: Sequence[MessageOutcome],
                     gold: str | None, choices: Sequence[str], limit: int) -> list[str]:
    """The episode's answer (or the one elicited from its full prompt), gold, choices, hints."""
    first = parent.answer
    if first is None and outcomes:
        prompt = backend.render(outcomes[0].baseline, continue_final=True)
        first = first_answer(backend.generate([GenerationRequest(prompt=prompt,
                                                                 max_new_tokens=12)])[0].text)
    seen: dict[str, str] = {}
    for value in [first, gold, *choices, *(h for o in outcomes for h in o.hints)]:
        if value and normalize(value):
            seen.setdefault(normalize(value).lower(), normalize(value))
    if len(seen) < 2:
        raise UsageError("fewer than two candidate answers to score; pass --gold or choices")
    return list(seen.values())[:limit]
