"""The fixed notices the chatbot shows, in bokmål ("nb"), nynorsk ("nn") and English ("en").

Every notice is a template here, keyed by a string, and rendered with ``say(key, lang,
**fields)`` in the question's language; an unknown language falls back to bokmål. Quotes
from the sources are never translated: only these notices are. ``MESSAGES`` stays at the
end of this module; new keys are appended to its end.
"""

from __future__ import annotations

from collections.abc import Iterable

LANGUAGES = ("nb", "nn", "en")
DEFAULT = "nb"


def say(key: str, lang: str, **fields) -> str:
    """The notice ``key`` in ``lang`` ("nb", "nn", "en"; anything else is bokmål), filled in with ``fields``."""
    templates = MESSAGES[key]
    template = templates.get(lang) or templates[DEFAULT]
    return template.format(**fields) if fields else template


def language(lang: str | None) -> str:
    """``lang`` if it is one of ours, else bokmål."""
    return lang if lang in LANGUAGES else DEFAULT


def and_list(names: Iterable[str], lang: str = DEFAULT) -> str:
    """'A', 'A og B', 'A, B og C' ('and' in English)."""
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + say("and", lang) + names[-1]


MESSAGES: dict[str, dict[str, str]] = {
    "and": {"nb": " og ", "nn": " og ", "en": " and "},
    # a passage the programme also says elsewhere, word for word (query/repeats.py)
    "also_at": {"nb": "Står også i {where}", "nn": "Står òg i {where}", "en": "Also in {where}"},
    "empty": {
        "nb": "Spørsmålet er tomt. Skriv et spørsmål, for eksempel «Hva vil Venstre med LAR?».",
        "nn": "Spørsmålet er tomt. Skriv eit spørsmål, til dømes «Kva vil Venstre med LAR?».",
        "en": "The question is empty. Type a question, for example «What does Venstre want for LAR?».",
    },
    "none": {
        "nb": "Fant ingen relevante avsnitt i kildene.",
        "nn": "Fann ingen relevante avsnitt i kjeldene.",
        "en": "Found no relevant passages in the sources.",
    },
    "only_party": {
        "nb": "Spørsmålet nevner bare et parti. Spør om et tema, for eksempel «Hva vil {party} med bolig?».",
        "nn": "Spørsmålet nemner berre eit parti. Spør om eit tema, til dømes «Kva vil {party} med bustad?».",
        "en": "The question only names a party. Ask about a topic, for example «What does {party} want for housing?».",
    },
    "only_parties": {
        "nb": "Spørsmålet nevner bare partier. Spør om et tema, for eksempel «Hva vil {party} med bolig?».",
        "nn": "Spørsmålet nemner berre parti. Spør om eit tema, til dømes «Kva vil {party} med bustad?».",
        "en": "The question only names parties. Ask about a topic, for example «What does {party} want for housing?».",
    },
    "party_none": {
        "nb": "Fant ingen relevante avsnitt fra {party} om dette i kildene.",
        "nn": "Fann ingen relevante avsnitt frå {party} om dette i kjeldene.",
        "en": "Found no relevant passages from {party} on this in the sources.",
    },
    "others_have": {
        "nb": "{others} har avsnitt om dette; spør uten partinavn for å se dem.",
        "nn": "{others} har avsnitt om dette; spør utan partinamn for å sjå dei.",
        "en": "There are passages on this from {others}; ask without a party name to see them.",
    },
    "others_have_filter": {
        "nb": "{others} har avsnitt om dette; ta med {others} i partifilteret for å se dem.",
        "nn": "{others} har avsnitt om dette; ta med {others} i partifilteret for å sjå dei.",
        "en": "There are passages on this from {others}; include {others} in the party filter to see them.",
    },
    "others_were_asked": {  # "noen andre?": the parties that have passages are the ones the user just left out
        "nb": "Bare {others} har avsnitt om dette.",
        "nn": "Berre {others} har avsnitt om dette.",
        "en": "Only {others} have passages on this.",
    },
    "nothing_more": {  # "hva annet …?": every passage found was shown earlier in the conversation
        "nb": "Fant ingen flere avsnitt om dette enn dem som alt er vist; her er de igjen.",
        "nn": "Fann ingen fleire avsnitt om dette enn dei som alt er viste; her er dei att.",
        "en": "No passages on this beyond the ones already shown; here they are again.",
    },
    "nobody_else": {
        "nb": "Kildene har ingen andre partier enn {parties}.",
        "nn": "Kjeldene har ingen andre parti enn {parties}.",
        "en": "The sources have no parties other than {parties}.",
    },
    "long": {
        "nb": "Spørsmålet var svært langt; bare de første {n} av {total} tegn er brukt i søket (grensen er {limit} tegn).",
        "nn": "Spørsmålet var svært langt; berre dei første {n} av {total} teikn er brukte i søket (grensa er {limit} teikn).",
        "en": "The question was very long; only the first {n} of {total} characters were searched (the limit is {limit}).",
    },
    "missing": {
        "nb": "{missing} finnes ikke i kildene (tilgjengelig: {available}).",
        "nn": "{missing} finst ikkje i kjeldene (tilgjengeleg: {available}).",
        "en": "{missing} is not in the sources (available: {available}).",
    },
    "missing_many": {
        "nb": "{missing} finnes ikke i kildene (tilgjengelig: {available}).",
        "nn": "{missing} finst ikkje i kjeldene (tilgjengeleg: {available}).",
        "en": "{missing} are not in the sources (available: {available}).",
    },
    "filtered_out": {
        "nb": "{parties} er filtrert bort: partifilteret viser bare {allowed}.",
        "nn": "{parties} er filtrert bort: partifilteret viser berre {allowed}.",
        "en": "{parties} is filtered out: the party filter shows only {allowed}.",
    },
    "filtered_out_many": {
        "nb": "{parties} er filtrert bort: partifilteret viser bare {allowed}.",
        "nn": "{parties} er filtrerte bort: partifilteret viser berre {allowed}.",
        "en": "{parties} are filtered out: the party filter shows only {allowed}.",
    },
    # content words of a Norwegian question that no passage has in any form (query/retrieve.py, missing_words)
    "missing_word": {
        "nb": "Ordet {words} står ikke i kildene.",
        "nn": "Ordet {words} står ikkje i kjeldene.",
        "en": "The word {words} is not in the sources.",
    },
    "missing_words": {
        "nb": "Ordene {words} står ikke i kildene.",
        "nn": "Orda {words} står ikkje i kjeldene.",
        "en": "The words {words} are not in the sources.",
    },
}
