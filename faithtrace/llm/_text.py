"""Text handling the backends share: the chat template, tokens, and checking score() inputs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from faithtrace.errors import UsageError
from faithtrace.llm._protocol import GenerationRequest, Message


class TokenizerText:
    """render/encode/decode for a backend holding a transformers tokenizer (`hf`, `vllm`).

    Both backends go through these same calls, so they see identical prompts and token ids.
    """

    tokenizer: Any

    def render(self, messages: Sequence[Message], *, continue_final: bool = False) -> str:
        """The prompt text for chat messages, with the model's chat template."""
        rendered = self.tokenizer.apply_chat_template(
            list(messages), tokenize=False,
            add_generation_prompt=not continue_final, continue_final_message=continue_final,
        )
        return str(rendered)

    def encode(self, text: str) -> list[int]:
        """Token ids of `text`, with no special tokens added (templates carry their own)."""
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def count_tokens(self, text: str) -> int:
        return len(self.encode(text))

    def decode(self, ids: Sequence[int]) -> str:
        return str(self.tokenizer.decode(list(ids), skip_special_tokens=True))

    def _prompt_of(self, request: GenerationRequest) -> str:
        if request.prompt is not None:
            return request.prompt
        if not request.messages:
            raise UsageError("a generation request needs messages or a prompt")
        return self.render(request.messages, continue_final=request.continue_final)


def score_inputs(encode: Callable[[str], list[int]], prompt: str,
                 continuations: Sequence[str]) -> tuple[list[int], list[list[int]]]:
    """Token ids of a score() prompt and its continuations, refusing empty ones."""
    prompt_ids = encode(prompt)
    if not prompt_ids:
        raise UsageError("score() needs a non-empty prompt")
    conts = [encode(c) for c in continuations]
    if any(not c for c in conts):
        raise UsageError("score() continuations must be non-empty")
    return prompt_ids, conts
