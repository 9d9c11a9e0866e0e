"""Test doubles shared by the test modules: `ScriptedBackend`, a model with queued replies.

    from doubles import ScriptedBackend
    backend = ScriptedBackend(["Thought: add.\\nAction: calculator[2+2]", "Final Answer: 4"])

It honours the `Backend` protocol, including stop strings (cut as a real backend cuts them),
and keeps every request it was given in `requests` so tests can check prompts and settings.
Tokens are characters, so token offsets are easy to check by hand.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence

from faithtrace.llm import BackendStats, Completion, GenerationRequest, Message


class ScriptedBackend:
    """Returns queued replies in order; fails loudly when the script runs out."""

    provider = "scripted"
    engine_version = "scripted 1"

    def __init__(self, replies: Iterable[str | Completion] = (), *,
                 model_name: str = "scripted-model",
                 scores: Iterable[Sequence[float]] = ()) -> None:
        self.model_name = model_name
        self.replies: deque[str | Completion] = deque(replies)
        self.scores: deque[Sequence[float]] = deque(scores)
        self.requests: list[GenerationRequest] = []
        self.stats = BackendStats()

    def queue(self, *replies: str | Completion) -> None:
        self.replies.extend(replies)

    def render(self, messages: Sequence[Message], *, continue_final: bool = False) -> str:
        rendered = "".join(f"<{m['role']}>{m['content']}\n" for m in messages)
        return rendered.rstrip("\n") if continue_final else rendered + "<assistant>"

    def _prompt(self, request: GenerationRequest) -> str:
        if request.prompt is not None:
            return request.prompt
        return self.render(request.messages, continue_final=request.continue_final)

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        completions = []
        for request in requests:
            self.requests.append(request)
            if not self.replies:
                raise AssertionError(f"ScriptedBackend ran out of replies after "
                                     f"{len(self.requests) - 1} calls")
            reply = self.replies.popleft()
            if isinstance(reply, Completion):
                completions.append(reply)
                continue
            text, stop, finish = reply, None, "stop"
            for candidate in request.stop:
                at = text.find(candidate)
                if at >= 0 and (stop is None or at < text.find(stop)):
                    stop = candidate
            if stop is not None:
                text = text[: text.find(stop)]
            if len(text) > request.max_new_tokens:
                text, stop, finish = text[: request.max_new_tokens], None, "length"
            prompt = self._prompt(request)
            completions.append(Completion(
                text=text, token_ids=[ord(c) for c in text], logprobs=[-0.1] * len(text),
                finish_reason=finish, prompt=prompt, prompt_tokens=len(prompt),
                completion_tokens=len(text), stop_sequence=stop))
            self.stats.calls += 1
            self.stats.generated_tokens += len(text)
        return completions

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(chr(i) for i in ids)

    def score(self, prompt: str, continuations: Sequence[str]) -> list[float]:
        if self.scores:
            return list(self.scores.popleft())
        return [-float(len(c)) for c in continuations]

    def count_tokens(self, text: str) -> int:
        return len(text)
