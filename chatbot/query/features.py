"""Features of one candidate passage for one question: what the calibrated decision reads.

Every feature is defined relative to the question or in general-language terms, never in
terms of one programme: the cosine and how far it stands out from the question's background,
the share of the question's (rarity-weighted) content the passage covers, the BM25 score and
its distance from the best, and the question's language. ``NAMES`` is the one list.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

NAMES = (
    "cos",  # cosine of question and passage
    "cos_gap",  # cosine minus the best candidate's cosine (<= 0)
    "cos_lift",  # cosine minus the mean cosine of the question's dense candidates (stands out?)
    "coverage",  # share of the question's weighted content words the passage contains
    "rarest",  # weight of the rarest question word the passage contains (0..1)
    "bm25",  # ln(1 + BM25)
    "bm25_gap",  # ln(1 + BM25) minus the best candidate's
    "english",  # the question is English (the sources are Norwegian)
    "english_cos",  # english * cos
    "english_coverage",  # english * coverage
    "specific",  # ln(1 + total weight of the question's content words)
    "dense_rank",  # 1 / (1 + rank among dense candidates), 0 when not among them
    "bm25_rank",  # 1 / (1 + rank among lexical candidates), 0 when not among them
    "word_match",  # cosine of the question's key word to the passage's closest word (query/wordmatch.py)
)

# Which features each retrieval mode may read (dense mode never sees BM25, bm25 mode never a cosine).
MODE_FEATURES = {
    "hybrid": tuple(n for n in NAMES if n != "word_match"),  # word_match is read by the question model only
    "dense": ("cos", "cos_gap", "cos_lift", "english", "english_cos", "specific", "dense_rank"),
    "bm25": ("coverage", "rarest", "bm25", "bm25_gap", "english", "english_coverage", "specific", "bm25_rank"),
}


@dataclass(frozen=True)
class Candidate:
    """One passage retrieval found for a question, with its raw scores."""

    row: int
    cos: float | None
    bm25: float
    coverage: float
    rarest: float
    dense_rank: int | None  # 0-based
    bm25_rank: int | None
    word_match: float = 0.0


def matrix(candidates: list[Candidate], english: bool, specific: float) -> np.ndarray:
    """The feature rows of ``candidates`` (one question), columns in ``NAMES`` order."""
    n = len(candidates)
    out = np.zeros((n, len(NAMES)), dtype=np.float64)
    if not n:
        return out
    cos = np.array([c.cos if c.cos is not None else 0.0 for c in candidates])
    have = np.array([c.cos is not None for c in candidates])
    best_cos = float(cos[have].max()) if have.any() else 0.0
    dense_cos = np.array([c.cos for c in candidates if c.dense_rank is not None and c.cos is not None])
    background = float(dense_cos.mean()) if len(dense_cos) else best_cos
    lex = np.log1p(np.array([max(0.0, c.bm25) for c in candidates]))
    best_lex = float(lex.max())
    cover = np.array([c.coverage for c in candidates])
    en = 1.0 if english else 0.0
    out[:, 0] = cos
    out[:, 1] = np.where(have, cos - best_cos, -1.0)
    out[:, 2] = np.where(have, cos - background, -1.0)
    out[:, 3] = cover
    out[:, 4] = [c.rarest / 5.0 for c in candidates]
    out[:, 5] = lex
    out[:, 6] = lex - best_lex
    out[:, 7] = en
    out[:, 8] = en * cos
    out[:, 9] = en * cover
    out[:, 10] = specific
    out[:, 11] = [0.0 if c.dense_rank is None else 1.0 / (2 + c.dense_rank) for c in candidates]
    out[:, 12] = [0.0 if c.bm25_rank is None else 1.0 / (2 + c.bm25_rank) for c in candidates]
    out[:, 13] = [c.word_match for c in candidates]
    return out


def columns(mode: str) -> list[int]:
    return [NAMES.index(name) for name in MODE_FEATURES[mode]]


def logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))


QUESTION_NAMES = (
    "best_probability",  # logit of the passage model's best probability
    "best_cos",  # the best cosine among the allowed passages
    "best_cos_lift",  # how far the best cosine stands out from the question's background
    "best_coverage",  # the best coverage of the question's content words
    "best_rarest",  # the rarest question word any candidate contains (0..1)
    "english",
    "specific",
    "restricted",  # the question is limited to some parties
    "unknown",  # share of the question's content weight that no passage of the index contains
    "best_word_match",  # the best word_match among the WORD_MATCH_TOP most probable candidates
)
WORD_MATCH_TOP = 5


def question_row(x: np.ndarray, probs: np.ndarray, restricted: bool, unknown: float = 0.0) -> np.ndarray:
    """The question-level features (``QUESTION_NAMES``) from a question's candidate matrix."""
    if not len(x):
        return np.array([-10.0, 0, -1, 0, 0, 0, 0, float(restricted), unknown, 0.0])
    p = float(np.clip(probs.max(), 1e-6, 1 - 1e-6))
    best_cos = float(x[:, 0].max())
    leading = np.argsort(-probs, kind="stable")[:WORD_MATCH_TOP]
    return np.array([
        math.log(p / (1 - p)), best_cos, float(x[:, 2].max()), float(x[:, 3].max()), float(x[:, 4].max()),
        float(x[0, 7]), float(x[0, 10]), float(restricted),
        unknown, float(x[leading, 13].max()),
    ])
