"""FAISS vector indexes over chunks: build, save to a directory, load with checks."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from faithtrace.errors import IndexMismatchError, IndexNotFoundError
from faithtrace.retrieval._corpus import (
    DEFAULT_CHUNK_OVERLAP,
    DEFAULT_CHUNK_SIZE,
    Chunk,
    Corpus,
    check_chunking,
    chunk_corpus,
    embedding_text,
    read_chunks,
    write_chunks,
)
from faithtrace.retrieval._embedder import Embedder, Progress, Vectors

INDEX_FILE = "index.faiss"
CHUNKS_FILE = "chunks.jsonl"
MANIFEST_FILE = "manifest.json"
MANIFEST_VERSION = 1
FLAT = "flat-ip"
HNSW = "hnsw-ip"
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 64
# efSearch 16 (FAISS's default) misses true neighbours on small sets; 64 costs well under 1 ms.
HNSW_EF_SEARCH = 64


@dataclass(frozen=True)
class Manifest:
    """What an index directory holds and how it was built; written as manifest.json."""

    name: str
    """The corpus name (`factbook`, a file stem or a folder name)."""
    embedding_model: str
    dimension: int
    chunk_size: int
    chunk_overlap: int
    index_type: str
    """`flat-ip` (exact inner product) or `hnsw-ip` (approximate, graph based)."""
    document_count: int
    chunk_count: int
    corpus_sha256: str
    faithtrace_version: str
    built_at: str
    """UTC, ISO 8601."""
    build_seconds: float
    hnsw_m: int | None = None
    hnsw_ef_search: int | None = None
    format_version: int = MANIFEST_VERSION

    @property
    def index_id(self) -> str:
        """`{name}-{hash}`: names the index in spans; changes when the corpus, model or chunking does."""
        identity = json.dumps([self.corpus_sha256, self.embedding_model, self.dimension,
                               self.chunk_size, self.chunk_overlap, self.index_type])
        return f"{self.name}-{hashlib.sha256(identity.encode()).hexdigest()[:10]}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "index_id": self.index_id}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def _faiss() -> Any:
    try:
        import faiss
    except ImportError as error:
        from faithtrace.errors import BackendError

        raise BackendError("faiss is not installed; run: pip install 'faithtrace[rag]'") from error
    return faiss


def _new_index(dimension: int, hnsw: bool) -> Any:
    faiss = _faiss()
    if not hnsw:
        return faiss.IndexFlatIP(dimension)
    index = faiss.IndexHNSWFlat(dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    index.hnsw.efSearch = HNSW_EF_SEARCH
    return index


@dataclass
class VectorIndex:
    """A FAISS index, the chunks its rows stand for (row i is chunks[i]) and its manifest."""

    faiss_index: Any
    chunks: list[Chunk]
    manifest: Manifest

    @classmethod
    def from_vectors(cls, vectors: Vectors, chunks: list[Chunk], manifest: Manifest) -> VectorIndex:
        """An index over precomputed vectors (used by `build` and by benchmarks)."""
        index = _new_index(int(vectors.shape[1]), manifest.index_type == HNSW)
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(index, chunks, manifest)

    def search(self, queries: Vectors, k: int) -> list[list[tuple[int, float]]]:
        """For each query row, up to k (chunk position, score) pairs, best first."""
        k = min(k, len(self.chunks))
        if k < 1:
            return [[] for _ in range(len(queries))]
        scores, ids = self.faiss_index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        # FAISS pads with -1 when it finds fewer than k (possible with HNSW on tiny sets).
        return [[(int(i), float(s)) for i, s in zip(row_ids, row_scores, strict=True) if i >= 0]
                for row_ids, row_scores in zip(ids, scores, strict=True)]

    def save(self, directory: str | Path) -> Path:
        """Write index.faiss, chunks.jsonl and manifest.json into `directory`."""
        out = Path(directory).expanduser()
        out.mkdir(parents=True, exist_ok=True)
        # The manifest goes last and is removed first: a directory whose save was interrupted
        # has no manifest and is refused on load instead of pairing new vectors with old chunks.
        (out / MANIFEST_FILE).unlink(missing_ok=True)
        _faiss().write_index(self.faiss_index, str(out / INDEX_FILE))
        write_chunks(out / CHUNKS_FILE, self.chunks)
        manifest_tmp = out / (MANIFEST_FILE + ".tmp")
        manifest_tmp.write_text(json.dumps(self.manifest.to_dict(), indent=2) + "\n", encoding="utf-8")
        manifest_tmp.replace(out / MANIFEST_FILE)
        return out


def build(corpus: Corpus, embedder: Embedder, *, chunk_size: int = DEFAULT_CHUNK_SIZE,
          overlap: int = DEFAULT_CHUNK_OVERLAP, hnsw: bool = False,
          progress: Progress | None = None) -> VectorIndex:
    """Chunk, embed and index a corpus."""
    from faithtrace import __version__
    from faithtrace.errors import CorpusError

    check_chunking(chunk_size, overlap)
    started = time.perf_counter()
    chunks = chunk_corpus(corpus.documents, chunk_size, overlap)
    if not chunks:
        raise CorpusError(f"corpus {corpus.name!r} has no words to index; check that its "
                          f"documents have text")
    vectors = embedder.encode([embedding_text(c) for c in chunks], progress=progress)
    manifest = Manifest(
        name=corpus.name, embedding_model=embedder.model_id, dimension=embedder.dimension,
        chunk_size=chunk_size, chunk_overlap=overlap, index_type=HNSW if hnsw else FLAT,
        document_count=len(corpus.documents), chunk_count=len(chunks),
        corpus_sha256=corpus.checksum(), faithtrace_version=__version__,
        built_at=datetime.now(UTC).isoformat(timespec="seconds"), build_seconds=0.0,
        hnsw_m=HNSW_M if hnsw else None, hnsw_ef_search=HNSW_EF_SEARCH if hnsw else None,
    )
    index = VectorIndex.from_vectors(vectors, chunks, manifest)
    index.manifest = Manifest.from_dict(
        {**asdict(manifest), "build_seconds": round(time.perf_counter() - started, 3)})
    return index


def read_manifest(directory: str | Path) -> Manifest:
    """The manifest of an index directory, or a clear error when there is none."""
    path = Path(directory).expanduser() / MANIFEST_FILE
    if not path.is_file():
        raise IndexNotFoundError(f"no retrieval index at {path.parent} (no {MANIFEST_FILE}); build "
                                 f"one with: faithtrace index build CORPUS --out {path.parent}")
    try:
        return Manifest.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as error:
        raise IndexNotFoundError(f"{path} is not a readable index manifest ({error}); rebuild "
                                 f"the index with: faithtrace index build") from error


def check_compatible(manifest: Manifest, embedder: Embedder, directory: Path) -> None:
    """Refuse an index whose vectors came from another model: its scores would be meaningless."""
    if manifest.embedding_model != embedder.model_id or manifest.dimension != embedder.dimension:
        raise IndexMismatchError(
            f"the index at {directory} was built with {manifest.embedding_model} "
            f"({manifest.dimension}-d) but the embedder in use is {embedder.model_id} "
            f"({embedder.dimension}-d); use that embedding model, or rebuild the index with: "
            f"faithtrace index build CORPUS --out {directory}")


def load(directory: str | Path, embedder: Embedder) -> VectorIndex:
    """Load an index directory, checking it against `embedder` and against itself."""
    path = Path(directory).expanduser()
    manifest = read_manifest(path)
    check_compatible(manifest, embedder, path)
    missing = [name for name in (INDEX_FILE, CHUNKS_FILE) if not (path / name).is_file()]
    if missing:
        raise IndexNotFoundError(f"the index at {path} lacks {', '.join(missing)}; rebuild it "
                                 f"with: faithtrace index build CORPUS --out {path}")
    faiss_index = _faiss().read_index(str(path / INDEX_FILE))
    chunks = read_chunks(path / CHUNKS_FILE)
    if faiss_index.d != manifest.dimension or faiss_index.ntotal != len(chunks) \
            or len(chunks) != manifest.chunk_count:
        raise IndexMismatchError(
            f"the index at {path} is inconsistent ({faiss_index.ntotal} vectors of "
            f"{faiss_index.d} dimensions, {len(chunks)} chunks, manifest says "
            f"{manifest.chunk_count} x {manifest.dimension}); rebuild it with: "
            f"faithtrace index build CORPUS --out {path}")
    if manifest.hnsw_ef_search is not None:
        faiss_index.hnsw.efSearch = manifest.hnsw_ef_search
    return VectorIndex(faiss_index, chunks, manifest)
