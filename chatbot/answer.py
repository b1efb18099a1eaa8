"""Turn a question into an Answer: detect parties, retrieve, fuse, and abstain when nothing fits.

No text is generated: an Answer holds the sources' passages and, at most, one fixed notice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from . import search
from .embedders import Embedder
from .errors import QuestionError
from .index import Index
from .parties import PartyDirectory
from .records import Answer, Hit
from .textnorm import clean_question

MODES = ("hybrid", "dense", "bm25")


@dataclass(frozen=True)
class AnswerSettings:
    """Thresholds and sizes; the thresholds are calibrated on the evaluation's dev questions."""

    min_dense: float = 0.82  # best cosine a question needs to be answered (dense, hybrid)
    passage_floor: float = 0.80  # no passage below this cosine is shown
    passage_margin: float = 0.04  # ... nor one further than this below the best
    min_bm25: float = 4.0  # best BM25 score a question needs in bm25 mode
    bm25_ratio: float = 0.5  # bm25 mode shows passages scoring at least this share of the best
    rrf_k: int = 60
    candidates: int = 50
    max_question_chars: int = 2000

    def __post_init__(self):
        if not 0 < self.passage_margin < 2 or self.candidates < 1 or self.rrf_k < 1 or self.max_question_chars < 10:
            raise ValueError("invalid AnswerSettings")


NOTICE_EMPTY = "Spørsmålet er tomt. Skriv et spørsmål, for eksempel «Hva vil Venstre med LAR?»."
NOTICE_NONE = "Fant ingen relevante avsnitt i kildene."
NOTICE_ONLY_PARTY = "Spørsmålet nevner bare et parti. Spør om et tema, for eksempel «Hva vil {party} med bolig?»."


class Answerer:
    """Answers questions from one loaded index with one warmed-up embedder."""

    def __init__(self, index: Index, embedder: Embedder, parties: PartyDirectory,
                 settings: AnswerSettings = AnswerSettings()):
        self.index = index
        self.embedder = embedder
        self.parties = parties
        self.settings = settings

    @property
    def available_parties(self) -> tuple[str, ...]:
        return self.index.parties

    def ask(self, question: str, k: int = 5, party: str | tuple[str, ...] | list[str] | None = None,
            mode: str = "hybrid") -> Answer:
        if mode not in MODES:
            raise QuestionError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
        if not isinstance(k, int) or not 1 <= k <= 50:
            raise QuestionError("k must be a whole number from 1 to 50")
        if not isinstance(question, str):
            raise QuestionError("the question must be text")
        t0 = time.perf_counter()
        cleaned = clean_question(question)
        notices: list[str] = []
        if not cleaned:
            return Answer(question, False, NOTICE_EMPTY, (), mode=mode)
        if len(cleaned) > self.settings.max_question_chars:
            cleaned = cleaned[:self.settings.max_question_chars].rsplit(" ", 1)[0] or cleaned[:self.settings.max_question_chars]
            notices.append(f"Spørsmålet var svært langt; bare de første {len(cleaned)} tegnene er brukt.")
        mentions = self.parties.find(cleaned)
        named = tuple(dict.fromkeys(m.party for m in mentions))
        available = self.available_parties
        requested = _requested(party)
        unknown_filter = [p for p in requested if p not in available]
        if unknown_filter:
            return Answer(question, False, _missing_notice(unknown_filter, available), named,
                          missing_parties=tuple(unknown_filter), mode=mode)
        missing = tuple(p for p in named if p not in available)
        present = tuple(p for p in named if p in available)
        if missing and not present and not requested:
            return Answer(question, False, _missing_notice(missing, available), named,
                          missing_parties=missing, mode=mode)
        if missing:
            notices.append(_missing_notice(missing, available))
        restrict = requested or present
        query = _without_mentions(cleaned, mentions)
        if not any(ch.isalnum() for ch in query):
            if mentions:
                return Answer(question, False, " ".join(notices + [NOTICE_ONLY_PARTY.format(party=present[0] if present else named[0])]),
                              named, missing_parties=missing, mode=mode)
            return Answer(question, False, " ".join(notices + [NOTICE_NONE]), named, missing_parties=missing, mode=mode)
        hits, timings = self._retrieve(query, k, restrict, mode)
        timings["total"] = (time.perf_counter() - t0) * 1000
        if not hits:
            return Answer(question, False, " ".join(notices + [NOTICE_NONE]), named, missing_parties=missing,
                          mode=mode, timings_ms=timings)
        return Answer(question, True, " ".join(notices) or None, named, tuple(hits), missing, mode, timings)

    def _retrieve(self, query: str, k: int, restrict: tuple[str, ...], mode: str) -> tuple[list[Hit], dict]:
        s = self.settings
        allowed = search.allowed_ids(self.index, restrict or None)
        timings: dict[str, float] = {}
        dense_hits: list[tuple[int, float]] = []
        lexical: list[tuple[int, float]] = []
        if mode in ("dense", "hybrid"):
            t = time.perf_counter()
            vector = self.embedder.embed_queries([query])[0]
            timings["embed"] = (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            dense_hits = search.dense(self.index, vector, allowed, s.candidates)
            timings["dense"] = (time.perf_counter() - t) * 1000
        if mode in ("bm25", "hybrid"):
            t = time.perf_counter()
            lexical = search.bm25(self.index, query, allowed, s.candidates)
            timings["bm25"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        cosine = dict(dense_hits)
        lex = dict(lexical)
        if mode == "bm25":
            if not lexical or lexical[0][1] < s.min_bm25:
                return [], timings
            best = lexical[0][1]
            ranked = [(r, sc) for r, sc in lexical if sc >= s.bm25_ratio * best]
        else:
            if not dense_hits or dense_hits[0][1] < s.min_dense:
                return [], timings
            floor = max(s.passage_floor, dense_hits[0][1] - s.passage_margin)
            fused = dense_hits if mode == "dense" else search.rrf(dense_hits, lexical, k=s.rrf_k)
            ranked = [(r, sc) for r, sc in fused if cosine.get(r, -1.0) >= floor]
        chosen = _with_each_party(ranked, k, self.index, restrict)
        timings["fuse"] = (time.perf_counter() - t) * 1000
        hits = [Hit(rank=i + 1, passage=self.index.passages[row], score=score,
                    dense=cosine.get(row), bm25=lex.get(row)) for i, (row, score) in enumerate(chosen)]
        return hits, timings


def _with_each_party(ranked: list[tuple[int, float]], k: int, index: Index, restrict: tuple[str, ...]) -> list[tuple[int, float]]:
    """Top k; when no party was asked for, each party with a qualifying passage keeps at least one place."""
    top = ranked[:k]
    if restrict or len(top) < k:
        return top
    shown = {index.passages[r].party for r, _ in top}
    for row, score in ranked[k:]:
        party = index.passages[row].party
        if party in shown:
            continue
        # replace the lowest-ranked passage of a party that has more than one place
        counts: dict[str, int] = {}
        for r, _ in top:
            counts[index.passages[r].party] = counts.get(index.passages[r].party, 0) + 1
        for j in range(len(top) - 1, -1, -1):
            if counts[index.passages[top[j][0]].party] > 1:
                top.pop(j)
                top.append((row, score))
                shown.add(party)
                break
    return top


def _requested(party) -> tuple[str, ...]:
    if party is None:
        return ()
    if isinstance(party, str):
        party = [party]
    return tuple(dict.fromkeys(p.strip() for p in party if p and p.strip()))


def _missing_notice(missing, available) -> str:
    names = ", ".join(missing)
    verb = "finnes" if len(missing) == 1 else "finnes"
    return f"{names} {verb} ikke i kildene (tilgjengelig: {', '.join(available)})."


def _without_mentions(text: str, mentions) -> str:
    """The question with party names cut out, so they do not steer retrieval."""
    out, pos = [], 0
    for m in mentions:
        out.append(text[pos:m.start])
        pos = m.end
    out.append(text[pos:])
    return " ".join("".join(out).split())


def settings_with(**changes) -> AnswerSettings:
    return replace(AnswerSettings(), **changes)
