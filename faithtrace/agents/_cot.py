"""The chain-of-thought agent as a LangGraph graph: prompt -> generate -> answer -> segment."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph

from faithtrace.agents._answer import first_answer, parse_answer
from faithtrace.agents._calls import (
    base_settings,
    record_outcome,
    record_steps,
    require_question,
    traced_generate,
)
from faithtrace.agents._episode import Episode
from faithtrace.agents._prompts import COT_PROMPT_VERSION, answer_now_messages, cot_messages
from faithtrace.agents._steps import Step, char_span_to_tokens, segment, token_char_ends
from faithtrace.llm import Backend, Completion
from faithtrace.tracer import ForkOrigin, Recorder


class CoTState(TypedDict, total=False):
    """What flows through the graph."""

    question: str
    messages: list[dict[str, str]]
    prefix: str
    """Reasoning the assistant turn starts with (a fork's kept, possibly altered, steps)."""
    prefix_steps: list[Step]
    """The steps of `prefix`, copied as they are: a fork never re-segments its parent's steps."""
    answer_now: bool
    """Ask for the answer right after the prefix instead of letting the reasoning go on."""
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
        return base_settings(self.name, self.backend, max_new_tokens=self.max_new_tokens,
                             temperature=self.temperature, seed=self.seed,
                             prompt_version=COT_PROMPT_VERSION)

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
        messages = cot_messages(state["question"])
        prefix = state.get("prefix")
        if prefix is not None:
            if state.get("answer_now"):
                messages = answer_now_messages(messages, prefix)
            else:
                messages = [*messages, {"role": "assistant", "content": prefix}]
        return {"messages": messages}

    def _generate(self, state: CoTState) -> CoTState:
        continuing = state.get("prefix") is not None
        max_tokens = ANSWER_NOW_TOKENS if state.get("answer_now") else self.max_new_tokens
        completion, span_id = traced_generate(
            self.recorder, self.backend, state["messages"], max_new_tokens=max_tokens,
            temperature=self.temperature, seed=self.seed, continue_final=continuing)
        return {"completion": completion, "chat_span_id": span_id}

    def _answer(self, state: CoTState) -> CoTState:
        completion = state["completion"]
        if state.get("answer_now"):
            value = first_answer(completion.text)
            return {"answer": value, "answer_source": "answer_now" if value else None,
                    "no_answer_reason": None if value else "no_answer_found",
                    "answer_char_start": None}
        prefix = state.get("prefix") or ""
        parsed = parse_answer(prefix + completion.text, completion.finish_reason)
        start = parsed.char_start
        # An answer line inside the kept prefix is not this run's answer.
        if start is not None and start < len(prefix):
            parsed = parse_answer(completion.text, completion.finish_reason)
            start = None if parsed.char_start is None else parsed.char_start + len(prefix)
        return {"answer": parsed.answer, "answer_source": parsed.source,
                "no_answer_reason": parsed.no_answer_reason, "answer_char_start": start}

    def _segment(self, state: CoTState) -> CoTState:
        completion = state["completion"]
        prefix = state.get("prefix") or ""
        kept = list(state.get("prefix_steps") or [])
        record_steps(self.recorder, kept)
        if state.get("answer_now"):
            return {"steps": kept}
        text = prefix + completion.text
        reasoning_end = state.get("answer_char_start")
        spans = segment(text, len(prefix), reasoning_end if reasoning_end is not None else len(text))
        kinds = ["thought"] * len(spans)
        if reasoning_end is not None:
            answer_end = text.find("\n", reasoning_end)
            spans.append((reasoning_end, len(text) if answer_end < 0 else answer_end))
            kinds.append("answer")
        decode = getattr(self.backend, "decode", None)
        char_ends = ([len(prefix) + e for e in token_char_ends(completion.token_ids, decode)]
                     if decode and completion.token_ids else None)
        steps = kept
        for index, ((start, end), kind) in enumerate(zip(spans, kinds, strict=True),
                                                      start=len(kept)):
            # Token offsets count the tokens this run generated; the kept prefix has none.
            token_start, token_end = (char_span_to_tokens(char_ends, start, end)
                                      if char_ends is not None else (None, None))
            step = Step(index, kind, text[start:end].strip(), start, end, token_start, token_end)
            self.recorder.step(index=index, kind=kind, text=step.text, char_start=start,
                               char_end=end, token_start=token_start, token_end=token_end,
                               source_span_id=state.get("chat_span_id"))
            steps.append(step)
        return {"steps": steps}

    # -- running ----------------------------------------------------------------------

    def run(self, question: str, *, origin: ForkOrigin | None = None,
            experiment_id: str | None = None) -> Episode:
        """Run one traced episode and return it (`origin` links a re-run to its original)."""
        return self._run({"question": question}, origin=origin, experiment_id=experiment_id)

    def run_from(self, question: str, prefix: str, prefix_steps: list[Step], *,
                 answer_now: bool = False, origin: ForkOrigin | None = None,
                 experiment_id: str | None = None) -> Episode:
        """Run an episode whose reasoning starts with `prefix` (made of `prefix_steps`).

        With `answer_now` the model is asked for its answer straight after the prefix
        (early answering); otherwise it continues the reasoning and answers as usual.
        """
        return self._run({"question": question, "prefix": prefix, "prefix_steps": prefix_steps,
                          "answer_now": answer_now}, origin=origin, experiment_id=experiment_id)

    def _run(self, inputs: CoTState, *, origin: ForkOrigin | None = None,
             experiment_id: str | None = None) -> Episode:
        question = inputs["question"]
        require_question(question)
        settings = self.settings()
        with self.recorder.episode(self.name, question, settings, origin=origin,
                                   experiment_id=experiment_id) as root:
            state: CoTState = self.graph.invoke(inputs)
            return Episode(**record_outcome(self.recorder, root, state), agent=self.name,
                           question=question, settings=settings,
                           completion=(inputs.get("prefix") or "") + state["completion"].text)


ANSWER_NOW_TOKENS = 16
