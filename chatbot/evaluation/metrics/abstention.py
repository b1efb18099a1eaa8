"""Abstention: the chatbot declines (answers nothing).

``abstention`` is the share of unanswerable questions declined (higher is better);
``false_abstention`` the share of answerable questions declined (lower is better).
"""

from __future__ import annotations

from typing import NamedTuple

from ..records import Outcome


class Abstention(NamedTuple):
    @property
    def name(self) -> str:
        return "abstention"

    def applies(self, outcome: Outcome) -> bool:
        return not outcome.question.answerable

    def value(self, outcome: Outcome) -> float:
        return 0.0 if outcome.answered else 1.0


class FalseAbstention(NamedTuple):
    @property
    def name(self) -> str:
        return "false_abstention"

    def applies(self, outcome: Outcome) -> bool:
        return outcome.question.answerable

    def value(self, outcome: Outcome) -> float:
        return 0.0 if outcome.answered else 1.0
