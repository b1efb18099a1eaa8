"""The relevance rule: when a returned passage hits a gold quote.

Both texts are normalised (Unicode NFC, lower case, runs of whitespace collapsed to one
space, ends stripped). A passage hits a quote when its party equals the quote's party and
the longest common contiguous substring of the two normalised texts is at least 60 % of
the normalised quote's length (so a passage containing the quote hits it).
"""

from __future__ import annotations

import unicodedata
from typing import Iterable, NamedTuple

from ..textnorm import longest_common_substring  # noqa: F401  (also read as relevance.longest_common_substring)
from .records import GoldQuote, Question

# 60 %, kept as a fraction so the comparison is exact integer arithmetic.
SHARE_NUM, SHARE_DEN = 3, 5


def normalise(text: str) -> str:
    """NFC, lower case, whitespace collapsed to one space (and stripped at the ends)."""
    return " ".join(unicodedata.normalize("NFC", text).lower().split())


def hits_normalised(passage_party: str, passage_norm: str, quote_party: str, quote_norm: str) -> bool:
    """The rule on texts already normalised."""
    if passage_party != quote_party or not quote_norm:
        return False
    if len(passage_norm) * SHARE_DEN < len(quote_norm) * SHARE_NUM:
        return False  # too short to share 60 % of the quote
    return longest_common_substring(passage_norm, quote_norm) * SHARE_DEN >= len(quote_norm) * SHARE_NUM


def hits(passage_party: str, passage_text: str, gold: GoldQuote) -> bool:
    """Does a passage of ``passage_party`` with ``passage_text`` hit the gold quote?"""
    return hits_normalised(passage_party, normalise(passage_text), gold.party, normalise(gold.quote))


class Judged(NamedTuple):
    """The gold quotes one passage hits for one question."""

    doc_id: str
    gold_hits: frozenset[int]


class Judge:
    """Applies the rule to every passage of an index, caching normalised texts."""

    def __init__(self, passages: Iterable):
        self._passages = [(p.id, p.party, normalise(p.text)) for p in passages]

    def judge(self, question: Question) -> dict[str, frozenset[int]]:
        """Passage id -> indices of the question's gold quotes it hits (only passages hitting one)."""
        quotes = [(g.party, normalise(g.quote)) for g in question.gold]
        out: dict[str, frozenset[int]] = {}
        for doc_id, party, text in self._passages:
            found = frozenset(i for i, (qp, qn) in enumerate(quotes) if hits_normalised(party, text, qp, qn))
            if found:
                out[doc_id] = found
        return out
