"""The `vllm-server` backend against a loopback stand-in for `vllm serve`: no model, no vllm.

The stand-in answers the few routes the backend uses, in vLLM's response shapes, and records
every request's headers, which a real server will not echo back: that is how the `traceparent`
of the current span is checked.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

from faithtrace.errors import BackendError
from faithtrace.llm import GenerationRequest, load_backend, resolve_backend_name

MODEL = "/cache/models/smollm2-135m"
PROMPT_IDS = [1, 2, 3]


class _Handler(BaseHTTPRequestHandler):
    seen: list[tuple[str, dict[str, str], Any]]

    def log_message(self, *args: Any) -> None:  # keep pytest output clean
        pass

    def _reply(self, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}, None))
        if self.path == "/v1/models":
            self._reply({"data": [{"id": MODEL}]})
        else:
            self._reply({"version": "0.32.0"})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        if self.path == "/tokenize":
            self._reply({"tokens": PROMPT_IDS if "messages" in body else [7] * len(body["prompt"])})
        elif self.path == "/detokenize":
            self._reply({"prompt": "<prompt>"})
        elif body.get("echo"):
            choices = [{"index": i, "text": "", "logprobs": {
                "tokens": [f"token_id:{t}" for t in ids],
                "token_logprobs": [None] + [-0.5] * (len(ids) - 1) + [-9.0]}}
                for i, ids in enumerate(body["prompt"])]
            self._reply({"choices": choices, "usage": {"prompt_tokens": 10, "completion_tokens": 2}})
        else:
            self._reply({
                "choices": [{"index": 0, "text": " 5", "finish_reason": "stop", "stop_reason": None,
                             "logprobs": {"tokens": ["token_id:42", "token_id:2"],
                                          "token_logprobs": [-0.25, -0.01]}}],
                "usage": {"prompt_tokens": 31, "completion_tokens": 2, "total_tokens": 33},
            })


@pytest.fixture
def server() -> Iterator[tuple[str, list[tuple[str, dict[str, str], Any]]]]:
    seen: list[tuple[str, dict[str, str], Any]] = []
    handler = type("Handler", (_Handler,), {"seen": seen})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    httpd.shutdown()
    httpd.server_close()


def test_generate_sends_traceparent_and_keeps_server_usage(server: Any) -> None:
    url, seen = server
    backend = load_backend("vllm-server", "smollm2-135m", url=url, api_key="k")
    assert backend.engine_version == "vllm 0.32.0 (server)" and backend.provider == "vllm"
    tracer = TracerProvider(shutdown_on_exit=False).get_tracer("test")
    with tracer.start_as_current_span("chat smollm2-135m") as span:
        [completion] = backend.generate([GenerationRequest(
            messages=({"role": "user", "content": "2 + 3?"},), max_new_tokens=4, stop=("\n",))])
    _, headers, body = next(s for s in seen if s[0] == "/v1/completions")
    trace_id = format(span.get_span_context().trace_id, "032x")
    span_id = format(span.get_span_context().span_id, "016x")
    # version-trace-span-flags; the flags byte may carry more than "sampled" (W3C level 2).
    assert headers["traceparent"].startswith(f"00-{trace_id}-{span_id}-")
    assert headers["authorization"] == "Bearer k"
    assert body["prompt"] == PROMPT_IDS and body["stop"] == ["\n"] and body["logprobs"] == 0
    # The end-of-turn token (2) is dropped from the ids, as `hf` does; usage stays the server's.
    assert completion.token_ids == [42] and completion.logprobs == [-0.25]
    assert (completion.prompt_tokens, completion.completion_tokens) == (31, 2)
    assert completion.text == " 5" and completion.finish_reason == "stop"


def test_score_reads_echoed_prompt_logprobs_in_one_call(server: Any) -> None:
    url, seen = server
    backend = load_backend("vllm-server", "smollm2-135m", url=url)
    scores = backend.score("abc", ["x", "yz"])
    calls = [s for s in seen if s[0] == "/v1/completions"]
    assert len(calls) == 1 and calls[0][2]["echo"] is True
    # Prompt is 3 tokens; a continuation's logprobs sit at positions 3.. of the echo.
    assert scores == [pytest.approx(-0.5), pytest.approx(-1.0)]


def test_unknown_model_and_unreachable_server_say_what_to_do(server: Any) -> None:
    url, _ = server
    with pytest.raises(BackendError, match="not 'other'"):
        load_backend("vllm-server", "other", url=url)
    with pytest.raises(BackendError, match="FAITHTRACE_VLLM_URL"):
        load_backend("vllm-server", "smollm2-135m", url="http://127.0.0.1:9")


def test_backend_names() -> None:
    assert resolve_backend_name("hf") == "hf"
    assert resolve_backend_name("auto") in ("hf", "vllm")
    with pytest.raises(BackendError, match="vllm-server"):
        resolve_backend_name("llamacpp")
