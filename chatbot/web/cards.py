"""HTML for the web page: answer cards, citations, highlighting and the source view.

Pure functions from records to HTML (no gradio), so every escaping rule is unit-tested.
The one rule: text from a source, a question or the catalogue is escaped *first*; only then
are our own tags (``<mark>``, cards, links) put around the escaped pieces.

Escaped text is a type: every function here that returns HTML returns :class:`markupsafe.Markup`,
and outside text enters HTML only through markupsafe (:func:`esc`, ``Markup(template).format(...)``,
``Markup.join``), which escapes whatever is not ``Markup`` already. A plain ``str`` is text, never HTML;
adding one to ``Markup`` escapes it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote as url_quote, urlencode

from markupsafe import Markup, escape

from ..notices import say as notice_say
from ..records import Answer, Document, Hit, Passage, citation
from ..textnorm import fold, tokens, words

# Colours for party badges: dark enough for white text (WCAG AA, contrast >= 4.5:1), none of
# them a party's own campaign colour on purpose. A party gets one by a stable hash of its
# folded name, so a party added to the sources gets a colour without a code change.
PALETTE: tuple[str, ...] = (
    "#6d3a8f",  # purple
    "#9a3412",  # rust
    "#4f5d13",  # olive
    "#1d4e89",  # navy
    "#8a1c4a",  # plum
    "#1f6b3a",  # green
    "#7c4a03",  # amber brown
    "#0e6470",  # teal
)

# Same word pattern as chatbot.textnorm.words, but with positions, so matches can be marked in place.
_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*", re.UNICODE)

NO_PASSAGES = "Ingen avsnitt funnet"
EMPTY_FILTER = "Velg minst ett parti i partifilteret."

# The page's own words, in the question's language ("nb", "nn", "en"). Notices about the
# answer itself come from the answerer; these are the page's (filter notes, buttons, labels).
PAGE_TEXT: dict[str, dict[str, str]] = {
    "filter_only": {"nb": "Partifilter: bare {parties}.", "nn": "Partifilter: berre {parties}.",
                    "en": "Party filter: only {parties}."},
    "filter_hides": {"nb": "Spørsmålet nevner {named}, men partifilteret viser bare {shown}.",
                     "nn": "Spørsmålet nemner {named}, men partifilteret viser berre {shown}.",
                     "en": "The question names {named}, but the party filter shows only {shown}."},
    "empty_filter": {"nb": EMPTY_FILTER, "nn": "Vel minst eitt parti i partifilteret.",
                     "en": "Choose at least one party in the party filter."},
    "empty_hint": {"nb": "Skriv et spørsmål i feltet først, for eksempel «Hva vil Venstre med LAR?».",
                   "nn": "Skriv eit spørsmål i feltet først.", "en": "Type a question in the box first."},
    "cut": {"nb": "Forkortet: bare de første {n} tegnene er søkt.",
            "nn": "Forkorta: berre dei første {n} teikna er søkte.",
            "en": "Shortened: only the first {n} characters were searched."},
    "none_found": {"nb": "Fant ingen relevante avsnitt i kildene.", "nn": "Fann ingen relevante avsnitt i kjeldene.",
                   "en": "No relevant passages found in the sources."},
    "no_passages": {"nb": NO_PASSAGES, "nn": NO_PASSAGES, "en": "No passages found"},
    "summary": {"nb": "Avsnitt fra {listing}. Partiene står i alfabetisk rekkefølge.",
                "nn": "Avsnitt frå {listing}. Partia står i alfabetisk rekkjefølgje.",
                "en": "Passages from {listing}. The parties are in alphabetical order."},
    "compare_label": {"nb": "Sammenlign partiene", "nn": "Samanlikn partia", "en": "Compare the parties"},
    "context": {"nb": "Vis sammenheng", "nn": "Vis samanheng", "en": "Show context"},
    "source": {"nb": "Kilde", "nn": "Kjelde", "en": "Source"},
    "open_source": {"nb": "Åpne kilden med avsnittet markert", "nn": "Opne kjelda med avsnittet markert",
                    "en": "Open the source with the passage marked"},
    "copy": {"nb": "Kopier", "nn": "Kopier", "en": "Copy"},
    "copied": {"nb": "Kopiert", "nn": "Kopiert", "en": "Copied"},
    "copy_title": {"nb": "Kopier sitatet med kildehenvisning", "nn": "Kopier sitatet med kjeldetilvising",
                   "en": "Copy the quote with its citation"},
    "downloads": {"nb": "Last ned kildehenvisningene:", "nn": "Last ned kjeldetilvisingane:",
                  "en": "Download the citations:"},
    "announce": {"nb": "Svar på «{q}»: {n} avsnitt fra {parties}.", "nn": "Svar på «{q}»: {n} avsnitt frå {parties}.",
                 "en": "Answer to «{q}»: {n} passages from {parties}."},
    "announce_none": {"nb": "Svar på «{q}»: {message}", "nn": "Svar på «{q}»: {message}",
                      "en": "Answer to «{q}»: {message}"},
    "version_changed": {"nb": "Kildene er endret siden lenken ble laget (lenken gjelder versjon {old}, siden viser "
                              "versjon {new}). Svaret og tegnposisjonene kan derfor avvike fra det som ble delt.",
                        "nn": "Kjeldene er endra sidan lenkja vart laga (lenkja gjeld versjon {old}, sida viser "
                              "versjon {new}). Svaret og teiknposisjonane kan difor vere annleis enn det som vart delt.",
                        "en": "The sources have changed since the link was made (the link is for version {old}, the "
                              "page serves version {new}). The answer and the offsets may differ from what was shared."},
}


def say(key: str, lang: str = "nb", **fields: object) -> str:
    """A page text in ``lang`` (bokmål when that language has none), with ``fields`` filled in."""
    texts = PAGE_TEXT[key]
    template = texts.get(lang, texts["nb"])
    return template.format(**fields) if fields else template


def esc(text: object) -> Markup:
    """Text as HTML for element content and quoted attribute values (markupsafe escapes & < > ' ").
    ``None`` is empty; ``Markup`` is HTML already and stays as it is."""
    return escape("" if text is None else text)


def html_join(pieces: Iterable[object], sep: str = "") -> Markup:
    """``pieces`` joined into one piece of HTML (``sep`` is our own HTML; text pieces are escaped)."""
    return Markup(sep).join(pieces)


def party_colour(party: str) -> str:
    """A fixed badge colour per party, the same on every run and machine."""
    digest = hashlib.sha256(fold(party.strip()).encode("utf-8")).digest()
    return PALETTE[int.from_bytes(digest[:4], "big") % len(PALETTE)]


# Norwegian alphabetical order: a–z, then æ, ø, å (ä and ö sort as æ and ø, ü as y; other
# accents are ignored: é as e).
_NB_LAST = {"æ": "{", "ä": "{", "ø": "|", "ö": "|", "å": "}"}


def collation_key(name: str) -> tuple[str, str]:
    """Sort key for Norwegian alphabetical order (case-insensitive, æøå after z)."""
    out = []
    for ch in name.casefold().strip():
        if ch in _NB_LAST:
            out.append(_NB_LAST[ch])
            continue
        if ch == "ü":
            ch = "y"
        base = unicodedata.normalize("NFD", ch)[0]
        out.append(base)
    return "".join(out), name


def sort_parties(parties: Iterable[str]) -> list[str]:
    """Parties in a neutral order: alphabetical by Norwegian collation (æ, ø, å after z), everywhere
    the page lists parties (filter, compare columns, answer groups, scope, quote check)."""
    return sorted(dict.fromkeys(parties), key=collation_key)


def query_terms(question: str, exclude: Iterable[str] = ()) -> frozenset[str]:
    """The question's folded, stemmed content words, minus those of ``exclude`` (party names)."""
    skip = {t for name in exclude for t in tokens(name)}
    return frozenset(t for w in words(question or "") for t in _word_keys(w) if t not in skip)


def _word_keys(word: str) -> set[str]:
    """A word's own stem and those of its hyphenated parts, not its closed-compound parts
    ("LAR-behandling" marks "LAR"; "sprøyterom" does not mark "rom")."""
    out = set()
    for piece in [word, *re.split(r"[-'’]", word)]:
        found = tokens(piece) if piece else []
        if found:
            out.add(found[0])
    return out


def highlight(text: str, terms: Iterable[str] = ()) -> Markup:
    """``text`` escaped, with each word whose folded stem is in ``terms`` wrapped in <mark>."""
    terms = frozenset(terms)
    if not terms:
        return esc(text)
    out: list[Markup] = []
    pos = 0
    for m in _WORD.finditer(text):
        if terms.isdisjoint(_word_keys(m.group())):
            continue
        out.append(esc(text[pos:m.start()]))
        out.append(Markup('<mark class="hl">{}</mark>').format(m.group()))
        pos = m.end()
    out.append(esc(text[pos:]))
    return html_join(out)


def source_href(source: str, start: int | None = None, end: int | None = None) -> str:
    """Relative URL that opens the Sources tab at a document (and range); read on page load."""
    params: dict[str, object] = {"source": source}
    if start is not None and end is not None:
        params.update(start=start, end=end)
    return "?" + urlencode(params)


def citation_text(document: Document | None, passage: Passage) -> str:
    return citation(document, passage) if document else f"{passage.source}, linje {passage.line}, tegn {passage.start}–{passage.end}"


def badge(party: str) -> Markup:
    return Markup('<span class="party-badge" style="background:{}">{}</span>').format(party_colour(party), party)


def card(hit: Hit, document: Document | None, terms: Iterable[str] = (), *, show_badge: bool = True,
         lang: str = "nb") -> Markup:
    """One quoted passage: party badge, the quote, the citation and its context.

    ``lang`` is the language of the page text around the quote (the question's); the quote
    itself keeps its document's language.
    """
    p = hit.passage
    terms = frozenset(terms)
    quote_lang = document.language if document else "nb"
    cite = citation_text(document, p)
    head = [badge(p.party)] if show_badge else []
    if p.section and p.section != p.title:
        head.append(Markup('<span class="card-section" lang="{}">{}</span>').format(quote_lang, p.section))
    offset = p.start - p.context_start
    in_context = p.context[offset:offset + len(p.text)] == p.text and offset >= 0
    if in_context:
        context_html = (highlight(p.context[:offset], terms)
                        + Markup('<span class="quoted">{}</span>').format(highlight(p.text, terms))
                        + highlight(p.context[offset + len(p.text):], terms))
    else:  # the context does not contain the passage verbatim: show it plainly
        context_html = highlight(p.context, terms)
    also = Markup("").join(  # the same statement elsewhere in the party's programmes
        Markup('<p class="also">{}</p>').format(
            notice_say("also_at", lang, where=citation_text(document if a.source == p.source else None, a)))
        for a in hit.also)
    context_block = Markup("")
    if p.context and p.context != p.text:
        context_block = Markup('<details class="context"><summary>{}</summary><p lang="{}">{}</p></details>').format(
            say("context", lang), quote_lang, context_html)
    return Markup(
        '<article class="card" style="--party:{colour}" data-party="{party}" data-id="{id}">'
        '<header class="card-head">{head}</header>'
        '<blockquote class="quote" lang="{lang}">{quote}</blockquote>'
        '<footer class="card-foot">'
        '<a class="citation" href="{href}" data-source="{source}" '
        'data-start="{start}" data-end="{end}" data-label="{source_label}" '
        'title="{open_source}">{cite}</a>'
        '<button type="button" class="copy" data-copy="{copy}" '
        'data-done="{copied}" title="{copy_title}">{copy_label}</button>'
        '</footer>{also}{context}</article>'
    ).format(colour=party_colour(p.party), party=p.party, id=p.id, head=html_join(head), lang=quote_lang,
             quote=highlight(p.text, terms), href=source_href(p.source, p.start, p.end), source=p.source,
             start=p.start, end=p.end, source_label=say("source", lang), open_source=say("open_source", lang),
             cite=cite, copy=copy_text(p.text, cite), copied=say("copied", lang),
             copy_title=say("copy_title", lang), copy_label=say("copy", lang), also=also, context=context_block)


def copy_text(quote: str, cite: str) -> str:
    """What "Kopier" puts on the clipboard: the quote in «» and its citation."""
    return f"«{quote}» — {cite}"


def notice(text: str, kind: str = "info") -> Markup:
    return Markup('<div class="notice notice-{}" role="status">{}</div>').format(kind, text)


def answer_body(answer: Answer, documents: Mapping[str, Document], terms: Iterable[str] = (),
                lang: str = "nb") -> Markup:
    """The notice (if any) and the cards, grouped by party in alphabetical order, best first within a party."""
    parts: list[Markup] = []
    if answer.notice:
        parts.append(notice(answer.notice, "info" if answer.answered else "none"))
    elif not answer.answered:
        parts.append(notice(say("none_found", lang), "none"))
    if not answer.answered:
        return html_join(parts)
    by_party: dict[str, list[Hit]] = {}
    for hit in sorted(answer.hits, key=lambda h: h.rank):
        by_party.setdefault(hit.passage.party, []).append(hit)
    parties = sort_parties(by_party)
    if len(parties) > 1:
        listing = html_join((Markup("{} ({})").format(p, len(by_party[p])) for p in parties), ", ")
        parts.append(Markup('<p class="answer-summary">{}</p>').format(esc(say("summary", lang)).format(listing=listing)))
    for party in parties:
        parts.append(Markup('<section class="party-group" data-party="{}">').format(party))
        parts.extend(card(h, documents.get(h.passage.source), terms, lang=lang) for h in by_party[party])
        parts.append(Markup("</section>"))
    return html_join(parts)


def question_bubble(question: str, label: str | None = None, cut_note: str | None = None) -> Markup:
    """The user's message as plain, escaped text (no Markdown, no HTML)."""
    shown = question if question.strip() else "(tomt spørsmål)"
    extra = Markup('<span class="turn-kind">{}</span>').format(label) if label else Markup("")
    cut = Markup('<span class="q-cut">{}</span>').format(cut_note) if cut_note else Markup("")
    return Markup('<div class="msg-user"><div class="bubble">{}<span class="q-text">{}</span>{}</div></div>').format(
        extra, shown, cut)


def _turn_attrs(question: str | None, announce: str | None) -> Markup:
    out = Markup("")
    if question is not None:
        out += Markup(' data-q="{}"').format(question)
    if announce:
        out += Markup(' data-announce="{}"').format(announce)
    return out


def _lang_attr(lang: str) -> Markup:
    return Markup("") if lang == "nb" else Markup(' lang="{}"').format(lang)


def turn(question: str, answer: Answer, documents: Mapping[str, Document], terms: Iterable[str] = (),
         filter_note: str | None = None, reading_note: str | None = None, *, lang: str = "nb",
         cut_note: str | None = None, typed: str | None = None, texts: Mapping[str, str] | None = None) -> Markup:
    """One exchange: the question (as searched), then (for a follow-up) how it was read, then the
    answer cards and the downloads of their citations. ``typed`` (the question as typed) goes into
    ``data-q`` for the page's address (?q=)."""
    note = Markup('<p class="filter-note">{}</p>').format(filter_note) if filter_note else Markup("")
    note = interpreted_note(reading_note) + note
    hits = sorted(answer.hits, key=lambda h: h.rank) if answer.answered else []
    announce = announcement(question, answer.notice, [h.passage.party for h in hits], lang)
    tools = downloads(hits, documents, texts, lang) if hits else Markup("")
    return Markup('<section class="turn" data-answered="{}"{}>{}<div class="msg-bot"{}>{}{}{}</div></section>').format(
        str(answer.answered).lower(), _turn_attrs(question if typed is None else typed, announce),
        question_bubble(question, cut_note=cut_note), _lang_attr(lang), note,
        answer_body(answer, documents, terms, lang), tools)


def message_turn(question: str, message: str, label: str | None = None, lang: str = "nb") -> Markup:
    """An exchange answered by a fixed message (empty filter, empty question in the compare view)."""
    return Markup('<section class="turn" data-answered="false"{}>{}<div class="msg-bot"{}>{}</div></section>').format(
        _turn_attrs(None, announcement(question, message, [], lang)), question_bubble(question, label),
        _lang_attr(lang), notice(message, "none"))


def interpreted_note(text: str | None) -> Markup:
    """'Tolket som: «…»' above the answer to a follow-up (escaped)."""
    return Markup('<p class="interpreted-note" role="note">{}</p>').format(text) if text else Markup("")


def compare_turn(question: str, answers: Mapping[str, Answer], documents: Mapping[str, Document],
                 terms: Iterable[str] = (), reading_note: str | None = None, *, lang: str = "nb",
                 texts: Mapping[str, str] | None = None, typed: str | None = None) -> Markup:
    """The same question put to each party: one column per party, alphabetical."""
    terms = frozenset(terms)
    columns: list[Markup] = []
    every: list[Hit] = []
    for party in sort_parties(answers):
        answer = answers[party]
        if answer.answered and answer.hits:
            hits = sorted(answer.hits, key=lambda h: h.rank)
            every.extend(hits)
            body = html_join(card(h, documents.get(h.passage.source), terms, show_badge=False, lang=lang) for h in hits)
        else:
            body = Markup('<div class="notice notice-none">{}</div>').format(say("no_passages", lang))
        columns.append(Markup('<div class="compare-col" data-party="{}" style="--party:{}">'
                              '<h2 class="compare-head">{}</h2>{}</div>').format(party, party_colour(party), badge(party),
                                                                                 body))
    grid = Markup('<div class="compare-grid" style="--cols:{}">{}</div>').format(max(1, len(columns)),
                                                                                 html_join(columns))
    announce = announcement(question, None, [h.passage.party for h in every], lang)
    tools = downloads(every, documents, texts, lang) if every else Markup("")
    label = say("compare_label", lang)
    return Markup('<section class="turn turn-compare"{}>{}<div class="msg-bot"{}>{}{}{}</div></section>').format(
        _turn_attrs(None, announce), question_bubble(question, label), _lang_attr(lang),
        interpreted_note(reading_note), grid, tools)


def announcement(question: str, message: str | None, parties: Sequence[str], lang: str = "nb") -> str:
    """The short text the page's live region reads out when a turn arrives."""
    q = " ".join(question.split())
    q = q if len(q) <= 80 else q[:79] + "…"
    if parties:
        counts = {p: parties.count(p) for p in sort_parties(parties)}
        listing = ", ".join(f"{p} ({n})" for p, n in counts.items())
        return say("announce", lang, q=q, n=len(parties), parties=listing)
    return say("announce_none", lang, q=q, message=message or say("none_found", lang))


WELCOME = Markup(
    '<div class="welcome">'
    "<p><strong>Still et spørsmål om partienes rusomsorgspolitikk.</strong> "
    "Trykk på en kildehenvisning for å se avsnittet i hele kildeteksten, "
    "eller på «Vis sammenheng» for avsnittet rundt.</p>"
    "</div>"
)


def transcript(turns: Sequence[str], hint: str | None = None, version: str | None = None) -> Markup:
    """All exchanges, oldest first; a short explanation before the first question. ``hint``: a
    gentle line under the last turn (an empty submit); ``version``: the corpus version the page
    serves, put into the links the page writes into the address bar.

    ``turns`` are HTML already: what :func:`turn`, :func:`compare_turn` and :func:`message_turn`
    returned, kept in the page's session state (server-side; it may give them back as ``str``)."""
    attrs = Markup(' data-version="{}"').format(version) if version else Markup("")
    body = html_join(Markup(t) for t in turns) if turns else WELCOME
    tail = Markup('<p class="hint" role="status">{}</p>').format(hint) if hint else Markup("")
    return Markup('<div class="transcript"{}>{}{}</div>').format(attrs, body, tail)


# ---- the Sources tab -----------------------------------------------------------------------

def document_meta(document: Document) -> list[tuple[str, str]]:
    """Label and value of each catalogued field that is set, in reading order."""
    rows = [("Parti", document.party), ("Tittel", document.title), ("Type", document.kind)]
    if document.date:
        rows.append(("Dato", document.date_text or document.date))
    if document.provenance:
        rows.append(("Opphav", document.provenance))
    if document.chapter:
        rows.append(("Kapittel", document.chapter))
    if document.url:
        rows.append(("Nettadresse", document.url))
    rows.append(("Språk", document.language))
    rows.append(("Fil", document.source))
    rows.append(("SHA-256", document.sha256))
    return rows


UNDATED = "udatert"


def scope(documents: Sequence[Document]) -> Markup:
    """What the sources cover, for the first screen: each party's documents with their dates
    ("udatert" where the catalog has none), and what the chatbot does and does not do."""
    by_party: dict[str, list[Document]] = {}
    for doc in documents:
        by_party.setdefault(doc.party, []).append(doc)
    items: list[Markup] = []
    for party in sort_parties(by_party):
        docs = sorted(by_party[party], key=lambda d: (d.date or "", d.title))
        described = html_join((
            Markup('<span class="scope-doc"><span lang="{}">«{}»</span> ({}, {})</span>').format(
                d.language, d.cite_as or d.title, d.kind, d.date_text or UNDATED) for d in docs), "; ")
        items.append(Markup("<li>{} {}</li>").format(badge(party), described))
    n_docs, n_parties = len(documents), len(by_party)
    count = (f"{n_docs} {'dokument' if n_docs == 1 else 'dokumenter'} fra "
             f"{n_parties} {'parti' if n_parties == 1 else 'partier'}")
    return Markup('<section class="scope" aria-label="Hva kildene dekker"><p class="scope-count">'
                  '<strong>Kildene</strong> ({}):</p><ul class="scope-docs">{}</ul>'
                  '<p class="scope-what">Svarene er ordrette sitater fra disse dokumentene, hvert med kildehenvisning. '
                  "Chatboten skriver ingen tekst selv, oppsummerer ikke og har ingen egne meninger; det som ikke står "
                  "i kildene, kan den ikke svare på.</p></section>").format(count, html_join(items))


def documents_list(documents: Sequence[Document], selected: str | None = None) -> Markup:
    """Every catalogued document with its metadata; each opens in the viewer below."""
    rows: list[Markup] = []
    for doc in sorted(documents, key=lambda d: (collation_key(d.party), d.title)):
        current = Markup(' class="selected" aria-current="true"') if doc.source == selected else Markup("")
        rows.append(Markup(
            '<tr{current}><td data-label="Parti">{badge}</td>'
            '<td data-label="Tittel"><a class="doc-link" href="{href}" '
            'data-source="{source}" lang="{lang}">{title}</a></td>'
            '<td data-label="Type">{kind}</td><td data-label="Dato">{date}</td>'
            '<td data-label="Fil"><code>{source}</code></td></tr>').format(
                current=current, badge=badge(doc.party), href=source_href(doc.source), source=doc.source,
                lang=doc.language, title=doc.title, kind=doc.kind, date=doc.date_text or UNDATED))
    intro = Markup('<p class="sources-intro">Alle dokumentene svarene hentes fra. Velg et dokument for å lese hele teksten '
             'med linjenumre. Dempet tekst er overskrifter og menyer fra nettsiden: den står i filen, men siteres aldri.</p>')
    return intro + Markup('<table class="doc-table"><thead><tr><th>Parti</th><th>Tittel</th><th>Type</th><th>Dato</th>'
                          '<th>Fil</th></tr></thead><tbody>{}</tbody></table>').format(html_join(rows))


def _segments(line_start: int, line_end: int, marks: Sequence[tuple[int, int, str]]) -> list[tuple[int, int, set[str]]]:
    cuts = {line_start, line_end}
    for a, b, _ in marks:
        for x in (a, b):
            if line_start < x < line_end:
                cuts.add(x)
    edges = sorted(cuts)
    out = []
    for a, b in zip(edges, edges[1:]):
        classes = {cls for s, e, cls in marks if s <= a and b <= e}
        out.append((a, b, classes))
    return out


def source_view(document: Document, text: str, start: int | None = None, end: int | None = None,
                opened: bool = False) -> Markup:
    """A document's metadata and full text with line numbers; ``text[start:end]`` marked.

    Ranges the catalogue excludes (headings, website menus) are shown dimmed: they are in the
    file but are never quoted as programme text.
    """
    n = len(text)
    valid = start is not None and end is not None and 0 <= start < end <= n
    marks: list[tuple[int, int, str]] = [(a, b, "excluded") for a, b in document.excluded]
    if valid:
        marks.append((start, end, "cited"))
    meta = html_join(Markup("<dt>{}</dt><dd>{}</dd>").format(k, v) for k, v in document_meta(document))
    lines: list[Markup] = []
    pos = 0
    number = 0
    first_cited = True
    while pos < n or (pos == 0 and n == 0):
        number += 1
        nl = text.find("\n", pos)
        line_end = n if nl < 0 else nl
        pieces = []
        for a, b, classes in _segments(pos, line_end, marks):
            chunk = esc(text[a:b])
            if "cited" in classes:
                anchor = Markup(' id="cited" tabindex="-1"') if first_cited else Markup("")
                first_cited = False
                chunk = Markup('<mark class="cited"{}>{}</mark>').format(anchor, chunk)
            if "excluded" in classes:
                chunk = Markup('<span class="excluded" title="Ikke programtekst (utelatt fra søket)">{}</span>'
                               ).format(chunk)
            pieces.append(chunk)
        lines.append(Markup('<div class="src-line" id="L{0}"><span class="ln" aria-hidden="true">{0}</span>'
                            '<span class="tx">{1}</span></div>').format(number, html_join(pieces) or " "))
        if nl < 0:
            break
        pos = nl + 1
    back = Markup('<a class="back" href="./" data-action="back">← Tilbake til samtalen</a>')
    header = Markup('<div class="src-head">{}<h2 class="src-title">{} {}</h2></div>').format(
        back, badge(document.party), document.title)
    status = Markup("")
    if valid:
        line_no = text.count("\n", 0, start) + 1
        status = notice(f"Markert: linje {line_no}, tegn {start}–{end}.", "info")
    elif start is not None or end is not None:
        status = notice(f"Tegnområdet {start}–{end} finnes ikke i {document.source} ({n} tegn).", "none")
    marked_attrs = Markup(' data-start="{}" data-end="{}"').format(start, end) if valid else Markup("")
    opened_attr = Markup(' data-opened="1"') if opened else Markup("")
    label = f"Kildetekst: {document.party}, {document.title}"
    return Markup('<div class="source-view" data-source="{source}"{marked}{opened}>{header}'
                  '<dl class="meta">{meta}</dl>{status}'
                  '<div class="src-text" lang="{lang}" tabindex="0" role="region" aria-label="{label}">'
                  '{lines}</div></div>').format(
        source=document.source, marked=marked_attrs, opened=opened_attr, header=header, meta=meta, status=status,
        lang=document.language, label=label, lines=html_join(lines))


def unknown_source(source: str) -> Markup:
    return notice(f"Fant ikke kilden «{source}» i katalogen.", "none")


# ---- citations to take away (CSV, CSL-JSON) --------------------------------------------------

CSV_FIELDS = ("party", "title", "source", "line", "start", "end", "byte_start", "byte_end", "quote", "citation")
SELECTOR_CONTEXT = 32  # characters of prefix and suffix in a TextQuoteSelector


def citation_record(hit: Hit, document: Document | None, text: str | None = None) -> dict[str, Any]:
    """One passage as a librarian takes it away: where it is (character and byte offsets), what it
    says, how to cite it, and a W3C TextQuoteSelector (and a URL text fragment where the catalog
    has a URL). ``text``: the source file's text, for the byte offsets and the selector."""
    p = hit.passage
    record: dict[str, Any] = {
        "party": p.party, "title": document.title if document else p.title, "source": p.source, "line": p.line,
        "start": p.start, "end": p.end, "byte_start": None, "byte_end": None, "quote": p.text,
        "citation": citation_text(document, p),
    }
    prefix = suffix = ""
    if text is not None and text[p.start:p.end] == p.text:
        record["byte_start"] = len(text[:p.start].encode("utf-8"))
        record["byte_end"] = record["byte_start"] + len(p.text.encode("utf-8"))
        prefix = text[max(0, p.start - SELECTOR_CONTEXT):p.start]
        suffix = text[p.end:p.end + SELECTOR_CONTEXT]
    record["selector"] = {"type": "TextQuoteSelector", "exact": p.text, "prefix": prefix, "suffix": suffix}
    record["url"] = text_fragment_url(document.url, p.text) if document and document.url else None
    return record


def text_fragment_url(url: str, quote: str) -> str:
    """``url#:~:text=…`` (URL text fragment): the whole quote, or its first and last words when long."""
    def enc(part: str) -> str:
        return url_quote(part, safe="")

    words_ = quote.split()
    if len(quote) <= 300 or len(words_) < 10:
        directive = enc(" ".join(words_))
    else:
        directive = f"{enc(' '.join(words_[:5]))},{enc(' '.join(words_[-5:]))}"
    return f"{url.split('#', 1)[0]}#:~:text={directive}"


def citations_csv(records: Sequence[Mapping[str, Any]]) -> str:
    """The records as CSV (RFC 4180: comma, CRLF, quotes doubled), one row per passage."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_FIELDS)
    for r in records:
        writer.writerow(["" if r[f] is None else r[f] for f in CSV_FIELDS])
    return out.getvalue()


def citations_csl(records: Sequence[Mapping[str, Any]], documents: Mapping[str, Document]) -> list[dict[str, Any]]:
    """The records as CSL-JSON items (type "document", the party as author); the passage's own
    fields (offsets, quote, selector) under "custom"."""
    items = []
    for r in records:
        doc = documents.get(r["source"])
        item: dict[str, Any] = {
            "id": f"{r['source']}:{r['start']}-{r['end']}",
            "type": "document",
            "title": r["title"],
            "author": [{"literal": r["party"]}],
            "genre": doc.kind if doc else None,
            "language": doc.language if doc else None,
            "archive_location": f"{r['source']}, linje {r['line']}, tegn {r['start']}–{r['end']}",
            "note": r["citation"],
        }
        if doc and doc.date:
            item["issued"] = {"date-parts": [[int(x) for x in doc.date.split("-")]]}
        if r["url"]:
            item["URL"] = r["url"]
        item["custom"] = {k: r[k] for k in ("party", "source", "line", "start", "end", "byte_start", "byte_end",
                                              "quote", "citation", "selector")}
        items.append({k: v for k, v in item.items() if v is not None})
    return items


def downloads(hits: Sequence[Hit], documents: Mapping[str, Document], texts: Mapping[str, str] | None = None,
              lang: str = "nb") -> Markup:
    """Links that download the turn's citations as CSV and CSL-JSON (data: URLs, made here)."""
    texts = texts or {}
    records = [citation_record(h, documents.get(h.passage.source), texts.get(h.passage.source)) for h in hits]
    key = hashlib.sha256("\0".join(f"{r['source']}:{r['start']}-{r['end']}" for r in records).encode()).hexdigest()[:8]
    csv_url = "data:text/csv;charset=utf-8," + url_quote("\ufeff" + citations_csv(records), safe="")
    csl = json.dumps(citations_csl(records, documents), ensure_ascii=False, indent=2)
    csl_url = "data:application/vnd.citationstyles.csl+json;charset=utf-8," + url_quote(csl, safe="")
    return Markup('<div class="turn-tools"><span>{label}</span>'
                  '<a class="download" href="{csv}" download="kildehenvisninger-{key}.csv" data-kind="csv">CSV</a>'
                  '<a class="download" href="{csl}" download="kildehenvisninger-{key}.json" '
                  'data-kind="csl-json">CSL-JSON</a></div>').format(label=say("downloads", lang), csv=csv_url,
                                                                   key=key, csl=csl_url)


# ---- the quote check ---------------------------------------------------------------------------

FOUND_LABEL = {"exact": "Ordrett", "near": "Nesten ordrett", "none": "Ikke funnet"}


def quote_verdict(verdict: Any, documents: Mapping[str, Document], texts: Mapping[str, str]) -> Markup:
    """A :class:`chatbot.quotecheck.Verdict` as HTML: the notice, then each match (the claimed
    party's first) with its differences marked: <del> words of the source the quote lacks,
    <ins> words the quote adds; a changed word is both."""
    kind = {"exact": "info", "near": "info", "none": "none"}.get(verdict.found, "none")
    parts = [Markup('<div class="qc-result" data-found="{}">').format(verdict.found), notice(verdict.notice, kind)]
    parts += [Markup('<p class="qc-meta">({})</p>').format(note) for note in verdict.notes]
    if verdict.found == "none" and verdict.matches:
        parts.append(Markup('<p class="qc-meta">Nærmeste tekst i kildene:</p>'))
    if verdict.total_matches > len(verdict.matches):
        parts.append(Markup('<p class="qc-meta">{} treff; her er de {} første.</p>').format(
            verdict.total_matches, len(verdict.matches)))
    if any(m.differences for m in verdict.matches):
        parts.append(Markup('<p class="qc-legend">Gjennomstreket: står i kilden, men ikke i sitatet. '
                            'Understreket: står i sitatet, men ikke i kilden.</p>'))
    for m in verdict.matches:
        doc = documents.get(m.source)
        lang = doc.language if doc else "nb"
        text = texts.get(m.source, "")
        label = "Ordrett" if m.exact else f"Likhet {m.similarity * 100:.0f} %"
        n = len(m.differences)
        if not m.exact:
            label += f", {n} {'forskjell' if n == 1 else 'forskjeller'}"
        body = esc(m.text) if m.exact or not text else marked_html(m, text)
        warn = Markup("")
        if m.negation:
            words_ = ", ".join(f"«{w}»" for w in m.negation)
            warn = Markup('<p class="qc-negation">Merk: forskjellene gjelder nektende ord ({}) '
                          "og kan snu meningen.</p>").format(words_)
        parts.append(Markup(
            '<article class="card qc-match" style="--party:{colour}" data-party="{party}" '
            'data-exact="{exact}" data-similarity="{similarity:.4f}">'
            '<header class="card-head">{badge}<span class="card-section">{label}</span></header>'
            '<blockquote class="quote" lang="{lang}">{body}</blockquote>{warn}'
            '<footer class="card-foot"><a class="citation" href="{href}" '
            'data-source="{source}" data-start="{start}" data-end="{end}" data-label="Kilde" '
            'title="Åpne kilden med teksten markert">{cite}</a>'
            '<button type="button" class="copy" data-copy="{copy}" data-done="Kopiert" '
            'title="Kopier teksten fra kilden med kildehenvisning">Kopier</button></footer></article>').format(
                colour=party_colour(m.party), party=m.party, exact=str(bool(m.exact)).lower(),
                similarity=m.similarity, badge=badge(m.party), label=label, lang=lang, body=body, warn=warn,
                href=source_href(m.source, m.start, m.end), source=m.source, start=m.start, end=m.end,
                cite=m.citation, copy=copy_text(m.text, m.citation)))
    parts.append(Markup("</div>"))
    return html_join(parts)


def marked_html(match: Any, document_text: str) -> Markup:
    """The source span, escaped, with the quote's differences marked (as quotecheck.marked, in HTML)."""
    out: list[Markup] = []
    pos = match.start
    for d in match.differences:
        out.append(esc(document_text[pos:d.start]))
        if d.source:
            out.append(Markup('<del class="diff-missing"><span class="sr-only">[i kilden: </span>{}'
                              '<span class="sr-only">]</span></del>').format(d.source))
        if d.quote:
            ins = Markup('<ins class="diff-added"><span class="sr-only">[i sitatet: </span>{}'
                         '<span class="sr-only">]</span></ins>').format(d.quote)
            if d.source:
                out.append(ins)
            else:
                out.append(ins + " " if d.start == match.start else " " + ins)
        pos = d.end
    out.append(esc(document_text[pos:match.end]))
    return html_join(out)


# ---- static files ------------------------------------------------------------------------------

def static_text(name: str) -> str:
    """A file of chatbot/web/static/ (the page's CSS and JavaScript), read when the page is built."""
    from importlib.resources import files

    return files("chatbot.web").joinpath("static", name).read_text(encoding="utf-8")


def page_css() -> str:
    return static_text("page.css")


def __getattr__(name: str) -> str:
    # ``cards.CSS`` as before, read from chatbot/web/static/page.css on first use (not at import)
    if name == "CSS":
        return page_css()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
