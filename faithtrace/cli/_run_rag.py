"""`faithtrace run rag "QUESTION"`: retrieve sources, answer with citations, trace it all."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from faithtrace.agents import require_question
from faithtrace.cli._run import add_agent_parser, report, start


def register(agents: argparse._SubParsersAction[argparse.ArgumentParser],
             add_db: Callable[[argparse.ArgumentParser], None]) -> None:
    parser = add_agent_parser(agents, "rag", "retrieval-augmented: answer from retrieved "
                              "sources, citing them as [n]", add_db, run_rag)
    parser.add_argument("--index", default=None, metavar="DIR",
                        help="index directory or cached index name (default: the factbook "
                             "index, built on first use)")
    parser.add_argument("--k", type=int, default=4, metavar="N",
                        help="sources to retrieve (default 4)")


def run_rag(args: argparse.Namespace) -> int:
    from faithtrace.agents._rag import RAGAgent
    from faithtrace.cli._index import embedding_progress
    from faithtrace.errors import UsageError
    from faithtrace.retrieval import (
        DEFAULT_INDEX,
        MANIFEST_FILE,
        Embedder,
        Retriever,
        ensure_factbook_index,
        index_path,
        indexes_dir,
    )

    require_question(args.question)
    if args.k < 1:
        raise UsageError(f"--k must be at least 1 (got {args.k})")
    embedder = Embedder()
    if args.index is None:
        directory = indexes_dir() / DEFAULT_INDEX
        if not (directory / MANIFEST_FILE).is_file():
            print(f"building the factbook index in {directory} (first use) ...", file=sys.stderr)
            with embedding_progress("embedding factbook") as progress:
                ensure_factbook_index(directory, embedder=embedder, progress=progress)
    else:
        directory = index_path(args.index)
    retriever = Retriever.load(directory, embedder)
    tracing, backend, recorder = start(args)
    agent = RAGAgent(backend, recorder, retriever, k=args.k, max_new_tokens=args.max_new_tokens,
                     temperature=args.temperature, seed=args.seed)
    episode = agent.run(args.question)
    tracing.shutdown()
    report(episode, args, tracing)
    if not args.json:
        cited = ", ".join(f"[{n}]" for n in episode.citations) or "none"
        print(f"sources cited: {cited}", file=sys.stderr)
    return 0
