"""The vLLM backends on the real test model, checked against `hf` (the reference).

Needs vllm (`make install-vllm`; `make test-vllm` runs this file in .venv-vllm). Without it
every test here is skipped, so the main suite passes as before.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

try:
    import vllm
except Exception as error:  # an ImportError, or a broken torchvision/torchaudio beside it
    pytest.skip(f"vllm is not importable here ({type(error).__name__}: {error}); run "
                "`make test-vllm`", allow_module_level=True)

from faithtrace.agents import CoTAgent
from faithtrace.llm import GenerationRequest, load_backend, serve_command
from faithtrace.store import run_query
from faithtrace.tracer import Recorder

pytestmark = [pytest.mark.vllm, pytest.mark.model]

MODEL = "smollm2-135m"
QUESTION = ({"role": "user", "content": "What is 2 + 3? Reply with the number."},)
OTHER = ({"role": "user", "content": "Name one planet of the solar system."},)
CONTINUATIONS = [" 5", " 6", " five hundred"]
SERVER_START_S = 300


@pytest.fixture(scope="module")
def vllm_backend() -> Iterator[Any]:
    backend = load_backend("vllm", MODEL)
    yield backend
    backend.close()


def test_cot_episode_is_traced_with_the_vllm_provider(vllm_backend: Any, tracing: Any,
                                                     db: Path) -> None:
    agent = CoTAgent(vllm_backend, Recorder(tracing.tracer), max_new_tokens=24)
    episode = agent.run("Tom has 3 apples and buys 4 more. How many apples does he have?")
    tracing.shutdown()
    calls = run_query(db, "SELECT provider_name AS provider, request_model AS model, input_tokens, "
                          "output_tokens, attributes ->> '$.\"faithtrace.backend.version\"' AS engine "
                          "FROM spans WHERE operation_name = 'chat' AND trace_id = ?",
                      [episode.trace_id]).records()
    assert len(calls) == 1
    assert calls[0]["provider"] == "vllm" and calls[0]["model"] == MODEL
    assert calls[0]["engine"] == f"vllm {vllm.__version__}"
    assert calls[0]["input_tokens"] > 10 and 0 < calls[0]["output_tokens"] <= 24
    steps = run_query(db, "SELECT count(*) FROM steps WHERE trace_id = ?", [episode.trace_id])
    assert steps.rows[0][0] == len(episode.steps) >= 1


def test_greedy_text_matches_hf(vllm_backend: Any, smol_backend: Any) -> None:
    requests = [GenerationRequest(messages=QUESTION, max_new_tokens=8),
                GenerationRequest(messages=OTHER, max_new_tokens=8)]
    ours, reference = vllm_backend.generate(requests), smol_backend.generate(requests)
    for v, h in zip(ours, reference, strict=True):
        assert v.prompt == h.prompt and v.prompt_tokens == h.prompt_tokens
        # float32 on both sides, but different kernels: the first greedy tokens must agree.
        assert v.token_ids[:5] == h.token_ids[:5]
        assert v.logprobs[:5] == pytest.approx(h.logprobs[:5], abs=1e-2)
        assert len(v.logprobs) == len(v.token_ids) == v.completion_tokens


def test_stop_strings_seeds_and_finish_reasons(vllm_backend: Any) -> None:
    counting = ({"role": "user", "content": "Count from 1 to 10, separated by commas."},)
    sampled = GenerationRequest(messages=QUESTION, max_new_tokens=8, temperature=1.0, seed=7)
    stopped, first, second, short = vllm_backend.generate([
        GenerationRequest(messages=counting, max_new_tokens=40, stop=("4",)), sampled, sampled,
        GenerationRequest(messages=counting, max_new_tokens=3)])
    assert "4" not in stopped.text
    assert stopped.stop_sequence == "4" and stopped.finish_reason == "stop"
    assert first.token_ids == second.token_ids
    assert short.finish_reason == "length" and short.completion_tokens == 3


def test_score_matches_hf_and_reuses_the_prompt(vllm_backend: Any, smol_backend: Any) -> None:
    prompt = smol_backend.render(QUESTION) + "The answer is"
    ours = vllm_backend.score(prompt, CONTINUATIONS)
    assert ours == pytest.approx(smol_backend.score(prompt, CONTINUATIONS), abs=1e-2)
    assert ours[0] > ours[1]
    assert vllm_backend.count_tokens(prompt) == smol_backend.count_tokens(prompt)


# -- vllm serve ---------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `vllm serve` on a free loopback port, in its own process group."""
    port = _free_port()
    log = (tmp_path_factory.mktemp("vllm") / "serve.log").open("w")
    process = subprocess.Popen(
        serve_command(MODEL, port=port), stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1"}, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"vllm serve exited with {process.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"vllm serve not healthy after {SERVER_START_S} s; see {log.name}")
            time.sleep(1)
        yield url
    finally:
        # The server spawns engine processes: stop the whole group, then make sure.
        for sig, wait_s in ((signal.SIGTERM, 30), (signal.SIGKILL, None)):
            try:
                os.killpg(process.pid, sig)
                process.wait(timeout=wait_s)
                break
            except ProcessLookupError:  # already gone
                break
            except subprocess.TimeoutExpired:
                continue
        log.close()


def test_server_generate_score_and_usage_match_hf(server_url: str, smol_backend: Any) -> None:
    backend = load_backend("vllm-server", MODEL, url=server_url)
    assert backend.provider == "vllm" and backend.engine_version.startswith("vllm ")
    request = GenerationRequest(messages=QUESTION, max_new_tokens=8)
    [completion], [reference] = backend.generate([request]), smol_backend.generate([request])
    assert completion.prompt == reference.prompt
    assert completion.token_ids[:5] == reference.token_ids[:5]
    # The server's own usage numbers: its prompt is exactly the chat template's tokens.
    assert completion.prompt_tokens == reference.prompt_tokens
    assert completion.completion_tokens in (len(completion.token_ids),
                                            len(completion.token_ids) + 1)  # + end of turn
    assert backend.render(QUESTION) == smol_backend.render(QUESTION)
    prompt = reference.prompt + "The answer is"
    scores = backend.score(prompt, CONTINUATIONS)
    assert scores == pytest.approx(smol_backend.score(prompt, CONTINUATIONS), abs=1e-2)
