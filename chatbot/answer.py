"""Turn a question into an Answer: detect parties, retrieve, fuse, and abstain when nothing fits.

No text is generated: an Answer holds the sources' passages and, at most, one fixed notice.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from . import search
from .embedders import Embedder
from .errors import QuestionError
from .index import Index
from .parties import PartyDirectory
from .records import Answer, Hit
from .querylang import EMPTY as EMPTY_GLOSSARY
from .querylang import Glossary, query_forms
from .textnorm import clean_question, tokens, valid_text

MODES = ("hybrid", "dense", "bm25")


@dataclass(frozen=True)
class AnswerSettings:
    """Thresholds and sizes. The thresholds are calibrated on the evaluation's dev questions
    (``chatbot eval --calibrate --split dev``) for the default model.

    Hybrid mode scores a passage as cosine + ``bm25_weight`` · ln(1 + BM25): the question is
    answered when the best passage reaches ``min_score``, and passages are shown down to
    ``passage_margin`` below the best (never below ``passage_floor``). Dense and BM25 modes
    use their own score alone, with ``min_dense`` and ``min_bm25``.
    """

    min_score: float = 0.845
    bm25_weight: float = 0.04
    passage_floor: float = 0.80
    passage_margin: float = 0.05
    min_dense: float = 0.805
    min_bm25: float = 0.375
    bm25_ratio: float = 0.5  # bm25 mode shows passages scoring at least this share of the best
    # A question naming a party is declined when another party's passages match its words
    # at least ``other_ratio`` times better (BM25 >= ``other_min_bm25``) and are as close in
    # meaning (cosine within ``other_dense_margin``): the topic is there, but not for that party.
    other_ratio: float = 2.0
    other_min_bm25: float = 1.5
    other_dense_margin: float = 0.01
    fusion: str = "score"  # "score" (the combined score, measured best) or "rrf" (reciprocal rank) orders hybrid results
    rrf_k: int = 60
    candidates: int = 50
    max_question_chars: int = 2000

    def __post_init__(self):
        if (not 0 < self.passage_margin < 2 or self.candidates < 1 or self.rrf_k < 1
                or self.max_question_chars < 10 or self.bm25_weight < 0 or self.fusion not in ("rrf", "score")):
            raise ValueError("invalid AnswerSettings")


@dataclass(frozen=True)
class Evidence:
    """What retrieval found for a question, before any threshold."""

    query: str  # the text searched: the question without party names, plus glossary terms
    language: str
    ranked: tuple[tuple[int, float], ...]  # (row, ordering score), best first, allowed rows only
    cosine: dict[int, float]
    bm25: dict[int, float]
    best_score: float | None  # best combined score (hybrid)
    best_dense: float | None
    best_bm25: float | None
    other_party: str | None  # a party whose passages fit clearly better (party-restricted questions)
    timings: dict[str, float]


NOTICE_EMPTY = "Spørsmålet er tomt. Skriv et spørsmål, for eksempel «Hva vil Venstre med LAR?»."
NOTICE_NONE = "Fant ingen relevante avsnitt i kildene."
NOTICE_ONLY_PARTY = "Spørsmålet nevner bare et parti. Spør om et tema, for eksempel «Hva vil {party} med bolig?»."
NOTICE_OTHER_PARTY = "Fant ingen relevante avsnitt fra {party} i kildene. {other} har avsnitt om dette; spør uten partinavn for å se dem."
NOTICE_ONLY_PARTIES = "Spørsmålet nevner bare partier. Spør om et tema, for eksempel «Hva vil {party} med bolig?»."


class Answerer:
    """Answers questions from one loaded index with one warmed-up embedder."""

    def __init__(self, index: Index, embedder: Embedder, parties: PartyDirectory,
                 settings: AnswerSettings = AnswerSettings(), glossary: Glossary = EMPTY_GLOSSARY):
        self.index = index
        self.embedder = embedder
        self.parties = parties
        self.settings = settings
        self.glossary = glossary

    @property
    def available_parties(self) -> tuple[str, ...]:
        return self.index.parties

    def ask(self, question: str, k: int = 5, party: str | tuple[str, ...] | list[str] | None = None,
            mode: str = "hybrid") -> Answer:
        if mode not in MODES:
            raise QuestionError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 50:
            raise QuestionError("k must be a whole number from 1 to 50")
        if not isinstance(question, str):
            raise QuestionError("the question must be text")
        question = valid_text(question)  # lone surrogates (from JSON or undecodable input) become U+FFFD
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
        requested = tuple(valid_text(p) for p in _requested(party))
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
                only = NOTICE_ONLY_PARTIES if len(named) > 1 else NOTICE_ONLY_PARTY
                return Answer(question, False, " ".join(notices + [only.format(party=present[0] if present else named[0])]),
                              named, missing_parties=missing, mode=mode)
            return Answer(question, False, " ".join(notices + [NOTICE_NONE]), named, missing_parties=missing, mode=mode)
        evidence = self.evidence(query, restrict, mode)
        hits, notice = self._decide(evidence, k, restrict, mode)
        timings = dict(evidence.timings)
        timings["total"] = (time.perf_counter() - t0) * 1000
        if not hits:
            return Answer(question, False, " ".join(notices + [notice or NOTICE_NONE]), named, missing_parties=missing,
                          mode=mode, timings_ms=timings)
        return Answer(question, True, " ".join(notices) or None, named, tuple(hits), missing, mode, timings)

    def evidence(self, query: str, restrict: tuple[str, ...] = (), mode: str = "hybrid") -> Evidence:
        """Search ``query`` (already without party names) among the passages of ``restrict``."""
        s = self.settings
        timings: dict[str, float] = {}
        t = time.perf_counter()
        vocab = getattr(self.index.bm25, "vocab_dict", {})
        forms = query_forms(query, self.glossary, known=lambda w: bool(tokens(w)) and all(x in vocab for x in tokens(w)))
        text = f"{query} {forms.norwegian}".strip()
        timings["query"] = (time.perf_counter() - t) * 1000
        # the rows of the asked-for parties and of all the others, made once per party set (no O(n) work here)
        rows = self.index.party_rows(restrict) if restrict else None
        allowed = rows.allowed if rows else None
        dense_hits: list[tuple[int, float]] = []
        lexical: list[tuple[int, float]] = []
        others_dense: list[tuple[int, float]] = []
        others_lexical: list[tuple[int, float]] = []
        others = rows.others if rows and mode == "hybrid" else None
        if mode in ("dense", "hybrid"):
            t = time.perf_counter()
            vector = self.embedder.embed_queries([text])[0]
            timings["embed"] = (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            dense_hits = search.dense(self.index, vector, allowed, s.candidates)
            if others is not None and len(others):
                others_dense = search.dense(self.index, vector, others, 1)
            timings["dense"] = (time.perf_counter() - t) * 1000
        if mode in ("bm25", "hybrid"):
            t = time.perf_counter()
            lexical = search.bm25(self.index, text, allowed, s.candidates)
            if others is not None and len(others):
                others_lexical = search.bm25(self.index, text, others, 1)
            timings["bm25"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        cosine, lex = dict(dense_hits), dict(lexical)
        best_score = max((self._score(c, lex.get(r, 0.0)) for r, c in dense_hits), default=None)
        if mode == "bm25":
            ranked = lexical
        elif mode == "dense" or s.fusion == "score":
            key = (lambda rc: rc[1]) if mode == "dense" else (lambda rc: self._score(rc[1], lex.get(rc[0], 0.0)))
            ranked = sorted(((r, key((r, c))) for r, c in dense_hits), key=lambda x: (-x[1], x[0]))
        else:
            ranked = search.rrf(dense_hits, lexical, k=s.rrf_k)
        other_party = None
        if others_dense and others_lexical and dense_hits:
            own_bm25 = lexical[0][1] if lexical else 0.0
            row, other_bm25 = others_lexical[0]
            if (other_bm25 >= s.other_min_bm25 and other_bm25 >= s.other_ratio * own_bm25
                    and others_dense[0][1] >= dense_hits[0][1] - s.other_dense_margin):
                other_party = self.index.passages[row].party
        timings["fuse"] = (time.perf_counter() - t) * 1000
        return Evidence(text, forms.language, tuple(ranked), cosine, lex, best_score,
                        dense_hits[0][1] if dense_hits else None, lexical[0][1] if lexical else None,
                        other_party, timings)

    def _score(self, cosine: float, bm25: float) -> float:
        return cosine + self.settings.bm25_weight * math.log1p(bm25)

    def _decide(self, ev: Evidence, k: int, restrict: tuple[str, ...], mode: str) -> tuple[list[Hit], str | None]:
        """The passages to show (none when the question is declined) and the notice for a decline."""
        s = self.settings
        if mode == "bm25":
            if ev.best_bm25 is None or ev.best_bm25 < s.min_bm25:
                return [], None
            shown = [(r, sc) for r, sc in ev.ranked if sc >= s.bm25_ratio * ev.best_bm25]
        elif mode == "dense":
            if ev.best_dense is None or ev.best_dense < s.min_dense:
                return [], None
            floor = max(s.passage_floor, ev.best_dense - s.passage_margin)
            shown = [(r, sc) for r, sc in ev.ranked if ev.cosine.get(r, -1.0) >= floor]
        else:
            if ev.best_score is None or ev.best_score < s.min_score:
                return [], None
            if ev.other_party is not None:
                return [], NOTICE_OTHER_PARTY.format(party=" og ".join(restrict), other=ev.other_party)
            floor = max(s.passage_floor, ev.best_score - s.passage_margin)
            shown = [(r, sc) for r, sc in ev.ranked
                     if r in ev.cosine and self._score(ev.cosine[r], ev.bm25.get(r, 0.0)) >= floor]
        chosen = _with_each_party(shown, k, self.index, restrict)
        return [Hit(rank=i + 1, passage=self.index.passages[row], score=score, dense=ev.cosine.get(row),
                    bm25=ev.bm25.get(row)) for i, (row, score) in enumerate(chosen)], None


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
    if not isinstance(party, (list, tuple)) or not all(isinstance(p, str) for p in party):
        raise QuestionError("party must be a party name or a list of party names")
    return tuple(dict.fromkeys(p.strip() for p in party if p and p.strip()))


def _missing_notice(missing, available) -> str:
    return f"{', '.join(missing)} finnes ikke i kildene (tilgjengelig: {', '.join(available)})."


def _without_mentions(text: str, mentions) -> str:
    """The question with party names cut out, so they do not steer retrieval."""
    out, pos = [], 0
    for m in mentions:
        out.append(text[pos:m.start])
        pos = m.end
    out.append(text[pos:])
    return " ".join("".join(out).split())
