"""Text normalisation for lexical matching: NFKC, case folding, æøå folding, Norwegian stemming."""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher
from functools import lru_cache

_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*", re.UNICODE)
_FOLD = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "ä": "a", "ö": "o", "ü": "u"})
# Zero-width and bidirectional control characters that change nothing a reader sees.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u00ad]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Terminal colour and cursor codes (ANSI CSI / two-byte escapes) pasted along with a question.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")


def valid_text(text: str) -> str:
    """``text`` encodable as UTF-8: surrogate pairs joined, lone surrogates replaced by U+FFFD."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def clean_question(text: str) -> str:
    """NFKC, invisible, terminal and control characters removed, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", valid_text(text))
    text = _ANSI.sub("", text)
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub(" ", text)
    return " ".join(text.split())


def fold(word: str) -> str:
    """Lower case without diacritics, so 'sprøyterom' and 'sproyterom' meet."""
    word = unicodedata.normalize("NFKC", word).casefold().translate(_FOLD)
    decomposed = unicodedata.normalize("NFD", word)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text))


def longest_common_substring(a: str, b: str) -> int:
    """Length of the longest contiguous substring shared by ``a`` and ``b`` (exact).

    ``SequenceMatcher`` without a junk function and with ``autojunk=False`` returns the
    longest matching block, which is the longest common substring.
    """
    if not a or not b:
        return 0
    return SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b)).size


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_NORWEGIAN

    return frozenset(fold(w) for w in STOPWORDS_NORWEGIAN)


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer  # PyStemmer: Snowball's Norwegian stemmer

    return Stemmer.Stemmer("norwegian")


def tokens(text: str) -> list[str]:
    """BM25 terms: folded, stopwords dropped, stemmed; the parts of hyphenated words and of
    closed compounds too ("døgnbehandling" also counts as "døgn" and "behandling")."""
    stems = [s for word in words(text) for s in _word_tokens(word)]
    return stems if len(stems) <= 1 else list(dict.fromkeys(stems))


@lru_cache(maxsize=200_000)
def _word_tokens(word: str) -> tuple[str, ...]:
    """One word's stems (``tokens`` of a text is theirs in order, repeats dropped); words recur, so cached."""
    lower = unicodedata.normalize("NFKC", word).casefold()
    pieces = [p for p in re.split(r"[-'’]", lower) if p]
    # a hyphenated compound also counts as its parts and as one word ("medleve-kollektiv",
    # "medleve", "kollektiv", "medlevekollektiv"), so each spelling finds the others
    parts = [lower] + (pieces + ["".join(pieces)] if len(pieces) > 1 else [])
    for piece in pieces:
        parts.extend(compound_parts(piece))
    out = [part for part in dict.fromkeys(fold(p) for p in parts)
           if part not in _stopwords() and (len(part) >= 2 or part.isdigit())]
    return tuple(_undouble(s) for s in _stemmer().stemWords(out)) if out else ()


def _undouble(stem: str) -> str:
    """'sprøyteromm' (from 'sprøyterommene') and 'sprøyterom' meet: a final double consonant counts once."""
    if len(stem) > 3 and stem[-1] == stem[-2] and stem[-1] not in "aeiouyæøå0123456789":
        return stem[:-1]
    return stem


COMPOUND_MIN_CHARS = 8  # shorter words are not split
COMPOUND_PART_ZIPF = 3.0  # each part must be an ordinary word (wordfreq, Norwegian bokmål)


@lru_cache(maxsize=200_000)
def compound_parts(word: str) -> tuple[str, ...]:
    """The parts of a closed Norwegian compound, found with general-language word frequencies:
    "behandlingsplasser" -> ("behandling", "plasser"). Empty when no split into common words exists."""
    if len(word) < COMPOUND_MIN_CHARS or not word.isalpha():
        return ()
    best: tuple[float, tuple[str, ...]] | None = None
    for i in range(3, len(word) - 2):
        left, rest = word[:i], word[i:]
        for link in ("", "s", "e"):
            if link and not rest.startswith(link):
                continue
            right = rest[len(link):]
            if len(right) < 3:
                continue
            score = min(_zipf(left), _zipf(right))
            if score >= COMPOUND_PART_ZIPF and (best is None or score > best[0]):
                best = (score, (left, right))
    if best is None:
        return ()
    left, right = best[1]
    return (left, *compound_parts(left), right, *compound_parts(right))


@lru_cache(maxsize=400_000)
def _zipf(word: str) -> float:
    from wordfreq import zipf_frequency

    return zipf_frequency(word, "nb")


def zipf(word: str, language: str = "nb") -> float:
    """General-language frequency of ``word`` on the Zipf scale (0: unknown, 7: the commonest words)."""
    if language == "nb":
        return _zipf(word.casefold())
    from wordfreq import zipf_frequency

    return zipf_frequency(word.casefold(), language)
