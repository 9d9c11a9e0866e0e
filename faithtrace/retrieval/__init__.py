"""Retrieval: offline embeddings, FAISS indexes saved with a manifest, corpora and the Factbook."""

from faithtrace.retrieval._corpus import (
    DEFAULT_CHUNK_OVERLAP,
    DEFAULT_CHUNK_SIZE,
    Chunk,
    Corpus,
    Document,
    chunk_corpus,
    chunk_document,
    load_corpus,
)
from faithtrace.retrieval._embedder import DEFAULT_EMBEDDING_MODEL, Embedder
from faithtrace.retrieval._factbook import FactbookQuestion, factbook_documents, factbook_questions
from faithtrace.retrieval._index import FLAT, HNSW, MANIFEST_FILE, Manifest, VectorIndex, build, read_manifest
from faithtrace.retrieval._retriever import (
    DEFAULT_INDEX,
    RetrievedDocument,
    Retriever,
    ensure_factbook_index,
    index_path,
    indexes_dir,
)

__all__ = [
    "DEFAULT_CHUNK_OVERLAP",
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_EMBEDDING_MODEL",
    "DEFAULT_INDEX",
    "FLAT",
    "HNSW",
    "MANIFEST_FILE",
    "Chunk",
    "Corpus",
    "Document",
    "Embedder",
    "FactbookQuestion",
    "Manifest",
    "RetrievedDocument",
    "Retriever",
    "VectorIndex",
    "build",
    "chunk_corpus",
    "chunk_document",
    "ensure_factbook_index",
    "factbook_documents",
    "factbook_questions",
    "index_path",
    "indexes_dir",
    "load_corpus",
    "read_manifest",
]
