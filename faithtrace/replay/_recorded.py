"""Serving a recorded episode's model outputs instead of calling a model."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from faithtrace.agents import ToolRegistry
from faithtrace.errors import BackendError, FaithtraceError
from faithtrace.llm import BackendStats, Completion, GenerationRequest, Message
from faithtrace.replay._model import ModelCall, Retrieval, ToolCall
from faithtrace.retrieval import RetrievedDocument


@dataclass(frozen=True)
class Mismatch:
    """A request whose messages differ from the recorded call it was served."""

    call: int
    recorded: list[dict[str, object]]
    requested: list[dict[str, str]]


class RecordedBackend:
    """A Backend that answers the n-th request with the n-th recorded model call.

    It never computes anything. When the agent asks for something the recording does not
    hold (different messages, or more calls), that is where a re-run diverged: mismatches are
    kept, and running past the recording raises.
    """

    provider = "faithtrace.replay"
    name = "replay"

    def __init__(self, calls: Sequence[ModelCall], model_name: str) -> None:
        self.calls = list(calls)
        self.model_name = model_name
        self.engine_version = "replay"
        self.stats = BackendStats()
        self.served = 0
        self.mismatches: list[Mismatch] = []

    def render(self, messages: Sequence[Message], *, continue_final: bool = False) -> str:
        return "\n".join(f"{m['role']}: {m['content']}" for m in messages)

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        out = []
        for request in requests:
            if self.served >= len(self.calls):
                raise BackendError(f"the re-run asked for model call #{self.served}, but the "
                                   f"recording holds only {len(self.calls)}")
            call = self.calls[self.served]
            requested = [dict(m) for m in request.messages]
            if call.input_messages and call.input_messages != requested:
                self.mismatches.append(Mismatch(self.served, call.input_messages, requested))
            text = call.output_text or ""
            out.append(Completion(text=text, token_ids=[], logprobs=[],
                                  finish_reason=call.finish_reason or "stop",
                                  prompt=self.render(request.messages),
                                  prompt_tokens=call.input_tokens or 0,
                                  completion_tokens=call.output_tokens or 0))
            self.served += 1
        self.stats.calls += 1
        return out

    def score(self, prompt: str, continuations: Sequence[str]) -> list[float]:
        raise BackendError("a replay serves recorded text only; scoring needs a live model")

    def count_tokens(self, text: str) -> int:
        raise BackendError("a replay serves recorded text only; counting tokens needs the model")


class RecordedToolError(FaithtraceError):
    """Replays a recorded tool failure: the agent shows the model the same `error: ...` text."""


ERROR_PREFIX = "error: "


def recorded_tools(calls: Sequence[ToolCall], live: ToolRegistry,
                   names: Sequence[str] = ()) -> ToolRegistry:
    """Tools that return the recorded results, in recorded call order, instead of running.

    Each keeps the real tool's name, description and arguments (so prompts are unchanged);
    only its function is swapped. A call the recording does not hold is a divergence and
    fails as a tool error the re-run records.
    """
    served = [0]

    def serve_as(name: str) -> Callable[..., str]:
        def serve(**_: Any) -> str:
            position = served[0]
            if position >= len(calls):
                raise RecordedToolError(f"replay: the recording holds only {len(calls)} tool calls")
            call = calls[position]
            served[0] += 1
            if call.name != name:
                raise RecordedToolError(f"replay: the re-run called {name!r} where the recording "
                                        f"called {call.name!r}")
            result = call.result or ""
            if call.status == "ERROR":
                raise RecordedToolError(result.removeprefix(ERROR_PREFIX))
            return result
        return serve

    registry = ToolRegistry()
    # Every tool the agent was given, called or not: the prompt lists them all.
    for name in dict.fromkeys([*names, *(c.name for c in calls)]):
        if name in live:
            registry.register(replace(live.get(name), func=serve_as(name)))
    return registry


@dataclass(frozen=True)
class _RecordedManifest:
    embedding_model: str | None


class RecordedRetriever:
    """Stands in for a `Retriever`: the n-th search returns the n-th recorded retrieval."""

    def __init__(self, retrievals: Sequence[Retrieval], settings: dict[str, Any]) -> None:
        self.retrievals = list(retrievals)
        directory = settings.get("index_dir")
        self.directory = Path(directory) if directory else None
        self.index_id = str(settings.get("index_id") or
                            (self.retrievals[0].index_id if self.retrievals else "replay"))
        self.manifest = _RecordedManifest(settings.get("embedding_model"))
        self.served = 0

    def search(self, query: str, k: int = 4) -> list[RetrievedDocument]:
        if self.served >= len(self.retrievals):
            raise BackendError(f"the re-run searched {self.served + 1} times; the recording "
                               f"holds {len(self.retrievals)} retrievals")
        recorded = self.retrievals[self.served]
        self.served += 1
        return [RetrievedDocument(id=str(d["id"]), title=str(d.get("title") or ""),
                                  score=float(d.get("score", 0.0)), text=str(d.get("text") or ""),
                                  rank=int(d.get("rank", rank)),
                                  doc_id=str(d["id"]).split("#")[0])
                for rank, d in enumerate(recorded.documents[:k], start=1)]
