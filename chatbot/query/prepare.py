"""Prepare a question: clean it, cut it to length, find the parties it names, resolve the party
filter, and either stop with a notice (empty, only a party name, a party not in the sources)
or hand a ``Prepared`` query to retrieval. The one place these rules live.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import QuestionError
from ..notices import and_list as _and_list
from ..notices import MESSAGES, say
from ..parties import PartyDirectory
from ..querylang import detect_language, guess_language
from ..records import Answer
from ..textnorm import clean_question, valid_text

MODES = ("hybrid", "dense", "bm25")

# The bokmål notices (templates), kept for callers that compare with them; every notice is
# made by ``chatbot.notices.say`` in the question's language.
NOTICE_EMPTY = MESSAGES["empty"]["nb"]
NOTICE_NONE = MESSAGES["none"]["nb"]
NOTICE_ONLY_PARTY = MESSAGES["only_party"]["nb"]
NOTICE_ONLY_PARTIES = MESSAGES["only_parties"]["nb"]
NOTICE_PARTY_NONE = MESSAGES["party_none"]["nb"]
NOTICE_OTHERS_HAVE = MESSAGES["others_have"]["nb"]

_WORDS = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*")


@dataclass(frozen=True)
class Prepared:
    """A question ready for retrieval."""

    question: str  # as asked
    query: str  # cleaned, cut to length, party names removed
    language: str  # "en" or "nb": how retrieval reads the question
    named: tuple[str, ...]  # parties the question names
    restrict: tuple[str, ...]  # parties whose passages may answer (filter, else named); () = all
    missing: tuple[str, ...]  # named parties not in the sources
    notices: tuple[str, ...]  # notices to keep whatever the answer
    searched: str = ""  # the question as searched: cleaned and cut to length, party names kept
    truncated: bool = False  # cut to the length limit
    notice_language: str = "nb"  # "nb", "nn" or "en": the language of the notices
    filtered: bool = False  # ``restrict`` is the party filter (not the parties the question names)
    filtered_out: tuple[str, ...] = ()  # parties the question names that the filter leaves out


MAX_K = 50  # the most passages one answer shows; every way in (CLI, environment, API, eval) takes this bound


def check_arguments(question, k, mode) -> None:
    if mode not in MODES:
        raise QuestionError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise QuestionError(f"k must be a whole number from 1 to {MAX_K}")
    if not isinstance(question, str):
        raise QuestionError("the question must be text")


def prepare(question: str, party, parties: PartyDirectory, available: tuple[str, ...], mode: str,
            max_chars: int) -> Prepared | Answer:
    """A ``Prepared`` query, or the final ``Answer`` when the question cannot be searched."""
    question = valid_text(question)  # lone surrogates (from JSON or undecodable input) become U+FFFD
    cleaned = clean_question(question)
    notices: list[str] = []
    if not cleaned:
        return Answer(question, False, say("empty", "nb"), (), mode=mode)
    truncated = len(cleaned) > max_chars
    cleaned = cut_question(cleaned, max_chars)
    mentions = parties.find(cleaned)
    lang = question_language(cleaned, mentions)
    if truncated:
        notices.append(say("long", lang, n=len(cleaned), total=len(question), limit=max_chars))
    named = tuple(dict.fromkeys(m.party for m in mentions))
    stop = dict(mode=mode, searched=cleaned, truncated=truncated, language=lang)
    requested = tuple(valid_text(p) for p in requested_parties(party))
    unknown_filter = [p for p in requested if p not in available]
    if unknown_filter:
        return Answer(question, False, " ".join(notices + [missing_notice(unknown_filter, available, lang)]), named,
                      missing_parties=tuple(unknown_filter), **stop)
    missing = tuple(p for p in named if p not in available)
    present = tuple(p for p in named if p in available)
    if missing and not present and not requested:
        return Answer(question, False, " ".join(notices + [missing_notice(missing, available, lang)]), named,
                      missing_parties=missing, **stop)
    if missing:
        notices.append(missing_notice(missing, available, lang))
    filtered_out = tuple(p for p in present if requested and p not in requested)
    query = without_mentions(cleaned, mentions)
    if not any(ch.isalnum() for ch in query) or (mentions and not _has_topic(query)):
        if mentions:
            notice = say("only_parties" if len(named) > 1 else "only_party", lang,
                         party=present[0] if present else named[0])
        else:
            notice = say("none", lang)
        return Answer(question, False, " ".join(notices + [notice]), named, missing_parties=missing, **stop)
    if filtered_out:
        notices.append(filtered_out_notice(filtered_out, requested, lang))
    return Prepared(question, query, detect_language(cleaned), named, requested or present, missing, tuple(notices),
                    cleaned, truncated, lang, bool(requested), filtered_out)


def cut_question(cleaned: str, max_chars: int) -> str:
    """A cleaned question cut to ``max_chars``, at the last space within the limit when there is one."""
    if len(cleaned) <= max_chars:
        return cleaned
    return cleaned[:max_chars].rsplit(" ", 1)[0] or cleaned[:max_chars]


def question_language(text: str, mentions=()) -> str:
    """"nb", "nn" or "en" for the notices: ``querylang.guess_language`` (as the follow-up rules
    use it) over the question's words without the party names."""
    return guess_language(text, _WORDS.findall(without_mentions(text, mentions).casefold()))


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


def missing_notice(missing, available, lang: str = "nb") -> str:
    return say("missing_many" if len(missing) > 1 else "missing", lang,
               missing=", ".join(missing), available=", ".join(available))


def filtered_out_notice(parties, allowed, lang: str = "nb") -> str:
    return say("filtered_out_many" if len(parties) > 1 else "filtered_out", lang,
               parties=_and_list(parties, lang), allowed=_and_list(allowed, lang))


def without_mentions(text: str, mentions) -> str:
    """The question with party names cut out, so they do not steer retrieval."""
    out, pos = [], 0
    for m in mentions:
        out.append(text[pos:m.start])
        pos = m.end
    out.append(text[pos:])
    return " ".join("".join(out).split())


def and_list(names, lang: str = "nb") -> str:
    return _and_list(names, lang)
