"""Prepare a question: clean it, cut it to length, find the parties it names, resolve the party
filter, and either stop with a notice (empty, only a party name, a party not in the sources)
or hand a ``Prepared`` query to retrieval. The one place these rules live.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import QuestionError
from ..parties import PartyDirectory
from ..querylang import detect_language
from ..records import Answer
from ..textnorm import clean_question, valid_text

MODES = ("hybrid", "dense", "bm25")

NOTICE_EMPTY = "Spørsmålet er tomt. Skriv et spørsmål, for eksempel «Hva vil Venstre med LAR?»."
NOTICE_NONE = "Fant ingen relevante avsnitt i kildene."
NOTICE_ONLY_PARTY = "Spørsmålet nevner bare et parti. Spør om et tema, for eksempel «Hva vil {party} med bolig?»."
NOTICE_ONLY_PARTIES = "Spørsmålet nevner bare partier. Spør om et tema, for eksempel «Hva vil {party} med bolig?»."
NOTICE_PARTY_NONE = "Fant ingen relevante avsnitt fra {party} om dette i kildene."
NOTICE_OTHERS_HAVE = "{others} har avsnitt om dette; spør uten partinavn for å se dem."
NOTICE_LONG = "Spørsmålet var svært langt; bare de første {n} tegnene er brukt."


@dataclass(frozen=True)
class Prepared:
    """A question ready for retrieval."""

    question: str  # as asked
    query: str  # cleaned, cut to length, party names removed
    language: str  # "en" or "nb"
    named: tuple[str, ...]  # parties the question names
    restrict: tuple[str, ...]  # parties whose passages may answer (filter, else named); () = all
    missing: tuple[str, ...]  # named parties not in the sources
    notices: tuple[str, ...]  # notices to keep whatever the answer


def check_arguments(question, k, mode) -> None:
    if mode not in MODES:
        raise QuestionError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 50:
        raise QuestionError("k must be a whole number from 1 to 50")
    if not isinstance(question, str):
        raise QuestionError("the question must be text")


def prepare(question: str, party, parties: PartyDirectory, available: tuple[str, ...], mode: str,
            max_chars: int) -> Prepared | Answer:
    """A ``Prepared`` query, or the final ``Answer`` when the question cannot be searched."""
    question = valid_text(question)  # lone surrogates (from JSON or undecodable input) become U+FFFD
    cleaned = clean_question(question)
    notices: list[str] = []
    if not cleaned:
        return Answer(question, False, NOTICE_EMPTY, (), mode=mode)
    if len(cleaned) > max_chars:
        cleaned = cleaned[:max_chars].rsplit(" ", 1)[0] or cleaned[:max_chars]
        notices.append(NOTICE_LONG.format(n=len(cleaned)))
    mentions = parties.find(cleaned)
    named = tuple(dict.fromkeys(m.party for m in mentions))
    requested = tuple(valid_text(p) for p in requested_parties(party))
    unknown_filter = [p for p in requested if p not in available]
    if unknown_filter:
        return Answer(question, False, missing_notice(unknown_filter, available), named,
                      missing_parties=tuple(unknown_filter), mode=mode)
    missing = tuple(p for p in named if p not in available)
    present = tuple(p for p in named if p in available)
    if missing and not present and not requested:
        return Answer(question, False, missing_notice(missing, available), named, missing_parties=missing, mode=mode)
    if missing:
        notices.append(missing_notice(missing, available))
    query = without_mentions(cleaned, mentions)
    if not any(ch.isalnum() for ch in query) or (mentions and not _has_topic(query)):
        if mentions:
            only = NOTICE_ONLY_PARTIES if len(named) > 1 else NOTICE_ONLY_PARTY
            notice = only.format(party=present[0] if present else named[0])
        else:
            notice = NOTICE_NONE
        return Answer(question, False, " ".join(notices + [notice]), named, missing_parties=missing, mode=mode)
    return Prepared(question, query, detect_language(cleaned), named, requested or present, missing, tuple(notices))


def _has_topic(query: str) -> bool:
    """Whether anything but stopwords and question-frame words ("og", "hva mener", "what about") is left."""
    from .terms import question_terms

    return bool(question_terms(query, detect_language(query)))


def requested_parties(party) -> tuple[str, ...]:
    if party is None:
        return ()
    if isinstance(party, str):
        party = [party]
    if not isinstance(party, (list, tuple)) or not all(isinstance(p, str) for p in party):
        raise QuestionError("party must be a party name or a list of party names")
    return tuple(dict.fromkeys(p.strip() for p in party if p and p.strip()))


def missing_notice(missing, available) -> str:
    return f"{', '.join(missing)} finnes ikke i kildene (tilgjengelig: {', '.join(available)})."


def without_mentions(text: str, mentions) -> str:
    """The question with party names cut out, so they do not steer retrieval."""
    out, pos = [], 0
    for m in mentions:
        out.append(text[pos:m.start])
        pos = m.end
    out.append(text[pos:])
    return " ".join("".join(out).split())


def and_list(names) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " og " + names[-1]
