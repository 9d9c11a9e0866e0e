"""The chain-of-thought agent as a LangGraph graph: prompt -> generate -> answer -> segment."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph

from faithtrace.agents._answer import parse_answer
from faithtrace.agents._episode import Episode
from faithtrace.agents._prompts import COT_PROMPT_VERSION, cot_messages
from faithtrace.agents._steps import Step, char_span_to_tokens, segment, token_char_ends
from faithtrace.errors import UsageError
from faithtrace.llm import Backend, Completion, GenerationRequest
from faithtrace.tracer import Recorder, span_hex_id, trace_hex_id


class CoTState(TypedDict, total=False):
    """What flows through the graph."""

    question: str
    messages: list[dict[str, str]]
    completion: Completion
    chat_span_id: str
    answer: str | None
    answer_source: str | None
    no_answer_reason: str | None
    answer_char_start: int | None
    steps: list[Step]


class CoTAgent:
    """Asks for step-by-step reasoning, splits it into steps and reads the final answer."""

    name = "cot"

    def __init__(self, backend: Backend, recorder: Recorder, *, max_new_tokens: int = 256,
                 temperature: float = 0.0, seed: int | None = None) -> None:
        self.backend = backend
        self.recorder = recorder
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.seed = seed
        self.graph = self._build()

    def settings(self) -> dict[str, Any]:
        """Everything needed to run this agent again the same way."""
        return {
            "agent": self.name,
            "model": self.backend.model_name,
            "backend": self.backend.provider,
            "engine": self.backend.engine_version,
            "max_new_tokens": self.max_new_tokens,
            "temperature": self.temperature,
            "seed": self.seed,
            "prompt_version": COT_PROMPT_VERSION,
        }

    def _build(self) -> Any:
        graph = StateGraph(CoTState)
        graph.add_node("prompt", self._prompt)
        graph.add_node("generate", self._generate)
        graph.add_node("answer", self._answer)
        graph.add_node("segment", self._segment)
        graph.add_edge(START, "prompt")
        graph.add_edge("prompt", "generate")
        graph.add_edge("generate", "answer")
        graph.add_edge("answer", "segment")
        graph.add_edge("segment", END)
        return graph.compile()

    # -- nodes ------------------------------------------------------------------------

    def _prompt(self, state: CoTState) -> CoTState:
        return {"messages": cot_messages(state["question"])}

    def _generate(self, state: CoTState) -> CoTState:
        request = GenerationRequest(messages=tuple(state["messages"]),
                                    max_new_tokens=self.max_new_tokens,
                                    temperature=self.temperature, seed=self.seed)
        with self.recorder.chat(provider=self.backend.provider, model=self.backend.model_name,
                                engine_version=self.backend.engine_version,
                                messages=state["messages"], max_tokens=self.max_new_tokens,
                                temperature=self.temperature, seed=self.seed, stop=()) as span:
            completion = self.backend.generate([request])[0]
            self.recorder.chat_result(span, text=completion.text,
                                      finish_reason=completion.finish_reason,
                                      input_tokens=completion.prompt_tokens,
                                      output_tokens=completion.completion_tokens)
            return {"completion": completion, "chat_span_id": span_hex_id(span)}

    def _answer(self, state: CoTState) -> CoTState:
        completion = state["completion"]
        parsed = parse_answer(completion.text, completion.finish_reason)
        return {"answer": parsed.answer, "answer_source": parsed.source,
                "no_answer_reason": parsed.no_answer_reason,
                "answer_char_start": parsed.char_start}

    def _segment(self, state: CoTState) -> CoTState:
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
        steps = []
        for index, ((start, end), kind) in enumerate(zip(spans, kinds, strict=True)):
            token_start, token_end = (char_span_to_tokens(char_ends, start, end)
                                      if char_ends is not None else (None, None))
            step = Step(index, kind, text[start:end].strip(), start, end, token_start, token_end)
            self.recorder.step(index=index, kind=kind, text=step.text, char_start=start,
                               char_end=end, token_start=token_start, token_end=token_end,
                               source_span_id=state.get("chat_span_id"))
            steps.append(step)
        return {"steps": steps}

    # -- running ----------------------------------------------------------------------

    def run(self, question: str, *, experiment_id: str | None = None) -> Episode:
        """Run one traced episode and return it."""
        if not question or not question.strip():
            raise UsageError("the question is empty; pass the question to answer as text")
        settings = self.settings()
        with self.recorder.episode(self.name, question, settings,
                                   experiment_id=experiment_id) as root:
            state: CoTState = self.graph.invoke({"question": question})
            steps = state.get("steps", [])
            self.recorder.finish_episode(root, answer=state.get("answer"),
                                         answer_source=state.get("answer_source"),
                                         no_answer_reason=state.get("no_answer_reason"),
                                         step_count=len(steps))
            return Episode(trace_id=trace_hex_id(root), agent=self.name, question=question,
                           steps=steps, answer=state.get("answer"),
                           answer_source=state.get("answer_source"),
                           no_answer_reason=state.get("no_answer_reason"),
                           settings=settings, completion=state["completion"].text)
