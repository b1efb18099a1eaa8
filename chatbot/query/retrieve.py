"""Retrieve candidate passages for a prepared query: dense (FAISS) and lexical (BM25) lists,
merged, every candidate scored by both, with the coverage of the question's content words.

What comes out is the raw material of the decision (``decide.py``); nothing is cut here.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from ..index import search
from ..index.store import Index
from ..textnorm import tokens
from . import features as F
from .terms import MIN_TOPIC_WEIGHT, Coverage, Term, log_weight

CANDIDATES = 30  # from each retriever


@dataclass(frozen=True)
class Retrieved:
    """Every candidate for one question within the allowed rows, with the feature matrix."""

    candidates: tuple[F.Candidate, ...]
    x: np.ndarray  # features.matrix of the candidates
    english: bool
    timings: dict
    unknown: float = 0.0  # share of the question's content weight no passage of the index contains
    missing_words: tuple[str, ...] = ()  # a Norwegian question's content words no passage has in any form


class PassageKeys:
    """The BM25 keys of each passage, read from the index (or made from its text) on first use and
    kept (the decision's coverage reads them); and the passages' words in the index's word table
    (``word_matches``)."""

    def __init__(self, index: Index):
        self._index = index
        self._keys: dict[int, frozenset[str]] = {}
        self._lock = threading.Lock()
        self._words = None  # (WordTable, PassageWords), made on first use

    def word_matches(self, terms: tuple[Term, ...], rows: list[int]) -> np.ndarray:
        """``wordmatch.matches`` for ``rows`` (zeros for an index without a word table)."""
        from . import wordmatch

        if self._words is None:
            reader = getattr(self._index, "word_table", None)
            table = reader() if reader is not None else wordmatch.EMPTY
            with self._lock:
                if self._words is None:
                    self._words = (table, wordmatch.PassageWords(self._index, table))
        table, passage_words = self._words
        return wordmatch.matches(table, passage_words, terms, rows)

    def __call__(self, row: int) -> frozenset[str]:
        found = self._keys.get(row)
        if found is None:
            found = self._index.passage_keys(row) if hasattr(self._index, "passage_keys") else None
            if found is None:  # an index built without them (or a stand-in): from the text, as the build does
                p = self._index.passages[row]
                found = frozenset(tokens(p.text + " " + p.section))
            with self._lock:
                self._keys[row] = found
        return found


def retrieve(index: Index, passage_keys: PassageKeys, vector: np.ndarray | None, lexical_query: str,
             terms: tuple[Term, ...], english: bool, allowed, mode: str, n: int = CANDIDATES) -> Retrieved:
    """Candidates among ``allowed`` rows (None: all). ``vector`` is the query embedding (None in bm25 mode)."""
    timings: dict[str, float] = {}
    dense_hits: list[tuple[int, float]] = []
    lexical: list[tuple[int, float]] = []
    scores = None
    if vector is not None and mode in ("dense", "hybrid"):
        t = time.perf_counter()
        dense_hits = search.dense(index, vector, allowed, n)
        timings["dense"] = (time.perf_counter() - t) * 1000
    expansions: dict[str, tuple[str, ...]] = {}
    if mode in ("bm25", "hybrid") or terms:
        t = time.perf_counter()
        scores, expansions = search.bm25_scores(index, lexical_query, allowed)
        if mode in ("bm25", "hybrid") and scores is not None:
            lexical = search.top(scores, n)
        timings["bm25"] = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    dense_rank = {r: i for i, (r, _) in enumerate(dense_hits)}
    lex_rank = {r: i for i, (r, _) in enumerate(lexical)}
    rows = list(dense_rank) + [r for r in lex_rank if r not in dense_rank]
    cosines = dict(dense_hits)
    if vector is not None and mode == "hybrid":
        missing = [r for r in rows if r not in cosines]
        if missing:  # exact cosines of lexical-only candidates
            cosines.update(search.cosines(index, vector, missing))
    candidates = []
    bm25_of = search.scores_of(scores, rows) if scores is not None and mode != "dense" else None
    covers = Coverage(terms, expansions)
    word_match = passage_keys.word_matches(terms, rows)
    for i, r in enumerate(rows):
        cov, rarest = covers(passage_keys(r))
        candidates.append(F.Candidate(row=r, cos=cosines.get(r) if mode != "bm25" else None,
                                      bm25=float(bm25_of[i]) if bm25_of is not None else 0.0,
                                      coverage=cov if mode != "dense" else 0.0, rarest=rarest if mode != "dense" else 0.0,
                                      dense_rank=dense_rank.get(r), bm25_rank=lex_rank.get(r),
                                      word_match=float(word_match[i])))
    x = F.matrix(candidates, english, log_weight(terms))
    timings["features"] = (time.perf_counter() - t) * 1000
    absent = _absent(index, terms, expansions)
    # a Norwegian question's words no passage has are named in the answer ("Ordet «pårørende» står ikke i kildene.")
    missing = () if english else tuple(t.text for t in absent if t.weight >= MIN_TOPIC_WEIGHT)
    return Retrieved(tuple(candidates), x, english, timings, unknown_share(terms, absent), missing)


def _absent(index: Index, terms: tuple[Term, ...], expansions: dict) -> list[Term]:
    """The terms no passage contains in any form (their own key, a compound or near spelling, their parts,
    or a translation)."""
    vocab = index.bm25.vocab_dict
    out = []
    for t in terms:
        keys = list(t.keys) + list(t.translated) + [e for k in t.keys[:1] for e in expansions.get(k, ())]
        if not any(k in vocab for k in keys):
            out.append(t)
    return out


def unknown_share(terms: tuple[Term, ...], absent: list[Term]) -> float:
    """The share of the question's content weight in the ``absent`` terms (``_absent``): a topic the sources lack."""
    total = sum(t.weight for t in terms)
    return sum(t.weight for t in absent) / total if total else 0.0
