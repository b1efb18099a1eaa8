"""success@400chars: a relevant passage is reached within the first 400 characters read.

Passages are read in rank order; a passage is reached when it starts before ``chars``
characters of the passages above it (their text length, summed) have been read. So the
top passage always counts, however long it is, and passage i counts when the passages
ranked above it hold fewer than ``chars`` characters in all. Only the top ``cutoff``
passages are read. Over answerable questions; a declined question scores 0.
"""

from __future__ import annotations

from typing import NamedTuple

from ..records import Outcome


class SuccessWithinChars(NamedTuple):
    chars: int = 400
    cutoff: int = 5

    @property
    def name(self) -> str:
        return f"success@{self.chars}chars"

    def applies(self, outcome: Outcome) -> bool:
        return outcome.question.answerable

    def value(self, outcome: Outcome) -> float:
        if not outcome.answered:
            return 0.0
        read = 0
        for r in outcome.returned[:self.cutoff]:
            if read >= self.chars:
                break
            if r.relevant:
                return 1.0
            read += len(r.text)
        return 0.0
