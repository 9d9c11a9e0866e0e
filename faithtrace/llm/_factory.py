"""Choosing a backend by name."""

from __future__ import annotations

import importlib.util
from typing import Any

from faithtrace.errors import BackendError
from faithtrace.llm._protocol import Backend

BACKENDS = ("auto", "hf", "vllm", "vllm-server")


def _cuda_vllm_available() -> bool:
    # On a few CPU cores vLLM is slower than transformers for single requests (see the README),
    # so `auto` takes it only where a GPU makes it worth its start-up time.
    if importlib.util.find_spec("vllm") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def resolve_backend_name(name: str) -> str:
    """The concrete backend `name` stands for here (`auto` becomes `vllm` or `hf`)."""
    if name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    if name == "auto":
        return "vllm" if _cuda_vllm_available() else "hf"
    return name


def load_backend(name: str, model: str, **options: Any) -> Backend:
    """A ready backend: `hf` (transformers), `vllm` (in-process engine), `vllm-server`
    (OpenAI-compatible HTTP; `url=`/`api_key=` or `FAITHTRACE_VLLM_URL`/`FAITHTRACE_VLLM_API_KEY`)
    or `auto` (vLLM where a CUDA GPU and vllm are present, else `hf`). `options` go to the
    backend's constructor.
    """
    concrete = resolve_backend_name(name)
    if concrete == "vllm":
        from faithtrace.llm._vllm import VLLMBackend

        return VLLMBackend(model, **options)
    if concrete == "vllm-server":
        from faithtrace.llm._vllm_server import VLLMServerBackend

        return VLLMServerBackend(model, **options)
    from faithtrace.llm._hf import HFBackend

    return HFBackend(model, **options)
