"""Text normalisation for lexical matching: NFKC, case folding, æøå folding, Norwegian stemming."""

from __future__ import annotations

import re
import unicodedata
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


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_NORWEGIAN

    return frozenset(fold(w) for w in STOPWORDS_NORWEGIAN)


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer  # PyStemmer: Snowball's Norwegian stemmer

    return Stemmer.Stemmer("norwegian")


def tokens(text: str) -> list[str]:
    """BM25 terms: folded, stopwords dropped, stemmed; compound parts of hyphenated words too."""
    out: list[str] = []
    for word in words(text):
        folded = fold(word)
        pieces = [p for p in re.split(r"[-'’]", folded) if p]
        # a hyphenated compound also counts as its parts and as one word ("medleve-kollektiv",
        # "medleve", "kollektiv", "medlevekollektiv"), so each spelling finds the others
        parts = [folded] + (pieces + ["".join(pieces)] if len(pieces) > 1 else [])
        for part in parts:
            if part in _stopwords() or (len(part) < 2 and not part.isdigit()):
                continue
            out.append(part)
    return _stemmer().stemWords(out) if out else []
