"""The RAG agent as a LangGraph graph: retrieve -> prompt -> generate -> answer -> segment.

The answer cites its sources as [n], n being the rank of a retrieved document; the cited numbers
go on the root span, where the `citations` view joins them to `retrieved_documents`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph

from faithtrace.agents._answer import normalize, parse_answer
from faithtrace.agents._calls import (
    base_settings,
    record_outcome,
    require_question,
    traced_generate,
)
from faithtrace.agents._episode import Episode
from faithtrace.agents._steps import Step, char_span_to_tokens, segment, token_char_ends
from faithtrace.errors import UsageError
from faithtrace.llm import Backend, Completion

# A runtime import: LangGraph reads the state's type hints. It loads neither torch nor faiss.
from faithtrace.retrieval import RetrievedDocument, Retriever
from faithtrace.tracer import ForkOrigin, Recorder, span_hex_id

RAG_PROMPT_VERSION = "rag-v1"
RAG_SYSTEM = (
    "You answer questions using only the numbered sources given. Cite the sources you use by "
    "their number in square brackets, like [1] or [2][3]. Reason briefly, then write the final "
    "answer on a last line of the form 'Answer: <answer> [n]'."
)
SOURCE_CHARS = 1200
"""A source's text is cut to this many characters in the prompt (chunks are ~128 words)."""

# [1], [2, 3], [1-3]: one bracket of source numbers. Up to 3 digits, so "[2025]" is no citation.
_CITATION = re.compile(r"\[\s*(\d{1,3}(?:\s*(?:,|-|–)\s*\d{1,3})*)\s*\]")


def parse_citations(text: str) -> list[int]:
    """The source numbers cited in `text`, in order of first citation, each once.

    `[1]`, `[2, 3]`, `[1][3]` and `[1-3]` are understood; numbers are kept even when no such
    source was retrieved, so the `citations` view can flag them.
    """
    numbers: list[int] = []
    for match in _CITATION.finditer(text):
        for part in re.split(r"\s*,\s*", match.group(1)):
            bounds = re.split(r"\s*[-–]\s*", part)
            first, last = int(bounds[0]), int(bounds[-1])
            # A reversed or huge range is a typo, not 500 citations: keep its ends only.
            span = range(first, last + 1) if 0 <= last - first <= 20 else (first, last)
            for number in span:
                if number not in numbers:
                    numbers.append(number)
    return numbers


def mask_citations(text: str) -> str:
    """`Paris [1][3].` -> `Paris      .`: markers blanked, every other character where it was,
    so answer offsets still point into the original text."""
    return _CITATION.sub(lambda match: " " * len(match.group()), text)


def format_sources(documents: Sequence[RetrievedDocument]) -> str:
    """`[n] Title: text`, one per line, numbered by rank."""
    lines = []
    for doc in documents:
        text = doc.text if len(doc.text) <= SOURCE_CHARS else doc.text[:SOURCE_CHARS] + " ..."
        lines.append(f"[{doc.rank}] {doc.title}: {text}")
    return "\n".join(lines)


def rag_messages(question: str, documents: Sequence[RetrievedDocument]) -> list[dict[str, str]]:
    """Chat messages: the rules, then the numbered sources and the question."""
    return [
        {"role": "system", "content": RAG_SYSTEM},
        {"role": "user", "content": f"Sources:\n{format_sources(documents)}\n\nQuestion: {question}"},
    ]


@dataclass
class RAGEpisode(Episode):
    """A RAG episode: an `Episode` plus what it retrieved and which sources its answer cited."""

    documents: list[dict[str, Any]] = field(default_factory=list)
    """The retrieved documents, best first (`rank` is the [n] of the prompt)."""
    citations: list[int] = field(default_factory=list)
    """Cited source numbers, in order of first citation; may name sources never retrieved."""

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "citations": self.citations,
                "documents": [{k: d[k] for k in ("rank", "id", "title", "score")}
                              for d in self.documents]}


class RAGState(TypedDict, total=False):
    """What flows through the graph."""

    question: str
    documents: list[RetrievedDocument]
    retrieval_span_id: str
    messages: list[dict[str, str]]
    completion: Completion
    chat_span_id: str
    answer: str | None
    answer_source: str | None
    no_answer_reason: str | None
    answer_char_start: int | None
    citations: list[int]
    steps: list[Step]


class RAGAgent:
    """Retrieves k sources, asks for an answer that cites them, and records both."""

    name = "rag"

    def __init__(self, backend: Backend, recorder: Recorder, retriever: Retriever, *, k: int = 4,
                 max_new_tokens: int = 256, temperature: float = 0.0,
                 seed: int | None = None) -> None:
        if k < 1:
            raise UsageError(f"k must be at least 1 (got {k})")
        self.backend = backend
        self.recorder = recorder
        self.retriever = retriever
        self.k = k
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.seed = seed
        self.graph = self._build()

    def settings(self) -> dict[str, Any]:
        """Everything needed to run this agent again the same way."""
        return {
            **base_settings(self.name, self.backend, max_new_tokens=self.max_new_tokens,
                            temperature=self.temperature, seed=self.seed,
                            prompt_version=RAG_PROMPT_VERSION),
            "index_dir": str(self.retriever.directory) if self.retriever.directory else None,
            "index_id": self.retriever.index_id,
            "embedding_model": self.retriever.manifest.embedding_model,
            "k": self.k,
        }

    def _build(self) -> Any:
        graph = StateGraph(RAGState)
        for name, node in (("retrieve", self._retrieve), ("prompt", self._prompt),
                           ("generate", self._generate), ("answer", self._answer),
                           ("segment", self._segment)):
            graph.add_node(name, node)
        graph.add_edge(START, "retrieve")
        graph.add_edge("retrieve", "prompt")
        graph.add_edge("prompt", "generate")
        graph.add_edge("generate", "answer")
        graph.add_edge("answer", "segment")
        graph.add_edge("segment", END)
        return graph.compile()

    # -- nodes ------------------------------------------------------------------------

    def _retrieve(self, state: RAGState) -> RAGState:
        question = state["question"]
        with self.recorder.retrieval(index_id=self.retriever.index_id, query=question,
                                     k=self.k) as span:
            documents = self.retriever.search(question, self.k)
            self.recorder.retrieval_result(span, [d.to_dict() for d in documents])
            return {"documents": documents, "retrieval_span_id": span_hex_id(span)}

    def _prompt(self, state: RAGState) -> RAGState:
        return {"messages": rag_messages(state["question"], state["documents"])}

    def _generate(self, state: RAGState) -> RAGState:
        completion, span_id = traced_generate(
            self.recorder, self.backend, state["messages"], max_new_tokens=self.max_new_tokens,
            temperature=self.temperature, seed=self.seed)
        return {"completion": completion, "chat_span_id": span_id}

    def _answer(self, state: RAGState) -> RAGState:
        completion = state["completion"]
        # Citation markers belong to the record, not to the answer compared with gold; masked,
        # "Paris [1]" reads as Paris and a bare "[3]" is never taken for the answer 3.
        parsed = parse_answer(mask_citations(completion.text), completion.finish_reason)
        answer, source, reason = parsed.answer, parsed.source, parsed.no_answer_reason
        if answer is not None and not normalize(answer):
            answer, source, reason = None, None, "no_answer_found"
        # Citations anywhere in the reply count: small models cite in their reasoning as often
        # as on the answer line.
        return {"answer": answer, "answer_source": source, "no_answer_reason": reason,
                "answer_char_start": parsed.char_start,
                "citations": parse_citations(completion.text)}

    def _segment(self, state: RAGState) -> RAGState:
        # One `retrieval` step per retrieved document, so a probe can drop or corrupt a single
        # source; then the generation's thought steps and its answer line, as in CoT.
        steps: list[Step] = []
        for doc in state["documents"]:
            text = f"[{doc.rank}] {doc.title}: {doc.text}"
            self.recorder.step(index=len(steps), kind="retrieval", text=text,
                               source_span_id=state.get("retrieval_span_id"))
            steps.append(Step(len(steps), "retrieval", text))
        completion = state["completion"]
        text = completion.text
        reasoning_end = state.get("answer_char_start")
        spans = segment(text, 0, reasoning_end if reasoning_end is not None else len(text))
        kinds = ["thought"] * len(spans)
        if reasoning_end is not None:
            answer_end = text.find("\n", reasoning_end)
            spans.append((reasoning_end, len(text) if answer_end < 0 else answer_end))
            kinds.append("answer")
        decode = getattr(self.backend, "decode", None)
        char_ends = token_char_ends(completion.token_ids, decode) if decode else None
        for (start, end), kind in zip(spans, kinds, strict=True):
            token_start, token_end = (char_span_to_tokens(char_ends, start, end)
                                      if char_ends is not None else (None, None))
            step = Step(len(steps), kind, text[start:end].strip(), start, end, token_start,
                        token_end)
            self.recorder.step(index=step.index, kind=kind, text=step.text, char_start=start,
                               char_end=end, token_start=token_start, token_end=token_end,
                               source_span_id=state.get("chat_span_id"))
            steps.append(step)
        return {"steps": steps}

    # -- running ----------------------------------------------------------------------

    def run(self, question: str, *, origin: ForkOrigin | None = None,
            experiment_id: str | None = None) -> RAGEpisode:
        """Run one traced episode and return it (`origin` links a re-run to its original)."""
        require_question(question)
        settings = self.settings()
        with self.recorder.episode(self.name, question, settings, origin=origin,
                                   experiment_id=experiment_id) as root:
            state: RAGState = self.graph.invoke({"question": question})
            citations = state.get("citations", [])
            self.recorder.citations(root, citations)
            return RAGEpisode(**record_outcome(self.recorder, root, state), agent=self.name,
                              question=question, settings=settings,
                              completion=state["completion"].text,
                              documents=[d.to_dict() for d in state.get("documents", [])],
                              citations=citations)
