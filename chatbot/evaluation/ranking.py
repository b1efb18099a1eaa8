"""The ranking alone: where the candidates' order puts the first relevant passage, before anything is
declined or cut.

The headline figures score what an answer shows, after the question model has answered or declined
and ``show_at`` has cut the list. These score the same candidates (``fit.Example``: every passage
retrieval found, labelled by the gold quotes) in the order the passage model gives them, every
answerable question answered and nothing cut, as the textbook pipeline always shows its k best. The
gap between the two is what the decision costs; the gap between these and 1 is the ranking's own.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..query.decide import ModeModel
from .measures import MRR_DEPTH


class RankingFigures(NamedTuple):
    """Over the answerable questions that reached retrieval (``questions``)."""

    mrr: float | None  # MRR@10 of the candidates in the passage model's order
    recall: float | None  # a relevant passage among the first k
    candidates: float | None  # a relevant passage among the candidates at all (the ceiling of both)
    questions: int

    def to_dict(self, k: int) -> dict:
        return {f"ranked_mrr@{MRR_DEPTH}": self.mrr, f"ranked_recall@{k}": self.recall,
                "candidate_recall": self.candidates, "n_ranked": self.questions}


def first_relevant(probs: np.ndarray, relevant: np.ndarray) -> int | None:
    """The 0-based rank of the first relevant candidate when ordered by ``probs`` (ties: retrieval's
    order, as the answer orders them), None when no candidate is relevant."""
    order = np.argsort(-probs, kind="stable")
    hits = np.flatnonzero(relevant[order] > 0)
    return int(hits[0]) if len(hits) else None


def ranking(examples, model: ModeModel, k: int) -> RankingFigures:
    """``RankingFigures`` of ``examples`` (``fit.Example``) under ``model``'s passage probabilities. An
    answerable question that stopped before retrieval counts as ranking nothing relevant."""
    ranks = []
    for e in examples:
        if not e.question.answerable:
            continue
        ranks.append(first_relevant(model.probabilities(e.x), e.y) if len(e.y) else None)
    if not ranks:
        return RankingFigures(None, None, None, 0)
    mrr = float(np.mean([1.0 / (r + 1) if r is not None and r < MRR_DEPTH else 0.0 for r in ranks]))
    recall = float(np.mean([r is not None and r < k for r in ranks]))
    found = float(np.mean([r is not None for r in ranks]))
    return RankingFigures(mrr, recall, found, len(ranks))
