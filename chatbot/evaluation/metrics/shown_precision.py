"""shown_precision@k: the share of the passages shown (at most k) that hit a gold quote.

Over answerable questions that were answered. Gold lists the passages that answer a
question, so an on-topic passage the annotator did not list counts against it: a lower bound
on "every card shown is on the question's topic".
"""

from __future__ import annotations

from typing import NamedTuple

from ..records import Outcome


class ShownPrecision(NamedTuple):
    cutoff: int = 5

    @property
    def name(self) -> str:
        return f"shown_precision@{self.cutoff}"

    def applies(self, outcome: Outcome) -> bool:
        return outcome.question.answerable and outcome.answered and bool(outcome.returned)

    def value(self, outcome: Outcome) -> float:
        shown = outcome.returned[:self.cutoff]
        return sum(1 for r in shown if r.relevant) / len(shown)
