"""Shared fixtures. The real test model is loaded once per session (about 5 s)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

TEST_MODEL = "smollm2-135m"


@pytest.fixture(scope="session")
def smol_backend() -> object:
    """The real `hf` backend on the packaged SmolLM2-135M (converted once into the cache)."""
    import torch

    from faithtrace.llm import load_backend

    torch.set_num_threads(2)
    return load_backend("hf", TEST_MODEL)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "traces.duckdb"


@pytest.fixture
def tracing(db: Path) -> Iterator[object]:
    """Tracing into a fresh database; shut down (flushed) after the test."""
    from faithtrace.tracer import setup_tracing

    t = setup_tracing(db)
    yield t
    t.shutdown()
