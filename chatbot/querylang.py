"""Questions in English, sources in Norwegian: detect the question's language and add
Norwegian terms from a bilingual glossary (``sources/glossary-en-nb.toml``, data).

The embedding model is multilingual and reads the English question as it is; the added
terms give BM25 something to match and a second, Norwegian query for the dense search.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .errors import CatalogError

GLOSSARY_NAME = "glossary-en-nb.toml"
_WORD = re.compile(r"[a-z0-9]+(?:[-'’][a-z0-9]+)*")

# Function words that tell English from Norwegian (none is a word in the other language's list).
_EN = frozenset("""the a an of to for what which who whom whose does do did is are was were be been would should
could can will want wants say says think thinks about on in with and or not any there their they this that these
those how why when where from by at as it its have has had than into if so such""".split())
_NO = frozenset("""og i på er det som en et til av for med de vil hva hvem hvilke hvilket hvilken hvordan hvorfor
når skal kan ikke om mener sier partiene partiet ønsker har være blir bør må seg sin sitt sine den dette disse""".split())


@dataclass(frozen=True)
class QueryForms:
    """The question as asked, its language, and Norwegian terms added from the glossary."""

    text: str
    language: str  # "en" or "nb"
    added_terms: tuple[str, ...]

    @property
    def norwegian(self) -> str:
        """The added Norwegian terms as one query ('' when none)."""
        return " ".join(self.added_terms)


ENGLISH_MARGIN = 0.5  # keywords: English when their words are on average 3x commoner in English (zipf)


def detect_language(text: str) -> str:
    """"en" or "nb". Function words decide first ("what does Høyre want" is English despite its
    "ø"); then æ/ø/å say Norwegian; then, for keywords with neither ("nurse shortage", "detox"),
    how much commoner the words are in English than in Norwegian (wordfreq)."""
    words = _WORD.findall(text.casefold())
    en = sum(w in _EN for w in words)
    nb = sum(w in _NO for w in words)
    if en != nb:
        return "en" if en > nb else "nb"
    if re.search(r"[æøå]", text, re.IGNORECASE):
        return "nb"
    return "en" if _english_lean(words) >= ENGLISH_MARGIN else "nb"


def _english_lean(words: list[str]) -> float:
    """Mean over the words of zipf(English) - zipf(Norwegian), each capped at ±3 (0 for none)."""
    from .textnorm import zipf

    scored = [w for w in words if len(w) > 1 and not w.isdigit()]
    if not scored:
        return 0.0
    return sum(max(-3.0, min(3.0, zipf(w, "en") - zipf(w, "nb"))) for w in scored) / len(scored)


@dataclass(frozen=True)
class Glossary:
    terms: dict[str, tuple[str, ...]]  # lower-case English phrase -> Norwegian terms
    longest: int  # words in the longest phrase

    def expand(self, text: str, language: str, known=lambda term: True) -> tuple[str, ...]:
        """Norwegian terms for the English words of ``text``, longest phrases first.

        For a question not detected as English, only single words the corpus does not
        know (``known(word)`` false) are looked up, so a keyword such as "detox" still works.
        """
        words = _WORD.findall(text.casefold())
        out: list[str] = []
        i = 0
        while i < len(words):
            for n in range(min(self.longest, len(words) - i), 0, -1):
                phrase = " ".join(words[i:i + n])
                found = self._lookup(phrase)
                if found is None:
                    continue
                if language != "en" and (n > 1 or known(words[i])):
                    continue
                out.extend(found)
                i += n
                break
            else:
                i += 1
        return tuple(dict.fromkeys(out))

    def lookup(self, word: str) -> tuple[str, ...] | None:
        """The Norwegian terms for one English word (or phrase), inflections stripped; None if absent."""
        return self._lookup(" ".join(_WORD.findall(word.casefold())))

    def _lookup(self, phrase: str) -> tuple[str, ...] | None:
        if phrase in self.terms:
            return self.terms[phrase]
        for suffix, replacement in (("'s", ""), ("’s", ""), ("ies", "y"), ("es", ""), ("s", ""), ("ing", ""),
                                    ("ing", "e"), ("ed", ""), ("ed", "e"), ("d", "")):
            if phrase.endswith(suffix) and len(phrase) > len(suffix) + 2:
                stem = phrase[: -len(suffix)] + replacement
                if stem in self.terms:
                    return self.terms[stem]
        return None


EMPTY = Glossary({}, 0)


def load_glossary(root: Path) -> Glossary:
    return _load(root / GLOSSARY_NAME)


@lru_cache(maxsize=8)
def _load(path: Path) -> Glossary:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return EMPTY
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path} is not valid TOML: {exc}") from None
    terms: dict[str, tuple[str, ...]] = {}
    for key, value in data.get("terms", {}).items():
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
            raise CatalogError(f"{path}: term {key!r} must map to a string or a list of strings")
        terms[" ".join(key.casefold().split())] = tuple(v.strip() for v in values)
    longest = max((len(k.split()) for k in terms), default=0)
    return Glossary(terms, longest)


def query_forms(text: str, glossary: Glossary, known=lambda term: True) -> QueryForms:
    language = detect_language(text)
    return QueryForms(text, language, glossary.expand(text, language, known))


# Words that mark a short chat turn's language (follow-ups such as "og de andre?", "what about them?").
NB_HINTS = frozenset("og om hva med vil mener er de dem deres hvem hvilke partiet partiene begge andre enige forskjellen "
                      "hvorfor ikke".split())
NN_HINTS = frozenset("kva kven korleis kvifor meiner seier dei deira ikkje eg ho partia einige skilnaden òg".split())
EN_HINTS = frozenset("and what about the they them their both others do does agree difference how who which party "
                      "why not".split())


def guess_language(text: str, words: list[str]) -> str:
    """"nb", "nn" or "en" for a question or a short chat turn, given its lower-cased words
    (without party names): the hint words first, then ``detect_language``."""
    if any(w in NN_HINTS for w in words) and not any(w in ("hva", "hvem", "hvordan", "ikke", "jeg") for w in words):
        return "nn"
    en = sum(w in EN_HINTS for w in words)
    nb = sum(w in NB_HINTS for w in words)
    if en != nb and not re.search(r"[æøå]", text, re.IGNORECASE):
        return "en" if en > nb else "nb"
    return detect_language(text)
