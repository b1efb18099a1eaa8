"""Retrievers over a loaded index: dense (FAISS), lexical (BM25) and their reciprocal-rank fusion."""

from __future__ import annotations

import bisect

import numpy as np

from .ann import RowFilter
from .index import Index
from .textnorm import tokens

RRF_K = 60


def allowed_ids(index: Index, parties: tuple[str, ...] | None) -> np.ndarray | None:
    """Row ids of the passages of ``parties``, sorted and read-only (None: all passages)."""
    if not parties:
        return None
    return index.party_rows(parties).allowed.rows


def dense(index: Index, query_vector: np.ndarray, allowed: "np.ndarray | RowFilter | None", n: int) -> list[tuple[int, float]]:
    """Top ``n`` (row, cosine) among ``allowed`` rows (an array of rows or an ``ann.RowFilter``)."""
    from . import ann  # flat, HNSW or IVF: filtered search with each kind's own parameters

    total = index.dense.ntotal if allowed is None else len(allowed)
    n = min(n, total)
    if n <= 0:
        return []
    scores, rows = ann.search(index.dense, query_vector.reshape(1, -1), n, allowed)
    return [(int(r), float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0]


def bm25(index: Index, question: str, allowed: "np.ndarray | RowFilter | None", n: int) -> list[tuple[int, float]]:
    """Top ``n`` (row, BM25 score > 0) among ``allowed`` rows (an array of rows or an ``ann.RowFilter``)."""
    terms = tokens(question)
    ids = index.bm25.get_tokens_ids(_with_compounds(index, terms)) if terms else []
    if not ids:
        return []
    scores = np.asarray(index.bm25.get_scores_from_ids(ids), dtype=np.float32)
    if isinstance(allowed, RowFilter) and allowed.ntotal == len(scores):
        scores = np.where(allowed.mask, scores, 0.0)
    elif allowed is not None:
        mask = np.zeros(len(scores), dtype=bool)
        mask[allowed.rows if isinstance(allowed, RowFilter) else allowed] = True
        scores = np.where(mask, scores, 0.0)
    n = min(n, int((scores > 0).sum()))
    if n <= 0:
        return []
    top = np.argpartition(-scores, n - 1)[:n]
    top = top[np.argsort(-scores[top], kind="stable")]
    return [(int(r), float(scores[r])) for r in top]


def _with_compounds(index: Index, terms: list[str]) -> list[str]:
    """Terms the index lacks also match as the first part of Norwegian compounds: "heroin"
    finds "heroinassistert". Only for terms of 5+ letters, and at most 5 compounds each."""
    vocab = index.bm25.vocab_dict
    out = list(terms)
    for term in terms:
        if term in vocab or len(term) < 5:
            continue
        words = _prefix_vocab(index)
        found = []
        for word in words[bisect.bisect_right(words, term):]:  # the sorted run of words starting with term
            if not word.startswith(term) or len(found) == 5:
                break
            found.append(word)
        out.extend(found)
    return out


def _prefix_vocab(index: Index) -> list[str]:
    cached = getattr(index, "_sorted_vocab", None)
    if cached is None:
        cached = sorted(k for k in index.bm25.vocab_dict if isinstance(k, str) and k)
        setattr(index, "_sorted_vocab", cached)
    return cached


def rrf(*rankings: list[tuple[int, float]], k: int = RRF_K, weights: tuple[float, ...] | None = None) -> list[tuple[int, float]]:
    """Reciprocal rank fusion: sum of weight / (k + rank) over the rankings a row appears in."""
    fused: dict[int, float] = {}
    for j, ranking in enumerate(rankings):
        w = 1.0 if weights is None else weights[j]
        for rank, (row, _score) in enumerate(ranking, 1):
            fused[row] = fused.get(row, 0.0) + w / (k + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))
