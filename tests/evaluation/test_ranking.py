"""The ranking alone (chatbot/evaluation/ranking.py): first relevant rank and its means, exact values."""

from types import SimpleNamespace

import numpy as np

from chatbot.evaluation.ranking import RankingFigures, first_relevant, ranking


def test_first_relevant_orders_by_probability_then_retrieval_order():
    assert first_relevant(np.array([0.2, 0.9, 0.5]), np.array([1.0, 0.0, 0.0])) == 2
    assert first_relevant(np.array([0.5, 0.5, 0.1]), np.array([0.0, 1.0, 0.0])) == 1  # tie: retrieval's order
    assert first_relevant(np.array([0.5, 0.4]), np.array([0.0, 0.0])) is None


class _Model:
    """Probabilities are the first feature column."""

    def probabilities(self, x):
        return x[:, 0]


def _example(probs, labels, answerable=True):
    x = np.array(probs, dtype=float).reshape(-1, 1)
    return SimpleNamespace(question=SimpleNamespace(answerable=answerable), x=x, y=np.array(labels, dtype=float))


def test_ranking_means_over_answerable_questions():
    examples = [
        _example([0.9, 0.1], [1, 0]),  # first: 1
        _example([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3], [0, 0, 0, 0, 0, 1, 0]),  # sixth: 1/6, outside k=5
        _example([0.3, 0.2], [0, 0]),  # no relevant candidate: 0
        _example([], []),  # stopped before retrieval: 0
        _example([0.9], [0], answerable=False),  # not counted
    ]
    figures = ranking(examples, _Model(), k=5)
    assert figures == RankingFigures(mrr=(1 + 1 / 6) / 4, recall=0.25, candidates=0.5, questions=4)
    assert figures.to_dict(5) == {"ranked_mrr@10": (1 + 1 / 6) / 4, "ranked_recall@5": 0.25,
                                  "candidate_recall": 0.5, "n_ranked": 4}


def test_ranking_of_no_answerable_question_is_undefined():
    assert ranking([_example([0.9], [0], answerable=False)], _Model(), 5) == RankingFigures(None, None, None, 0)
