"""Retrieval cost: FAISS build time and query latency (flat vs HNSW), and real embedding throughput.

    .venv/bin/python benchmarks/retrieval.py [--sizes 10000 100000] [--threads 1] [--queries 200]

Two kinds of numbers, kept apart in the output:
- index rows use SYNTHETIC vectors (random, unit length, 384-d, the shape of all-MiniLM-L6-v2's
  output), because embedding 100k real chunks would take hours on two cores; FAISS cost does not
  depend on where the vectors came from, only HNSW recall does (reported against the flat index).
- the embedding row uses the REAL model on real Factbook chunks, to price building real indexes.
- the last row is HNSW recall on REAL vectors (the saved factbook index, queried with Factbook
  questions): random vectors are HNSW's worst case, so their recall says little about real use.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass

import numpy as np

from faithtrace.retrieval import (
    FLAT,
    HNSW,
    Embedder,
    Manifest,
    Retriever,
    VectorIndex,
    chunk_corpus,
    factbook_documents,
    factbook_questions,
    indexes_dir,
)
from faithtrace.retrieval._corpus import Chunk, embedding_text

DIMENSION = 384


@dataclass
class Row:
    kind: str
    size: int
    build_s: float
    p50_ms: float
    p99_ms: float
    recall_at_10: float | None


def _unit_vectors(rng: np.random.Generator, count: int) -> np.ndarray:
    vectors = rng.standard_normal((count, DIMENSION)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def _manifest(size: int, index_type: str) -> Manifest:
    return Manifest(name="synthetic", embedding_model="synthetic", dimension=DIMENSION,
                    chunk_size=0, chunk_overlap=0, index_type=index_type, document_count=size,
                    chunk_count=size, corpus_sha256="", faithtrace_version="", built_at="",
                    build_seconds=0.0)


def _bench_index(kind: str, vectors: np.ndarray, queries: np.ndarray,
                 truth: list[set[int]] | None) -> tuple[Row, list[set[int]]]:
    chunks = [Chunk(str(i), str(i), "", "", 0, 0) for i in range(len(vectors))]
    started = time.perf_counter()
    index = VectorIndex.from_vectors(vectors, chunks, _manifest(len(vectors), kind))
    build_s = time.perf_counter() - started
    latencies, found = [], []
    # One query per call, as an agent asks: latency, not batched throughput.
    for query in queries:
        started = time.perf_counter()
        hits = index.search(query[None, :], 10)[0]
        latencies.append((time.perf_counter() - started) * 1000)
        found.append({position for position, _ in hits})
    latencies.sort()
    recall = None
    if truth is not None:
        recall = statistics.mean(len(f & t) / len(t) for f, t in zip(found, truth, strict=True))
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    return Row(kind, len(vectors), build_s, statistics.median(latencies), p99, recall), found


def _embedding_throughput(sample: int) -> tuple[int, float, float]:
    """(chunks embedded, seconds, chunks per second) with the real model on Factbook chunks."""
    chunks = chunk_corpus(factbook_documents())[:sample]
    embedder = Embedder()
    embedder.encode([embedding_text(chunks[0])])  # warm-up: first call pays one-off setup
    started = time.perf_counter()
    embedder.encode([embedding_text(c) for c in chunks])
    seconds = time.perf_counter() - started
    return len(chunks), seconds, len(chunks) / seconds


def _real_recall(questions: int) -> tuple[int, int, float] | None:
    """(vectors, queries, HNSW recall@10 against flat) on the saved factbook index, if built."""
    directory = indexes_dir() / "factbook"
    if not (directory / "manifest.json").is_file():
        return None
    flat = Retriever.load(directory)
    vectors = flat.index.faiss_index.reconstruct_n(0, flat.index.faiss_index.ntotal)
    queries = flat.embedder.encode([q.question for q in factbook_questions()[:questions]])
    hnsw = VectorIndex.from_vectors(vectors, flat.index.chunks,
                                    _manifest(len(vectors), HNSW))
    truth = flat.index.search(queries, 10)
    found = hnsw.search(queries, 10)
    recall = statistics.mean(len({i for i, _ in f} & {i for i, _ in t}) / len(t)
                             for f, t in zip(found, truth, strict=True))
    return len(vectors), len(queries), recall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1, help="torch and FAISS threads")
    parser.add_argument("--embed-sample", type=int, default=128,
                        help="real chunks to embed for the throughput row (0 to skip)")
    args = parser.parse_args()

    import faiss
    import torch

    faiss.omp_set_num_threads(args.threads)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    rows = []
    for size in args.sizes:
        vectors = _unit_vectors(rng, size)
        queries = _unit_vectors(rng, args.queries)
        flat, truth = _bench_index(FLAT, vectors, queries, None)
        hnsw, _ = _bench_index(HNSW, vectors, queries, truth)
        rows += [flat, hnsw]
        print(f"  done {size:,}", flush=True)

    print(f"\nFAISS {faiss.__version__}, {args.threads} thread(s), synthetic unit vectors "
          f"({DIMENSION}-d), {args.queries} single queries, k=10")
    print(f"{'index':<8} {'vectors':>9} {'build s':>9} {'p50 ms':>8} {'p99 ms':>8} {'recall@10':>10}")
    for row in rows:
        recall = f"{row.recall_at_10:.3f}" if row.recall_at_10 is not None else "exact"
        print(f"{row.kind:<8} {row.size:>9,} {row.build_s:>9.2f} {row.p50_ms:>8.3f} "
              f"{row.p99_ms:>8.3f} {recall:>10}")
    if args.embed_sample:
        count, seconds, rate = _embedding_throughput(args.embed_sample)
        print(f"\nREAL embedding (all-MiniLM-L6-v2, Factbook chunks of <=128 words, batch 32): "
              f"{count} chunks in {seconds:.1f} s = {rate:.1f} chunks/s")
        real = _real_recall(100)
        if real is None:
            print("REAL HNSW recall: skipped (build the factbook index first)")
        else:
            print(f"REAL HNSW recall@10 vs flat on the factbook index: {real[2]:.3f} "
                  f"({real[0]} vectors, {real[1]} Factbook questions)")


if __name__ == "__main__":
    main()
