"""Find the parties a question names, from ``sources/parties.toml`` (data, not code).

"Venstre" is also the ordinary word for "left": an alias marked ambiguous counts as the
party only when not next to a word that makes it the ordinary word ("venstre hånd", "til venstre":
``not_before``/``not_after``) and when written with a capital letter, or in lower case:
- next to a cue ("hva mener venstre", "venstre vil");
- alone as a chat turn ("og venstre?", "what about venstre");
- first or last in the question, next to a content word, as keywords are typed ("venstre ettervern",
  "høyre formuesskatt", "formuesskatt høyre"): an adjective of that kind comes before its noun, and the
  nouns it goes with ("venstre side", "rødt kjøtt") are data, in ``not_before``;
- joined to another party's name by "og", "and", "eller", "or", "vs" or a comma ("venstre og helsepartiet");
- as a genitive of another of the party's names ("venstres politikk", "høyres"): no ordinary word.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from .errors import CatalogError

PARTIES_NAME = "parties.toml"


@dataclass(frozen=True)
class PartyMention:
    party: str
    alias: str
    start: int
    end: int


@dataclass(frozen=True)
class PartyDirectory:
    """Known parties, their aliases, and the cues that settle ambiguous ones."""

    aliases: tuple[tuple[str, str, bool], ...]  # (alias, party, ambiguous), longest alias first
    cues_before: frozenset[str]
    cues_after: frozenset[str]
    not_before: frozenset[str]
    not_after: frozenset[str]

    def find(self, question: str) -> list[PartyMention]:
        """Mentions in order of appearance; overlapping aliases resolve to the longest."""
        taken = bytearray(len(question))  # characters already claimed by a longer alias
        found: list[PartyMention] = []
        undecided: list[tuple[str, re.Match]] = []  # ambiguous in lower case: the party if joined to one found
        # an alias whose first word is not in the question (lower-cased) cannot match: skip its regex.
        # Only within Latin-1, where the regex's case-insensitive matching is the same as lower()
        try:
            question.encode("latin-1")
            lowered = question.lower()
        except UnicodeEncodeError:
            lowered = None
        for alias, party, ambiguous in self.aliases:
            if lowered is not None and _first_word(alias) not in lowered:
                continue
            for m in _alias_pattern(alias).finditer(question):
                if any(taken[m.start():m.end()]):
                    continue
                if ambiguous and alias.casefold() not in self._genitives:
                    reading = self._reading(question, m)
                    if reading is None:
                        undecided.append((party, m))
                    if not reading:
                        continue
                if len(alias) <= 3 and m.group(0) != alias:
                    continue  # short forms ("V", "SV", "Ap") only in their own spelling
                taken[m.start():m.end()] = b"\x01" * (m.end() - m.start())
                found.append(PartyMention(party, m.group(0), m.start(), m.end()))
        for party, m in undecided:  # "venstre og helsepartiet", "høyre, frp eller venstre"
            if not any(taken[m.start():m.end()]) and any(_joined(question, m, other) for other in found):
                taken[m.start():m.end()] = b"\x01" * (m.end() - m.start())
                found.append(PartyMention(party, m.group(0), m.start(), m.end()))
        for m in _LONG_WORD.finditer(question):  # a misspelt name: "samholdspatiet"
            if not any(taken[m.start():m.end()]):
                party = self._misspelt(m.group(0).casefold())
                if party is not None:
                    found.append(PartyMention(party, m.group(0), m.start(), m.end()))
        return sorted(found, key=lambda x: x.start)

    @cached_property
    def _one_word_names(self) -> tuple[tuple[str, str], ...]:
        return tuple((a.casefold(), p) for a, p, ambiguous in self.aliases
                     if not ambiguous and " " not in a and len(a) >= MIN_TYPO_LENGTH)

    @cached_property
    def _genitives(self) -> frozenset[str]:
        """Ambiguous names that are another name of the same party plus "s" ("Venstres"): in any case the party."""
        names = {(a.casefold(), p) for a, p, _ in self.aliases}
        return frozenset(a.casefold() for a, p, ambiguous in self.aliases
                         if ambiguous and len(a) > 3 and a[-1] in "sS" and (a[:-1].casefold(), p) in names)

    @cached_property
    def _typo_memo(self) -> dict[str, str | None]:
        return {}

    def _misspelt(self, word: str) -> str | None:
        """The one party whose one-word name is ``word`` with one slip of the keyboard (two in a name
        of 12 letters or more): a letter missed, added, changed, or two swapped. Not an ordinary word."""
        memo = self._typo_memo
        if word in memo:
            return memo[word]
        parties = {p for a, p in self._one_word_names
                   if a[0] == word[0] and abs(len(a) - len(word)) <= 2
                   and _slips(a, word, 2 if len(a) >= 12 else 1)}
        party = parties.pop() if len(parties) == 1 else None
        if party is not None and _ordinary_word(word):
            party = None
        if len(memo) < 10_000:
            memo[word] = party
        return party

    def _reading(self, question: str, m: re.Match) -> bool | None:
        """An ambiguous name's reading: True the party, False the ordinary word (next to a word of
        ``not_before``/``not_after``), None the ordinary word unless joined to another party's name."""
        before = question[:m.start()].split()
        after = question[m.end():].split()
        prev = _bare(before[-1]) if before else ""
        nxt = _bare(after[0]) if after else ""
        if nxt in self.not_before or prev in self.not_after:
            return False
        if m.group(0)[:1].isupper():
            return True
        if all(_bare(w) in _BARE_TURN_WORDS for w in before + after):
            return True  # the name alone, as a chat turn: "og venstre?", "what about venstre"
        if prev in self.cues_before or nxt in self.cues_after:
            return True
        # keywords: "venstre ettervern", "formuesskatt høyre" (the whole question, not one clause of it)
        if (not before and _content_word(nxt)) or (not after and _content_word(prev)):
            return True
        return None


_JOINERS = frozenset("og and eller or vs vs. versus".split())


def _joined(question: str, m: re.Match, other: PartyMention) -> bool:
    """Only a joining word ("og", "and", "eller", "vs", a comma) between the match and another mention."""
    if other.end <= m.start():
        between = question[other.end:m.start()]
    elif m.end() <= other.start:
        between = question[m.end():other.start]
    else:
        return False
    between = between.strip()
    if between in ("", ",", "&", "/"):
        return between != ""
    return between.rstrip(",").strip().casefold() in _JOINERS


def _content_word(word: str) -> bool:
    """A word that carries content: not a stopword ("og", "eller", "er") and not a number."""
    if not word or word.isdigit():
        return False
    from .textnorm import tokens
    return bool(tokens(word))


# The words a turn may have besides a party name and still be the name alone ("og venstre?", "and venstre").
_BARE_TURN_WORDS = frozenset("og and men but så so hva kva what how med om about enn then ok okay".split()) | {""}

MIN_TYPO_LENGTH = 8  # shorter names ("Høyre", "Rødt") are too close to ordinary words to guess at
_LONG_WORD = re.compile(rf"(?<![\w-])[^\W\d_]{{{MIN_TYPO_LENGTH},}}(?![\w-])")


def _slips(a: str, b: str, most: int) -> bool:
    """Optimal string alignment distance of ``a`` and ``b`` is at most ``most``."""
    if abs(len(a) - len(b)) > most:
        return False
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > most:
            return False
        prev2, prev = prev, cur
    return prev[-1] <= most


def _ordinary_word(word: str) -> bool:
    from .textnorm import zipf
    return zipf(word, "nb") >= 2.5 or zipf(word, "en") >= 2.5


def _bare(word: str) -> str:
    return re.sub(r"^\W+|\W+$", "", word).casefold()


_PATTERNS: dict[str, re.Pattern] = {}
_FIRST_WORDS: dict[str, str] = {}


def _first_word(alias: str) -> str:
    found = _FIRST_WORDS.get(alias)
    if found is None:
        found = _FIRST_WORDS[alias] = (alias.split() or [""])[0].lower()
    return found


def _alias_pattern(alias: str) -> re.Pattern:
    pattern = _PATTERNS.get(alias)
    if pattern is None:
        body = r"\s+".join(re.escape(part) for part in alias.split())
        flags = 0 if len(alias) <= 3 else re.IGNORECASE
        pattern = re.compile(rf"(?<![\w-]){body}(?![\w-])", flags)
        _PATTERNS[alias] = pattern
    return pattern


def load_parties(root: Path) -> PartyDirectory:
    path = root / PARTIES_NAME
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return PartyDirectory((), frozenset(), frozenset(), frozenset(), frozenset())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path} is not valid TOML: {exc}") from None
    entries = []
    for item in data.get("party", []):
        name = item.get("name")
        if not isinstance(name, str) or not name:
            raise CatalogError(f"{path}: every [[party]] needs a name")
        ambiguous = {a.casefold() for a in item.get("ambiguous", [])}
        for alias in {name, *item.get("aliases", [])}:
            entries.append((alias, name, alias.casefold() in ambiguous))
    entries.sort(key=lambda e: (-len(e[0]), e[0]))
    fold = lambda key: frozenset(w.casefold() for w in data.get(key, []))  # noqa: E731
    return PartyDirectory(tuple(entries), fold("cues_before"), fold("cues_after"), fold("not_before"), fold("not_after"))
