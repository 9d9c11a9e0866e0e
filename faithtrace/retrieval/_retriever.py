"""The retriever agents use: a query in, the k best chunks out, with everything a span records."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from faithtrace.config import cache_dir
from faithtrace.retrieval._corpus import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE, load_corpus
from faithtrace.retrieval._embedder import Embedder, Progress
from faithtrace.retrieval._index import MANIFEST_FILE, Manifest, VectorIndex, build, load

DEFAULT_INDEX = "factbook"


@dataclass(frozen=True)
class RetrievedDocument:
    """One search hit; `rank` 1 is the best and is the [n] a RAG prompt numbers it by."""

    id: str
    """The chunk id, `{doc_id}#{n}`."""
    title: str
    score: float
    """Cosine similarity (inner product of unit vectors)."""
    text: str
    rank: int
    doc_id: str
    """The document the chunk came from."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def indexes_dir() -> Path:
    """Where named indexes live: `cache_dir()/indexes`."""
    return cache_dir() / "indexes"


def index_path(name_or_dir: str | os.PathLike[str]) -> Path:
    """An index directory: an existing directory as given, else a name under `indexes_dir()`."""
    path = Path(name_or_dir).expanduser()
    if path.is_dir() or os.sep in str(name_or_dir) or str(name_or_dir).startswith("."):
        return path
    return indexes_dir() / str(name_or_dir)


def ensure_factbook_index(directory: str | os.PathLike[str] | None = None, *,
                          embedder: Embedder | None = None,
                          progress: Progress | None = None) -> Path:
    """The factbook index directory, built first when it is not there yet."""
    path = Path(directory) if directory is not None else indexes_dir() / DEFAULT_INDEX
    if not (path / MANIFEST_FILE).is_file():
        embedder = embedder or Embedder()
        build(load_corpus("factbook"), embedder, chunk_size=DEFAULT_CHUNK_SIZE,
              overlap=DEFAULT_CHUNK_OVERLAP, progress=progress).save(path)
    return path


class Retriever:
    """Searches one saved index with the embedder it was built with."""

    def __init__(self, index: VectorIndex, embedder: Embedder, directory: Path | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.directory = directory

    @classmethod
    def load(cls, directory: str | os.PathLike[str], embedder: Embedder | None = None) -> Retriever:
        """Open an index directory; refuses one built with another embedding model."""
        path = Path(directory).expanduser()
        embedder = embedder or Embedder()
        return cls(load(path, embedder), embedder, path)

    @property
    def manifest(self) -> Manifest:
        return self.index.manifest

    @property
    def index_id(self) -> str:
        """Names the index in `retrieval {index}` spans and in `retrieved_documents.index_id`."""
        return self.index.manifest.index_id

    def search(self, query: str, k: int = 4) -> list[RetrievedDocument]:
        """The k chunks most similar to `query`, best first."""
        hits = self.index.search(self.embedder.encode_query(query), k)[0]
        results = []
        for rank, (position, score) in enumerate(hits, start=1):
            chunk = self.index.chunks[position]
            results.append(RetrievedDocument(chunk.id, chunk.title, score, chunk.text, rank,
                                             chunk.doc_id))
        return results
