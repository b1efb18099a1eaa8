"""party@1: the top passage comes from the party the question asks about.

Over answerable questions whose ``party`` is set; a declined question scores 0.
"""

from __future__ import annotations

from typing import NamedTuple

from ..records import Outcome


class PartyAt1(NamedTuple):
    @property
    def name(self) -> str:
        return "party@1"

    def applies(self, outcome: Outcome) -> bool:
        return outcome.question.answerable and outcome.question.party is not None

    def value(self, outcome: Outcome) -> float:
        if not outcome.answered or not outcome.returned:
            return 0.0
        return 1.0 if outcome.returned[0].party == outcome.question.party else 0.0
