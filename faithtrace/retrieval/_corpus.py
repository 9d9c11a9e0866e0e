"""Corpora: documents from a JSONL file or a folder of text files, and word-window chunks of them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from faithtrace.errors import CorpusError, UsageError

TEXT_SUFFIXES = (".txt", ".md")
DEFAULT_CHUNK_SIZE = 128
"""Words per chunk: about 170 word pieces, inside all-MiniLM-L6-v2's 256-token window."""
DEFAULT_CHUNK_OVERLAP = 32


@dataclass(frozen=True)
class Document:
    """One corpus document."""

    id: str
    title: str
    text: str


@dataclass(frozen=True)
class Chunk:
    """A window of a document's words: the unit that is embedded and retrieved."""

    id: str
    """`{doc_id}#{n}`."""
    doc_id: str
    title: str
    text: str
    number: int
    """Position of the chunk in its document, from 0."""
    word_start: int
    """Index of the chunk's first word in its document."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Corpus:
    """Named documents, in a stable order."""

    name: str
    documents: list[Document]

    def checksum(self) -> str:
        """sha256 of the documents as canonical JSON lines: same text, same checksum."""
        digest = hashlib.sha256()
        for doc in self.documents:
            line = json.dumps([doc.id, doc.title, doc.text], ensure_ascii=False, separators=(",", ":"))
            digest.update(line.encode("utf-8") + b"\n")
        return digest.hexdigest()


def _checked(documents: list[Document], source: Path) -> list[Document]:
    seen: set[str] = set()
    for doc in documents:
        if doc.id in seen:
            raise CorpusError(f"{source}: document id {doc.id!r} appears twice; ids must be unique")
        seen.add(doc.id)
    if not documents:
        raise CorpusError(f"{source} holds no documents; add lines {{'id', 'title', 'text'}} "
                          f"or .txt/.md files")
    return documents


def load_jsonl(path: Path) -> list[Document]:
    """Documents from JSON lines with `id`, `text` and (optionally) `title`."""
    documents = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise CorpusError(f"{where}: not valid JSON ({error.msg}); each line must be one "
                                  f"object like {{\"id\": ..., \"title\": ..., \"text\": ...}}") from error
            if not isinstance(record, dict) or "id" not in record or "text" not in record:
                raise CorpusError(f"{where}: each line must be a JSON object with 'id' and 'text' "
                                  f"(and optionally 'title')")
            if not isinstance(record["text"], str):
                raise CorpusError(f"{where}: 'text' must be a string")
            doc_id = str(record["id"])
            documents.append(Document(doc_id, str(record.get("title") or doc_id), record["text"]))
    return _checked(documents, path)


def load_folder(path: Path) -> list[Document]:
    """Every .txt and .md file under `path`: id = relative path, title = file stem."""
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES)
    documents = [Document(p.relative_to(path).as_posix(), p.stem,
                          p.read_text(encoding="utf-8", errors="replace")) for p in files]
    return _checked(documents, path)


def load_corpus(source: str | Path) -> Corpus:
    """`factbook` (the built-in knowledge base), a .jsonl file, or a folder of .txt/.md files."""
    if str(source) == "factbook":
        from faithtrace.retrieval._factbook import factbook_documents

        return Corpus("factbook", factbook_documents())
    path = Path(source).expanduser()
    if path.is_dir():
        return Corpus(path.resolve().name, load_folder(path))
    if path.is_file():
        if path.suffix.lower() not in (".jsonl", ".ndjson"):
            raise CorpusError(f"{path} is not a .jsonl file; pass 'factbook', a .jsonl file or a "
                              f"folder of .txt/.md files")
        return Corpus(path.stem, load_jsonl(path))
    raise CorpusError(f"no corpus at {path}; pass 'factbook', a .jsonl file or a folder of "
                      f".txt/.md files")


def check_chunking(size: int, overlap: int) -> None:
    if size < 1:
        raise UsageError(f"chunk size must be at least 1 word (got {size})")
    if not 0 <= overlap < size:
        raise UsageError(f"overlap must be at least 0 and less than the chunk size {size} "
                         f"(got {overlap})")


def chunk_document(doc: Document, size: int = DEFAULT_CHUNK_SIZE,
                   overlap: int = DEFAULT_CHUNK_OVERLAP) -> list[Chunk]:
    """Windows of `size` words, each starting `size - overlap` words after the last.

    The last window ends at the document's end; a document with no words gives no chunk.
    """
    check_chunking(size, overlap)
    words = doc.text.split()
    step = size - overlap
    chunks: list[Chunk] = []
    start = 0
    while start < len(words):
        chunks.append(Chunk(f"{doc.id}#{len(chunks)}", doc.id, doc.title,
                            " ".join(words[start:start + size]), len(chunks), start))
        if start + size >= len(words):
            break
        start += step
    return chunks


def chunk_corpus(documents: Iterable[Document], size: int = DEFAULT_CHUNK_SIZE,
                 overlap: int = DEFAULT_CHUNK_OVERLAP) -> list[Chunk]:
    return [chunk for doc in documents for chunk in chunk_document(doc, size, overlap)]


def embedding_text(chunk: Chunk) -> str:
    """What is embedded for a chunk: its title first, so a later window of a document still says
    what it is about ("France" in every France chunk), though only the text is stored as content."""
    return f"{chunk.title}\n{chunk.text}"


def write_chunks(path: Path, chunks: Sequence[Chunk]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for chunk in chunks:
            out.write(json.dumps(chunk.to_dict(), ensure_ascii=False) + "\n")


def read_chunks(path: Path) -> list[Chunk]:
    with path.open(encoding="utf-8") as lines:
        return [Chunk(**json.loads(line)) for line in lines if line.strip()]
