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
    # The file's text as read with the catalog (UTF-8, newlines untranslated), for byte offsets
    # and quote selectors; None for a Document made by hand.
    text: str | None = field(default=None, compare=False, repr=False)

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
    also: tuple[Passage, ...] = ()  # the same statement elsewhere in the party's programmes (query/repeats.py)

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
        out["also"] = [{"id": a.id, "source": a.source, "line": a.line, "start": a.start, "end": a.end, "text": a.text}
                       for a in self.also]
        if document is not None:
            out["citation"] = citation(document, p)
        out.update(anchors(p, document))
        return out


SELECTOR_CONTEXT = 32  # characters of prefix and suffix in a TextQuoteSelector


def anchors(p: Passage, document: Document | None) -> dict[str, Any]:
    """Where a passage is, for tools: UTF-8 byte offsets into the source file, a W3C
    TextQuoteSelector, and the document's URL with a text fragment (None without a URL).

    The source text is the file decoded as UTF-8 with nothing translated (newlines, a BOM),
    so ``start``/``end`` count code points of the file and ``byte_start``/``byte_end`` the
    same span in the file's bytes. Without the file's text (a Document made by hand), the
    byte offsets are None and prefix/suffix come from the enclosing paragraph.
    """
    text = document.text if document is not None else None
    if text is not None and text[p.start:p.end] == p.text:
        byte_start = len(text[:p.start].encode("utf-8"))
        byte_end = byte_start + len(p.text.encode("utf-8"))
        prefix = text[max(0, p.start - SELECTOR_CONTEXT):p.start]
        suffix = text[p.end:p.end + SELECTOR_CONTEXT]
    else:
        byte_start = byte_end = None
        ctx, at = p.context, p.start - p.context_start
        inside = 0 <= at and ctx[at:at + len(p.text)] == p.text
        prefix = ctx[max(0, at - SELECTOR_CONTEXT):at] if inside else ""
        suffix = ctx[at + len(p.text):at + len(p.text) + SELECTOR_CONTEXT] if inside else ""
    url = document.url if document is not None else None
    return {
        "byte_start": byte_start,
        "byte_end": byte_end,
        "selector": {"type": "TextQuoteSelector", "exact": p.text, "prefix": prefix, "suffix": suffix},
        "url": text_fragment_url(url, p.text) if url else None,
    }


# Text Fragments (https://wicg.github.io/scroll-to-text-fragment/): a directive's terms are
# percent-encoded UTF-8; "-", "," and "&" must be, as they delimit the directive's parts. Only
# ASCII letters, digits and "._~" (unreserved in every URL part) are left as they are.
_FRAGMENT_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.~")
FRAGMENT_WORDS = 4  # words in textStart and in textEnd when the passage is longer than twice that


def fragment_term(text: str) -> str:
    """``text`` percent-encoded (UTF-8) for a text directive."""
    return "".join(ch if ch in _FRAGMENT_SAFE else "".join(f"%{b:02X}" for b in ch.encode("utf-8")) for ch in text)


def text_fragment(text: str) -> str:
    """A text directive matching ``text``: ``:~:text=start`` for a short passage, else
    ``:~:text=first words,last words``. Whitespace runs become one space, as pages render them."""
    words = text.split()
    if len(words) <= 2 * FRAGMENT_WORDS:
        return ":~:text=" + fragment_term(" ".join(words))
    return (":~:text=" + fragment_term(" ".join(words[:FRAGMENT_WORDS])) + ","
            + fragment_term(" ".join(words[-FRAGMENT_WORDS:])))


def text_fragment_url(url: str, text: str) -> str:
    """``url`` with a text fragment for ``text`` (after the URL's own fragment, if it has one)."""
    if not text.split():
        return url
    return url + ("" if "#" in url else "#") + text_fragment(text)


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
    searched: str = ""  # the question as searched: cleaned and cut to length
    truncated: bool = False  # the question was cut to the length limit
    language: str = "nb"  # of the question and so of the notices: "nb", "nn" or "en"
    filtered_out: tuple[str, ...] = ()  # parties the question names that the party filter leaves out
    others_with_passages: tuple[str, ...] = ()  # not answered for the parties asked; these parties have passages
    missing_words: tuple[str, ...] = ()  # content words of the question no passage has in any form (said in the notice)

    def to_dict(self, documents: dict[str, Document] | None = None) -> dict[str, Any]:
        docs = documents or {}
        return {
            "question": self.question,
            "searched": self.searched,
            "truncated": self.truncated,
            "language": self.language,
            "answered": self.answered,
            "notice": self.notice,
            "parties": list(self.parties),
            "missing_parties": list(self.missing_parties),
            "filtered_out": list(self.filtered_out),
            "others_with_passages": list(self.others_with_passages),
            "missing_words": list(self.missing_words),
            "mode": self.mode,
            "passages": [h.to_dict(docs.get(h.passage.source)) for h in self.hits],
        }
