"""Retrievers over a loaded index: dense (FAISS) and lexical (BM25); ``query/retrieve.py`` merges them."""

from __future__ import annotations

import bisect

import numpy as np

from .ann import RowFilter
from .index import Index
from .textnorm import tokens

def dense(index: Index, query_vector: np.ndarray, allowed: "np.ndarray | RowFilter | None", n: int) -> list[tuple[int, float]]:
    """Top ``n`` (row, cosine) among ``allowed`` rows (an array of rows or an ``ann.RowFilter``)."""
    from . import ann  # flat, HNSW or IVF: filtered search with each kind's own parameters

    total = index.dense.ntotal if allowed is None else len(allowed)
    n = min(n, total)
    if n <= 0:
        return []
    scores, rows = ann.search(index.dense, query_vector.reshape(1, -1), n, allowed)
    return [(int(r), float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0]


def bm25_scores(index: Index, question: str, allowed: "np.ndarray | RowFilter | None") -> tuple[np.ndarray | None, dict[str, tuple[str, ...]]]:
    """BM25 scores of every row (0 outside ``allowed``), and for each query key the index lacks,
    the index keys it was matched to instead (compounds, spelling). ``None`` when no key matches."""
    terms = tokens(question)
    expansions = {t: found for t in dict.fromkeys(terms) if (found := _expand(index, t))}
    keys = list(terms) + [k for found in expansions.values() for k in found]
    ids = index.bm25.get_tokens_ids(keys) if keys else []
    if not ids:
        return None, expansions
    scores = np.asarray(index.bm25.get_scores_from_ids(ids), dtype=np.float32)
    if isinstance(allowed, RowFilter) and allowed.ntotal == len(scores):
        scores = np.where(allowed.mask, scores, 0.0)
    elif allowed is not None:
        mask = np.zeros(len(scores), dtype=bool)
        mask[allowed.rows if isinstance(allowed, RowFilter) else allowed] = True
        scores = np.where(mask, scores, 0.0)
    return scores, expansions


def top(scores: np.ndarray, n: int) -> list[tuple[int, float]]:
    """The ``n`` best (row, score) with score > 0, best first (ties by row)."""
    n = min(n, int((scores > 0).sum()))
    if n <= 0:
        return []
    best = np.argpartition(-scores, n - 1)[:n]
    best = best[np.lexsort((best, -scores[best]))]
    return [(int(r), float(scores[r])) for r in best]


FUZZY_MIN_CHARS = 5
FUZZY_RATIO = 0.8  # difflib similarity of two keys that count as one word misspelt or in the other written standard


def _expand(index: Index, term: str) -> tuple[str, ...]:
    """Keys of the index for a query key it lacks: the compounds it begins ("heroin" finds
    "heroinassistert"), else keys spelt nearly alike ("sykehsu" finds "sykehus", "sjukehus" finds
    "sykehus"). Only for keys of 5+ letters; at most 5 compounds or 3 near spellings."""
    vocab = index.bm25.vocab_dict
    if term in vocab or len(term) < FUZZY_MIN_CHARS:
        return ()
    words = _prefix_vocab(index)
    found = []
    for word in words[bisect.bisect_right(words, term):]:  # the sorted run of words starting with term
        if not word.startswith(term) or len(found) == 5:
            break
        found.append(word)
    if found:
        return tuple(found)
    from difflib import SequenceMatcher

    lo = bisect.bisect_left(words, term[:2])
    hi = bisect.bisect_left(words, term[:2] + "\U0010ffff")
    near = []
    for word in words[lo:hi]:
        if abs(len(word) - len(term)) > 2:
            continue
        ratio = SequenceMatcher(None, term, word, autojunk=False).ratio()
        if ratio >= FUZZY_RATIO:
            near.append((ratio, word))
    return tuple(w for _, w in sorted(near, key=lambda x: (-x[0], x[1]))[:3])


def _prefix_vocab(index: Index) -> list[str]:
    cached = getattr(index, "_sorted_vocab", None)
    if cached is None:
        cached = sorted(k for k in index.bm25.vocab_dict if isinstance(k, str) and k)
        setattr(index, "_sorted_vocab", cached)
    return cached
