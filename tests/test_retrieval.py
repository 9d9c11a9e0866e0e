"""Retrieval on the real embedder and real FAISS indexes over a small Factbook subset."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("faiss")
pytest.importorskip("sentence_transformers")

from faithtrace.cli._main import main
from faithtrace.errors import CorpusError, IndexMismatchError, IndexNotFoundError, UsageError
from faithtrace.retrieval import (
    HNSW,
    Corpus,
    Document,
    Embedder,
    Retriever,
    VectorIndex,
    build,
    chunk_document,
    factbook_documents,
    factbook_questions,
    load_corpus,
)

COUNTRIES = ["france", "germany", "japan", "brazil", "kenya", "canada", "india", "australia",
             "egypt", "mexico", "norway", "peru", "thailand", "italy", "argentina"]


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    import faiss
    import torch

    # The machine has two cores shared with other work; more threads only contend.
    torch.set_num_threads(2)
    faiss.omp_set_num_threads(1)
    return Embedder()


@pytest.fixture(scope="session")
def corpus() -> Corpus:
    return Corpus("factbook-15", factbook_documents(COUNTRIES))


@pytest.fixture(scope="session")
def flat_dir(tmp_path_factory: pytest.TempPathFactory, corpus: Corpus, embedder: Embedder) -> Path:
    """The 15-country index, built once and saved."""
    return build(corpus, embedder).save(tmp_path_factory.mktemp("index") / "factbook-15")


@pytest.fixture(scope="session")
def retriever(flat_dir: Path, embedder: Embedder) -> Retriever:
    return Retriever.load(flat_dir, embedder)


def _capital_questions(countries: list[str]) -> list[Any]:
    return [q for q in factbook_questions(countries=countries) if q.field == "capital"]


# -- retrieval quality and persistence ------------------------------------------------------


def test_capital_question_retrieves_its_country_first(retriever: Retriever) -> None:
    questions = _capital_questions(COUNTRIES)
    assert len(questions) == len(COUNTRIES)
    for question in questions:
        hits = retriever.search(question.question, k=3)
        assert [h.rank for h in hits] == [1, 2, 3]
        assert hits[0].doc_id == question.country, (question.question, hits[0])
        assert hits[0].id.startswith(question.country + "#")
        assert hits[0].score >= hits[1].score >= hits[2].score


def test_save_then_load_gives_identical_results(corpus: Corpus, embedder: Embedder,
                                                flat_dir: Path, retriever: Retriever) -> None:
    manifest = json.loads((flat_dir / "manifest.json").read_text())
    assert manifest["embedding_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert manifest["dimension"] == 384
    assert manifest["document_count"] == 15
    assert manifest["chunk_count"] == len(retriever.index.chunks)
    assert manifest["corpus_sha256"] == corpus.checksum()
    assert manifest["index_type"] == "flat-ip"
    assert manifest["index_id"] == retriever.index_id
    assert {"faithtrace_version", "built_at", "chunk_size", "chunk_overlap"} <= manifest.keys()

    vectors = retriever.index.faiss_index.reconstruct_n(0, retriever.index.faiss_index.ntotal)
    in_memory = Retriever(VectorIndex.from_vectors(vectors, retriever.index.chunks,
                                                   retriever.manifest), embedder)
    reloaded = Retriever.load(flat_dir, embedder)
    for query in ("largest city of Japan", "What currency does Peru use?", "fjords and oil"):
        first, again, memory = (r.search(query, 5) for r in (retriever, reloaded, in_memory))
        assert [d.id for d in first] == [d.id for d in again] == [d.id for d in memory]
        assert [d.score for d in first] == pytest.approx([d.score for d in again], abs=1e-6)
        assert [d.score for d in first] == pytest.approx([d.score for d in memory], abs=1e-6)


@pytest.mark.parametrize(("key", "value"), [("embedding_model", "BAAI/bge-small-en-v1.5"),
                                            ("dimension", 768)])
def test_manifest_mismatch_is_refused(tmp_path: Path, flat_dir: Path, embedder: Embedder,
                                      key: str, value: object) -> None:
    copy = Path(shutil.copytree(flat_dir, tmp_path / "edited"))
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest[key] = value
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match="rebuild the index"):
        Retriever.load(copy, embedder)


def test_missing_index_is_a_clear_error(tmp_path: Path, embedder: Embedder) -> None:
    with pytest.raises(IndexNotFoundError, match="faithtrace index build"):
        Retriever.load(tmp_path / "nothing-here", embedder)


def test_hnsw_builds_and_answers(embedder: Embedder) -> None:
    small = ["france", "kenya", "japan", "peru", "norway"]
    index = build(Corpus("five", factbook_documents(small)), embedder, hnsw=True)
    assert index.manifest.index_type == HNSW
    assert index.manifest.hnsw_m == 32
    retriever = Retriever(index, embedder)
    for question in _capital_questions(small):
        assert retriever.search(question.question, k=2)[0].doc_id == question.country


# -- chunking and corpora (no model) ----------------------------------------------------------


def test_chunks_overlap_by_the_configured_words() -> None:
    doc = Document("doc", "Doc", " ".join(f"w{i}" for i in range(10)))
    chunks = chunk_document(doc, size=4, overlap=1)
    assert [c.text.split() for c in chunks] == [["w0", "w1", "w2", "w3"], ["w3", "w4", "w5", "w6"],
                                                ["w6", "w7", "w8", "w9"]]
    assert [c.id for c in chunks] == ["doc#0", "doc#1", "doc#2"]
    assert [c.word_start for c in chunks] == [0, 3, 6]
    chunks = chunk_document(doc, size=4, overlap=2)
    for before, after in itertools.pairwise(chunks):
        assert before.text.split()[-2:] == after.text.split()[:2]
    assert chunks[-1].text.split()[-1] == "w9"
    assert len(chunk_document(Document("s", "S", "just three words"), 4, 2)) == 1
    assert chunk_document(Document("e", "E", "  \n "), 4, 2) == []
    with pytest.raises(UsageError):
        chunk_document(doc, size=4, overlap=4)


def test_jsonl_and_folder_corpora(tmp_path: Path) -> None:
    good = tmp_path / "docs.jsonl"
    good.write_text('{"id": "a", "title": "A", "text": "alpha"}\n\n{"id": 2, "text": "beta"}\n')
    corpus = load_corpus(good)
    assert corpus.name == "docs"
    assert [(d.id, d.title, d.text) for d in corpus.documents] == [("a", "A", "alpha"),
                                                                     ("2", "2", "beta")]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "ok"}\n{"id": "b", "text": \n')
    with pytest.raises(CorpusError, match=r"bad\.jsonl:2: not valid JSON"):
        load_corpus(bad)
    bad.write_text('{"id": "a", "title": "no text"}\n')
    with pytest.raises(CorpusError, match="'id' and 'text'"):
        load_corpus(bad)
    bad.write_text('{"id": "a", "text": "x"}\n{"id": "a", "text": "y"}\n')
    with pytest.raises(CorpusError, match="appears twice"):
        load_corpus(bad)
    with pytest.raises(CorpusError, match="no corpus at"):
        load_corpus(tmp_path / "missing.jsonl")

    folder = tmp_path / "notes"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("first note")
    (folder / "sub" / "b.md").write_text("# second")
    (folder / "ignored.pdf").write_text("not text")
    corpus = load_corpus(folder)
    assert [(d.id, d.title) for d in corpus.documents] == [("a.txt", "a"), ("sub/b.md", "b")]
    assert corpus.checksum() == load_corpus(folder).checksum()


def test_factbook_documents_and_questions_agree() -> None:
    documents = {d.id: d for d in factbook_documents()}
    assert len(documents) > 200
    assert documents["france"].title == "France"
    assert "Capital: Paris" in documents["france"].text
    questions = factbook_questions()
    assert questions == factbook_questions()  # deterministic
    by_id = {q.id: q for q in questions}
    assert by_id["france/capital"].answer == "Paris"
    assert by_id["france/capital"].question == "What is the capital of France?"
    assert len({q.id for q in questions}) == len(questions)
    for question in questions:
        # Every gold answer is in the document that answers it, so retrieval can find it.
        assert question.answer in documents[question.country].text, question


# -- CLI ----------------------------------------------------------------------------------------


def test_index_cli_build_and_info(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  embedder: Embedder) -> None:
    corpus = tmp_path / "tiny.jsonl"
    corpus.write_text("".join(json.dumps({"id": f"d{i}", "title": f"Doc {i}",
                                          "text": f"document number {i} " * 12}) + "\n"
                              for i in range(3)))
    out = tmp_path / "tiny-index"
    assert main(["index", "build", str(corpus), "--out", str(out), "--chunk-size", "20",
                 "--overlap", "5", "--json"]) == 0
    built = json.loads(capsys.readouterr().out)
    assert built["chunk_count"] == 9 and built["chunk_size"] == 20 and built["chunk_overlap"] == 5
    assert main(["index", "info", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["index_id"] == built["index_id"] and info["name"] == "tiny"
    assert main(["index", "build", str(tmp_path / "nope.jsonl"), "--out", str(out)]) == 2
    assert "no corpus at" in capsys.readouterr().err
