"""Passages that repeat one another: a programme that says the same thing twice (a sentence of its
text, then the same demand again as a bullet of its summary) would otherwise fill two of the k
places with one statement. Of two such passages of one party, the answer shows the fuller one (it
holds the other's words, and more of its context), at the place of the more probable.
"""

from __future__ import annotations

from ..textnorm import longest_common_substring
from ..textnorm import words as _words

# A repeat: the shorter passage's text, at least this share of it, found word for word in the longer
# (the same statement said twice, not two statements in the same words: "opprette flere bemannede
# boliger" and "la kommuner drive egne bemannede boliger" are two).
REPEAT_SHARE = 0.8
MIN_WORDS = 5  # shorter passages are never called repeats (a short demand may recur in other words)


def words(text: str) -> frozenset[str]:
    return frozenset(w.casefold() for w in _words(text))


def shares_words(a: frozenset[str], b: frozenset[str]) -> bool:
    """Whether one word set lies (almost) inside the other: the quick test before ``in_order``."""
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    return len(small) >= MIN_WORDS and len(small & large) >= REPEAT_SHARE * len(small)


def in_order(a: str, b: str) -> bool:
    """Whether the shorter text's words stand (almost all) in one run in the longer."""
    small, large = (_normal(a), _normal(b)) if len(a) <= len(b) else (_normal(b), _normal(a))
    return longest_common_substring(small, large) >= REPEAT_SHARE * len(small)


def repeats(a: str, b: str) -> bool:
    """Whether the shorter text is (almost all) inside the longer, word for word."""
    return shares_words(words(a), words(b)) and in_order(a, b)


def _normal(text: str) -> str:
    return " ".join(w.casefold() for w in _words(text))


def without_repeats(ranked: list, party_of, text_of, merge=None) -> list:
    """``ranked`` (best first) with each repeat of a better item of the same party folded into it:
    the fuller text of the two stays, at the better one's place. ``merge(better, repeat, fuller)``
    makes the item that stands there (``fuller``: the repeat is the fuller text); by default the
    fuller item itself. ``party_of(item)`` and ``text_of(item)`` read an item's party and text."""
    kept: list = []
    seen: list[tuple[str, frozenset[str], str]] = []  # party, words and text of each kept item
    for item in ranked:
        party, text = party_of(item), text_of(item)
        ws = words(text)
        j = next((j for j, (p, other, other_text) in enumerate(seen)
                  if p == party and shares_words(ws, other) and in_order(text, other_text)), None)
        if j is None:
            kept.append(item)
            seen.append((party, ws, text))
            continue
        fuller = len(text) > len(seen[j][2])
        kept[j] = merge(kept[j], item, fuller) if merge is not None else (item if fuller else kept[j])
        if fuller:
            seen[j] = (party, ws, text)
    return kept
