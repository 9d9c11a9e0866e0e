"""`faithtrace index build|info`: retrieval indexes for the RAG agent and the search tool."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from faithtrace.cli._output import print_json


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
             add_db: Callable[[argparse.ArgumentParser], None]) -> None:
    from faithtrace.retrieval._corpus import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE

    index = subparsers.add_parser("index", help="build and inspect retrieval indexes")
    verbs = index.add_subparsers(dest="index_command", required=True, metavar="VERB")
    build = verbs.add_parser("build", help="chunk, embed and index a corpus")
    build.add_argument("corpus", metavar="CORPUS",
                       help="'factbook' (built in), a .jsonl file (id, title, text per line) "
                            "or a folder of .txt/.md files")
    build.add_argument("--out", metavar="DIR", default=None,
                       help="index directory (default: <cache>/indexes/<corpus name>)")
    build.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE, metavar="N",
                       help=f"words per chunk (default {DEFAULT_CHUNK_SIZE})")
    build.add_argument("--overlap", type=int, default=DEFAULT_CHUNK_OVERLAP, metavar="N",
                       help=f"words shared by consecutive chunks (default {DEFAULT_CHUNK_OVERLAP})")
    build.add_argument("--hnsw", action="store_true",
                       help="approximate HNSW index instead of exact flat inner product")
    build.add_argument("--embedding-model", default=None, metavar="DIR",
                       help="a local sentence-transformers model directory "
                            "(default: the packaged all-MiniLM-L6-v2)")
    build.add_argument("--json", action="store_true", help="print the manifest as JSON")
    build.set_defaults(handler=run_build)
    info = verbs.add_parser("info", help="show an index's manifest")
    info.add_argument("directory", metavar="DIR", help="index directory, or the name of one "
                                                       "in the cache (e.g. factbook)")
    info.add_argument("--json", action="store_true", help="print as JSON")
    info.set_defaults(handler=run_info)


@contextmanager
def embedding_progress(label: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar over embedding batches, on stderr; yields the callback to feed it."""
    console = Console(stderr=True)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("chunks"), TimeElapsedColumn(), console=console,
                  transient=False) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _print_manifest(data: dict[str, object], directory: Path) -> None:
    console = Console()
    console.print(f"[bold]{data.get('index_id')}[/bold]  {directory}")
    for key, value in data.items():
        if key != "index_id" and value is not None:
            console.print(f"  {key:<20} {value}", markup=False, highlight=False, soft_wrap=True)


def run_build(args: argparse.Namespace) -> int:
    from faithtrace.retrieval import Embedder, build, indexes_dir, load_corpus

    corpus = load_corpus(args.corpus)
    out = Path(args.out) if args.out else indexes_dir() / corpus.name
    print("loading the embedding model ...", file=sys.stderr)
    embedder = Embedder(args.embedding_model)
    with embedding_progress(f"embedding {corpus.name}") as progress:
        index = build(corpus, embedder, chunk_size=args.chunk_size, overlap=args.overlap,
                      hnsw=args.hnsw, progress=progress)
    index.save(out)
    if args.json:
        print_json({**index.manifest.to_dict(), "directory": str(out)})
    else:
        _print_manifest(index.manifest.to_dict(), out)
    return 0


def run_info(args: argparse.Namespace) -> int:
    from faithtrace.retrieval import index_path, read_manifest

    directory = index_path(args.directory)
    data = read_manifest(directory).to_dict()
    if args.json:
        print_json({**data, "directory": str(directory)})
    else:
        _print_manifest(data, directory)
    return 0
