"""Typed records passed between the modules: documents, passages, hits and answers."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Document:
    """One programme text as catalogued in ``sources/catalog.toml``."""

    source: str  # file name under sources/
    party: str
    title: str
    kind: str  # e.g. "partiprogram", "prinsipprogram", "temaside"
    language: str
    sha256: str
    date: str | None = None
    provenance: str | None = None
    chapter: str | None = None
    url: str | None = None
    cite_as: str | None = None  # short name in citations, e.g. "Rusomsorg"
    excluded: tuple[tuple[int, int], ...] = ()  # character ranges that are not programme text
    fictitious: bool = False  # written for a test, for an invented party (catalog: fictitious = true)

    def citation_label(self) -> str:
        """Party and document as a librarian would cite them, e.g. 'Helsepartiet, Prinsipprogram (vedtatt 8. februar 2017)'."""
        label = self.kind[:1].upper() + self.kind[1:] if self.kind else self.title
        if self.date_text:
            label = f"{label} ({self.date_text})"
        return f"{self.party}, {label}"

    @property
    def date_text(self) -> str | None:
        if not self.date:
            return None
        return f"vedtatt {_norwegian_date(self.date)}" if self.kind == "prinsipprogram" else _norwegian_date(self.date)


_MONTHS = ("januar", "februar", "mars", "april", "mai", "juni", "juli", "august",
           "september", "oktober", "november", "desember")


def _norwegian_date(iso: str) -> str:
    parts = iso.split("-")
    if len(parts) == 3:
        y, m, d = parts
        return f"{int(d)}. {_MONTHS[int(m) - 1]} {y}"
    if len(parts) == 2:
        return f"{_MONTHS[int(parts[1]) - 1]} {parts[0]}"
    return iso


@dataclass(frozen=True)
class Passage:
    """One statement quoted from a source: ``source_text[start:end] == text``."""

    id: str
    party: str
    source: str
    title: str
    section: str  # the heading or list lead the passage stands under
    start: int
    end: int
    line: int  # 1-based line number of ``start`` in the source file
    text: str
    context_start: int
    context_end: int
    context: str  # the enclosing paragraph or list

    def embedding_text(self) -> str:
        """What the embedder sees: 'title · heading · passage'."""
        parts = [self.title]
        if self.section and self.section != self.title:
            parts.append(self.section)
        parts.append(self.text)
        return " · ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Passage":
        return cls(**data)


def passage_id(source: str, sha256: str, start: int, end: int) -> str:
    """Stable id: a hash of the source (name and content) and the offsets."""
    key = f"{source}\0{sha256}\0{start}\0{end}".encode()
    return hashlib.sha256(key).hexdigest()[:16]


@dataclass(frozen=True)
class Hit:
    """A passage returned for a question, with its rank and scores."""

    rank: int
    passage: Passage
    score: float  # the fused score that ordered the result
    dense: float | None = None  # cosine similarity, when the dense retriever saw it
    bm25: float | None = None  # BM25 score, when the lexical retriever saw it

    def to_dict(self, document: Document | None = None) -> dict[str, Any]:
        p = self.passage
        out: dict[str, Any] = {
            "rank": self.rank,
            "id": p.id,
            "party": p.party,
            "source": p.source,
            "title": p.title,
            "section": p.section,
            "start": p.start,
            "end": p.end,
            "line": p.line,
            "text": p.text,
            "context": p.context,
            "context_start": p.context_start,
            "context_end": p.context_end,
            "score": round(self.score, 6),
            "dense": None if self.dense is None else round(self.dense, 6),
            "bm25": None if self.bm25 is None else round(self.bm25, 6),
        }
        if document is not None:
            out["citation"] = citation(document, p)
        return out


def citation(document: Document, passage: Passage) -> str:
    """A citation line a librarian can check in the source file."""
    where = f"«{document.cite_as or document.title}»"
    return (f"{document.citation_label()}, {where}, {passage.source}, "
            f"linje {passage.line}, tegn {passage.start}–{passage.end}")


@dataclass(frozen=True)
class Answer:
    """What the chatbot says: the sources' own passages, or a plain notice that there are none."""

    question: str
    answered: bool
    notice: str | None
    parties: tuple[str, ...]  # parties detected in the question
    hits: tuple[Hit, ...] = ()
    missing_parties: tuple[str, ...] = ()  # named in the question, not in the sources
    mode: str = "hybrid"
    timings_ms: dict[str, float] = field(default_factory=dict, compare=False)

    def to_dict(self, documents: dict[str, Document] | None = None) -> dict[str, Any]:
        docs = documents or {}
        return {
            "question": self.question,
            "answered": self.answered,
            "notice": self.notice,
            "parties": list(self.parties),
            "missing_parties": list(self.missing_parties),
            "mode": self.mode,
            "passages": [h.to_dict(docs.get(h.passage.source)) for h in self.hits],
        }
