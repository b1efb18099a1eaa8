"""Retrievers over a loaded index: dense (FAISS) and lexical (BM25); ``query/retrieve.py`` merges them."""

from __future__ import annotations

import bisect

import numpy as np

from .ann import RowFilter
from .store import Index
from ..textnorm import tokens

def dense(index: Index, query_vector: np.ndarray, allowed: "np.ndarray | RowFilter | None", n: int) -> list[tuple[int, float]]:
    """Top ``n`` (row, cosine) among ``allowed`` rows (an array of rows or an ``ann.RowFilter``)."""
    from . import ann  # flat, HNSW or IVF: filtered search with each kind's own parameters

    total = index.dense.ntotal if allowed is None else len(allowed)
    n = min(n, total)
    if n <= 0:
        return []
    scores, rows = ann.search(index.dense, query_vector.reshape(1, -1), n, allowed)
    return [(int(r), float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0]


class SparseScores:
    """BM25 scores of the rows that contain a query key (every other row scores 0): the rows
    sorted, with their float32 scores. ``scores[row]`` works as on a full array of every row."""

    __slots__ = ("rows", "values", "ntotal")

    def __init__(self, rows: np.ndarray, values: np.ndarray, ntotal: int):
        self.rows = rows
        self.values = values
        self.ntotal = ntotal

    def __len__(self) -> int:
        return self.ntotal

    def __getitem__(self, row: int) -> np.float32:
        i = int(np.searchsorted(self.rows, row))
        return self.values[i] if i < len(self.rows) and self.rows[i] == row else np.float32(0.0)

    def take(self, rows) -> np.ndarray:
        """The scores of ``rows`` (any order) in one search: ``[self[r] for r in rows]`` as an array."""
        rows = np.asarray(rows, dtype=np.int64)
        if not len(self.rows) or not len(rows):
            return np.zeros(len(rows), dtype=np.float32)
        i = np.minimum(np.searchsorted(self.rows, rows), len(self.rows) - 1)
        return np.where(self.rows[i] == rows, self.values[i], np.float32(0.0)).astype(np.float32)

    def dense(self) -> np.ndarray:
        """The full array of every row's score."""
        out = np.zeros(self.ntotal, dtype=np.float32)
        out[self.rows] = self.values
        return out


def scores_of(scores, rows) -> np.ndarray:
    """The BM25 scores of ``rows`` from either a ``SparseScores`` or a full array."""
    if isinstance(scores, SparseScores):
        return scores.take(rows)
    return np.asarray(scores, dtype=np.float32)[np.asarray(rows, dtype=np.int64)] if len(rows) else np.zeros(0, np.float32)


def cosines(index: Index, query_vector: np.ndarray, rows) -> list[tuple[int, float]]:
    """(row, cosine) of the given rows (sorted by row), whichever the dense index kind.

    A flat index scores them with a filtered search over those rows, as ``dense`` would; the
    other kinds through ``ann.row_scores``, without a search widened to the whole index."""
    from . import ann

    wanted = sorted(set(int(r) for r in rows))
    if not wanted:
        return []
    if ann.kind_of(index.dense) == "flat":
        return dense(index, query_vector, np.asarray(wanted, dtype=np.int64), len(wanted))
    return ann.row_scores(index.dense, query_vector, wanted)


def bm25_scores(index: Index, question: str, allowed: "np.ndarray | RowFilter | None") -> tuple[SparseScores | None, dict[str, tuple[str, ...]]]:
    """BM25 scores (0 outside ``allowed``), and for each query key the index lacks, the index keys
    it was matched to instead (compounds, spelling). ``None`` when no key matches.

    Only the posting lists of the query's keys are read: the work is in proportion to how many
    passages contain them, not to the size of the index. The scores are bm25s's own
    (``get_scores_from_ids``: each key's precomputed scores added in query order, in float32).
    """
    terms = tokens(question)
    expansions = {t: found for t in dict.fromkeys(terms) if (found := _expand(index, t))}
    keys = list(terms) + [k for found in expansions.values() for k in found]
    ids = index.bm25.get_tokens_ids(keys) if keys else []
    if not ids:
        return None, expansions
    scores = _sparse_scores(index.bm25, ids)
    if allowed is not None:
        if isinstance(allowed, RowFilter) and allowed.ntotal == scores.ntotal:
            keep = allowed.mask[scores.rows]
        else:
            rows = allowed.rows if isinstance(allowed, RowFilter) else np.asarray(allowed, dtype=np.int64)
            keep = np.isin(scores.rows, rows)
        scores = SparseScores(scores.rows[keep], scores.values[keep], scores.ntotal)
    return scores, expansions


DENSE_SHARE = 8  # posting lists longer in total than 1/8 of the rows are added up in a full array


def _sparse_scores(bm25, ids: list[int]) -> SparseScores:
    """What ``bm25.get_scores_from_ids(ids)`` computes, for the rows it touches only."""
    num_docs = int(bm25.scores["num_docs"])
    if getattr(bm25, "nonoccurrence_array", None) is not None:  # BM25L/BM25+: every row gets a share
        full = np.asarray(bm25.get_scores_from_ids(ids), dtype=np.float32)
        rows = np.arange(num_docs, dtype=np.int64)
        return SparseScores(rows, full, num_docs)
    data, indices, indptr = bm25.scores["data"], bm25.scores["indices"], bm25.scores["indptr"]
    token_ids = np.asarray(ids, dtype=np.int64)
    if int(token_ids.max(initial=0)) >= len(indptr) - 1:
        raise ValueError("a query token id is outside the BM25 index")
    spans = [(int(indptr[t]), int(indptr[t + 1])) for t in token_ids]
    if len(spans) == 1:  # one posting list: its rows are already distinct and sorted
        start, end = spans[0]
        rows = np.asarray(indices[start:end], dtype=np.int64)
        order = np.argsort(rows, kind="stable")
        return SparseScores(rows[order], np.asarray(data[start:end], dtype=np.float32)[order], num_docs)
    postings = sum(b - a for a, b in spans)
    if postings * DENSE_SHARE > num_docs:  # long lists: one pass over an array of every row is cheaper than sorting
        full = np.zeros(num_docs, dtype=np.float32)
        for a, b in spans:
            np.add.at(full, indices[a:b], data[a:b])  # bm25s's own loop
        rows = np.flatnonzero(full)
        return SparseScores(rows, full[rows], num_docs)
    all_rows = np.concatenate([np.asarray(indices[a:b], dtype=np.int64) for a, b in spans])
    all_values = np.concatenate([np.asarray(data[a:b], dtype=np.float32) for a, b in spans])
    rows, where = np.unique(all_rows, return_inverse=True)
    values = np.zeros(len(rows), dtype=np.float32)
    np.add.at(values, where, all_values)  # in key order for each row, as bm25s adds them
    return SparseScores(rows, values, num_docs)


def top(scores: "SparseScores | np.ndarray", n: int) -> list[tuple[int, float]]:
    """The ``n`` best (row, score) with score > 0, best first (ties by row)."""
    if isinstance(scores, SparseScores):
        rows, values = scores.rows, scores.values
    else:
        values = np.asarray(scores)
        rows = np.arange(len(values), dtype=np.int64)
    positive = values > 0
    if not positive.all():
        rows, values = rows[positive], values[positive]
    n = min(n, len(values))
    if n <= 0:
        return []
    if n < len(values):  # the n best, and every row tied with the n-th, then the lowest rows among ties
        cut = values[np.argpartition(-values, n - 1)[:n]].min()
        near = np.flatnonzero(values >= cut)
        rows, values = rows[near], values[near]
    order = np.lexsort((rows, -values))[:n]
    return [(int(rows[i]), float(values[i])) for i in order]


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
        matcher = SequenceMatcher(None, term, word, autojunk=False)
        # real_quick_ratio >= quick_ratio >= ratio: the cheap upper bounds skip most words
        if matcher.real_quick_ratio() < FUZZY_RATIO or matcher.quick_ratio() < FUZZY_RATIO:
            continue
        ratio = matcher.ratio()
        if ratio >= FUZZY_RATIO:
            near.append((ratio, word))
    return tuple(w for _, w in sorted(near, key=lambda x: (-x[0], x[1]))[:3])


def _prefix_vocab(index: Index) -> list[str]:
    cached = getattr(index, "_sorted_vocab", None)
    if cached is None:
        cached = sorted(k for k in index.bm25.vocab_dict if isinstance(k, str) and k)
        setattr(index, "_sorted_vocab", cached)
    return cached
