"""The `search` tool for tool-using agents (ReAct): the RAG agent's retriever behind a `@tool`.

Importing this module registers `search` in the default tool registry. The index loads on the
first call, not at import, so listing tools never loads torch or builds anything.
"""

from __future__ import annotations

import os
import threading

from faithtrace.agents._tools import default_registry, tool
from faithtrace.errors import ToolError
from faithtrace.retrieval._retriever import Retriever, ensure_factbook_index, index_path

MAX_K = 10
PASSAGE_CHARS = 400
"""Each passage is cut to this many characters: small models have small context windows."""

_lock = threading.Lock()
_retriever: Retriever | None = None
_index_dir: str | os.PathLike[str] | None = None


def configure_search(index: str | os.PathLike[str] | Retriever | None = None) -> None:
    """Point the `search` tool at an index directory (or name, or a loaded `Retriever`).

    None goes back to the default, the factbook index. Takes effect at the next search.
    """
    global _retriever, _index_dir
    with _lock:
        _retriever = index if isinstance(index, Retriever) else None
        _index_dir = None if isinstance(index, Retriever) else index


def search_retriever() -> Retriever:
    """The retriever the tool uses, loaded (and the factbook index built) on first use."""
    global _retriever
    with _lock:
        if _retriever is None:
            directory = (index_path(_index_dir) if _index_dir is not None
                         else ensure_factbook_index())
            _retriever = Retriever.load(directory)
        return _retriever


@tool
def search(query: str, k: int = 3) -> str:
    """Search the knowledge base (by default the CIA World Factbook: countries' capitals,
    population, languages, geography, economy) and return the best passages, numbered.

    Args:
        query: what to look for, e.g. "capital of Kenya"
        k: how many passages to return, 1 to 10 (default 3)
    """
    if not query.strip():
        raise ToolError("search needs a query, e.g. search[capital of Kenya]")
    if not 1 <= k <= MAX_K:
        raise ToolError(f"k must be between 1 and {MAX_K}, not {k}")
    documents = search_retriever().search(query, k)
    if not documents:
        return "no results"
    lines = []
    for doc in documents:
        text = doc.text if len(doc.text) <= PASSAGE_CHARS else doc.text[:PASSAGE_CHARS] + " ..."
        lines.append(f"[{doc.rank}] {doc.title}: {text}")
    return "\n".join(lines)


default_registry().register(search)
