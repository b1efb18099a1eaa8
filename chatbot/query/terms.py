"""The content terms of a question, each with its BM25 keys and a weight from general-language
frequency (wordfreq): rare words carry a match, generic words ("flere", "gratis", "bruke",
"want") barely count. Nothing here is written for one programme or topic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping

from ..textnorm import fold, tokens, words, zipf

# Words that frame a question rather than name its topic, in both languages (general, not topical).
FRAME_WORDS = frozenset("""
parti partiet partiene partier partia partiets partienes partis program programmet programmer
mener meiner mene vil ville ønsker ønskjer ønske foreslår foreslå sier seier seie si tenker tenkjer
syn standpunkt politikk politikken hvem kven hva kva hvilke kva for hvordan korleis hvorfor kvifor
noen nokon andre begge enige einige uenige ueinige forskjellen skilnaden skiller
party parties partys programme program programmes manifesto want wants wanted think thinks say says
said propose proposes proposed position positions stance view views policy policies plan plans stand
stands what which who whom whose how why does do did about any anyone anybody someone both agree
agrees disagree differ difference differences between their they them there
""".split())
_EN_STOP = None

MAX_WEIGHT = 5.0
MIN_WEIGHT = 0.1
COMMON_ZIPF = 6.5  # weight = COMMON_ZIPF - zipf, clipped: a word as common as "og" weighs nothing
# Content words whose weights add up to at least this make a topic of their own (chatbot/followup.py); a word of a
# Norwegian question that no passage has is named in the answer when it alone weighs this much (query/retrieve.py),
# so "gjere" or "flere" never are.
MIN_TOPIC_WEIGHT = 1.0


@dataclass(frozen=True)
class Term:
    """One content word of a question."""

    text: str  # as written, lower case
    keys: tuple[str, ...]  # BM25 keys: the whole word's stem first, then its compound parts
    weight: float  # rarity in general language, MIN_WEIGHT..MAX_WEIGHT
    translated: tuple[str, ...] = ()  # Norwegian keys added for an English word


def _en_stopwords() -> frozenset[str]:
    global _EN_STOP
    if _EN_STOP is None:
        from bm25s.stopwords import STOPWORDS_EN

        _EN_STOP = frozenset(STOPWORDS_EN)
    return _EN_STOP


@lru_cache(maxsize=50_000)
def weight(word: str, language: str) -> float:
    """How much a match on ``word`` says: high for rare words, near zero for generic ones."""
    z = zipf(word, "en" if language == "en" else "nb")
    if language == "en" and z == 0:
        z = zipf(word, "nb")  # a Norwegian word in an English question ("LAR", "sprøyterom")
    return min(MAX_WEIGHT, max(MIN_WEIGHT, COMMON_ZIPF - z))


def term_weight(word: str, language: str, bokmal: Mapping[str, str] | None = None) -> float:
    """``weight``, for a nynorsk form in a Norwegian question the lighter of its own and its bokmål word's:
    wordfreq's Norwegian list is bokmål, where "gjere", "ikkje" and "kommunane" look rare
    (``bokmal``: the index's map, chatbot/index/nynorsk_words.py)."""
    own = weight(word, language)
    if bokmal and language != "en":
        form = bokmal.get(word)
        if form:
            return min(own, weight(form, "nb"))
    return own


def is_content_word(word: str, language: str) -> bool:
    """Not a frame word ("party", "want", "mener") nor, in an English question, an English stopword."""
    lower = word.casefold()
    if lower in FRAME_WORDS or fold(lower) in FRAME_WORDS:
        return False
    return not (language == "en" and lower in _en_stopwords())


def question_terms(query: str, language: str, translations: dict[str, tuple[str, ...]] | None = None,
                   bokmal: Mapping[str, str] | None = None) -> tuple[Term, ...]:
    """Content terms of ``query`` (party names already cut out), without stopwords and frame words.

    ``translations`` maps an English word (lower case) to Norwegian words; their keys count as
    the word's own, so an English question can cover Norwegian text. ``bokmal`` maps nynorsk forms
    to bokmål words, whose frequency they are weighed by (``term_weight``)."""
    translations = translations or {}
    out: list[Term] = []
    seen: set[str] = set()
    for word in words(query):
        lower = word.casefold()
        if lower in FRAME_WORDS or fold(lower) in FRAME_WORDS or lower in seen:
            continue
        if language == "en" and lower in _en_stopwords():
            continue
        keys = tuple(tokens(word))
        # a translation counts by its words' whole stems, not their compound parts ("ettervern" is not "vern")
        extra = tuple(ks[0] for t in translations.get(lower, ()) for w in words(t) if (ks := tokens(w)) and ks[0] not in keys)
        if not keys and not extra:
            continue  # a Norwegian stopword or a one-letter word
        seen.add(lower)
        out.append(Term(lower, keys, term_weight(lower, language, bokmal), tuple(dict.fromkeys(extra))))
    return tuple(out)


def total_weight(terms: tuple[Term, ...]) -> float:
    return sum(t.weight for t in terms)


def coverage(terms: tuple[Term, ...], passage_keys: frozenset[str], expansions: dict[str, tuple[str, ...]] | None = None) -> tuple[float, float]:
    """(share of the question's weight the passage covers, the weight of its rarest covered term).

    A term is covered by its whole-word key or a Norwegian translation (1.0), by a key the index
    finds through compounds or spelling (``expansions``, 0.8), or by its compound parts (their share, halved)."""
    return Coverage(terms, expansions)(passage_keys)


class Coverage:
    """``coverage`` for one question's terms, prepared once and applied to each candidate passage."""

    __slots__ = ("_terms", "_total")

    def __init__(self, terms: tuple[Term, ...], expansions: dict[str, tuple[str, ...]] | None = None):
        expansions = expansions or {}
        prepared = []
        total = 0.0
        for t in terms:
            total += t.weight
            whole = frozenset((t.keys[:1]) + t.translated)
            near = frozenset(expansions.get(t.keys[0], ())) if t.keys else frozenset()
            parts = t.keys[1:] if len(t.keys) > 1 else ()
            prepared.append((t.weight, whole, near, parts))
        self._terms = tuple(prepared)
        self._total = total

    def __call__(self, passage_keys: frozenset[str]) -> tuple[float, float]:
        covered = best = 0.0
        for weight, whole, near, parts in self._terms:
            if not whole.isdisjoint(passage_keys):
                match = 1.0
            elif not near.isdisjoint(passage_keys):
                match = 0.8
            elif parts:
                match = 0.5 * sum(p in passage_keys for p in parts) / len(parts)
            else:
                match = 0.0
            covered += weight * match
            if match >= 0.8:
                best = max(best, weight)
        return (covered / self._total if self._total else 0.0), best


def log_weight(terms: tuple[Term, ...]) -> float:
    return math.log1p(total_weight(terms))
