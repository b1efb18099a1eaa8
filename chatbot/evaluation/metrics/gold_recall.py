"""gold_recall@k: the share of a question's gold quotes hit by some passage in the top k.

Over answerable questions; a declined question scores 0.
"""

from __future__ import annotations

from typing import NamedTuple

from ..records import Outcome


class GoldRecall(NamedTuple):
    cutoff: int = 5

    @property
    def name(self) -> str:
        return f"gold_recall@{self.cutoff}"

    def applies(self, outcome: Outcome) -> bool:
        return outcome.question.answerable

    def value(self, outcome: Outcome) -> float:
        if not outcome.answered or not outcome.question.gold:
            return 0.0
        covered: set[int] = set()
        for r in outcome.returned[:self.cutoff]:
            covered |= r.gold_hits
        return len(covered) / len(outcome.question.gold)
