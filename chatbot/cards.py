"""HTML for the web page: answer cards, citations, highlighting and the source view.

Pure functions from records to HTML strings (no gradio), so every escaping rule is unit-tested.
The one rule: text from a source, a question or the catalogue is escaped *first*; only then
are our own tags (``<mark>``, cards, links) put around the escaped pieces. No function here
concatenates unescaped outside text into HTML.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import urlencode

from .records import Answer, Document, Hit, Passage, citation
from .textnorm import fold, tokens, words

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


def esc(text: object) -> str:
    """HTML-escape text for element content and quoted attribute values."""
    return html.escape("" if text is None else str(text), quote=True)


def party_colour(party: str) -> str:
    """A fixed badge colour per party, the same on every run and machine."""
    digest = hashlib.sha256(fold(party.strip()).encode("utf-8")).digest()
    return PALETTE[int.from_bytes(digest[:4], "big") % len(PALETTE)]


def sort_parties(parties: Iterable[str]) -> list[str]:
    """Parties in a neutral order: alphabetical, Norwegian letters folded (Ø after O is fine)."""
    return sorted(dict.fromkeys(parties), key=lambda p: (fold(p), p))


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


def highlight(text: str, terms: Iterable[str] = ()) -> str:
    """``text`` escaped, with each word whose folded stem is in ``terms`` wrapped in <mark>."""
    terms = frozenset(terms)
    if not terms:
        return esc(text)
    out: list[str] = []
    pos = 0
    for m in _WORD.finditer(text):
        if terms.isdisjoint(_word_keys(m.group())):
            continue
        out.append(esc(text[pos:m.start()]))
        out.append(f'<mark class="hl">{esc(m.group())}</mark>')
        pos = m.end()
    out.append(esc(text[pos:]))
    return "".join(out)


def source_href(source: str, start: int | None = None, end: int | None = None) -> str:
    """Relative URL that opens the Sources tab at a document (and range); read on page load."""
    params: dict[str, object] = {"source": source}
    if start is not None and end is not None:
        params.update(start=start, end=end)
    return "?" + urlencode(params)


def citation_text(document: Document | None, passage: Passage) -> str:
    return citation(document, passage) if document else f"{passage.source}, linje {passage.line}, tegn {passage.start}–{passage.end}"


def badge(party: str) -> str:
    return f'<span class="party-badge" style="background:{party_colour(party)}">{esc(party)}</span>'


def card(hit: Hit, document: Document | None, terms: Iterable[str] = (), *, show_badge: bool = True) -> str:
    """One quoted passage: party badge, the quote, the citation and its context."""
    p = hit.passage
    terms = frozenset(terms)
    lang = esc(document.language) if document else "nb"
    cite = citation_text(document, p)
    head = [badge(p.party)] if show_badge else []
    if p.section and p.section != p.title:
        head.append(f'<span class="card-section">{esc(p.section)}</span>')
    offset = p.start - p.context_start
    in_context = p.context[offset:offset + len(p.text)] == p.text and offset >= 0
    if in_context:
        context_html = (highlight(p.context[:offset], terms)
                        + f'<span class="quoted">{highlight(p.text, terms)}</span>'
                        + highlight(p.context[offset + len(p.text):], terms))
    else:  # the context does not contain the passage verbatim: show it plainly
        context_html = highlight(p.context, terms)
    context_block = ""
    if p.context and p.context != p.text:
        context_block = (f'<details class="context"><summary>Vis sammenheng</summary>'
                         f'<p lang="{lang}">{context_html}</p></details>')
    return (
        f'<article class="card" style="--party:{party_colour(p.party)}" data-party="{esc(p.party)}" data-id="{esc(p.id)}">'
        f'<header class="card-head">{"".join(head)}</header>'
        f'<blockquote class="quote" lang="{lang}">{highlight(p.text, terms)}</blockquote>'
        f'<footer class="card-foot">'
        f'<a class="citation" href="{esc(source_href(p.source, p.start, p.end))}" data-source="{esc(p.source)}" '
        f'data-start="{p.start}" data-end="{p.end}" title="Åpne kilden med avsnittet markert">{esc(cite)}</a>'
        f'<button type="button" class="copy" data-copy="{esc(cite)}" title="Kopier kildehenvisningen">Kopier</button>'
        f'</footer>{context_block}</article>'
    )


def notice(text: str, kind: str = "info") -> str:
    return f'<div class="notice notice-{esc(kind)}" role="status">{esc(text)}</div>'


def answer_body(answer: Answer, documents: Mapping[str, Document], terms: Iterable[str] = ()) -> str:
    """The notice (if any) and the cards, grouped by party in alphabetical order, best first within a party."""
    parts: list[str] = []
    if answer.notice:
        parts.append(notice(answer.notice, "info" if answer.answered else "none"))
    elif not answer.answered:
        parts.append(notice("Fant ingen relevante avsnitt i kildene.", "none"))
    if not answer.answered:
        return "".join(parts)
    by_party: dict[str, list[Hit]] = {}
    for hit in sorted(answer.hits, key=lambda h: h.rank):
        by_party.setdefault(hit.passage.party, []).append(hit)
    parties = sort_parties(by_party)
    if len(parties) > 1:
        listing = ", ".join(f"{esc(p)} ({len(by_party[p])})" for p in parties)
        parts.append(f'<p class="answer-summary">Avsnitt fra {listing}. Partiene står i alfabetisk rekkefølge.</p>')
    for party in parties:
        parts.append(f'<section class="party-group" data-party="{esc(party)}">')
        parts.extend(card(h, documents.get(h.passage.source), terms) for h in by_party[party])
        parts.append("</section>")
    return "".join(parts)


def question_bubble(question: str, label: str | None = None) -> str:
    """The user's message as plain, escaped text (no Markdown, no HTML)."""
    shown = question if question.strip() else "(tomt spørsmål)"
    extra = f'<span class="turn-kind">{esc(label)}</span>' if label else ""
    return f'<div class="msg-user"><div class="bubble">{extra}<span class="q-text">{esc(shown)}</span></div></div>'


def turn(question: str, answer: Answer, documents: Mapping[str, Document], terms: Iterable[str] = (),
         filter_note: str | None = None, reading_note: str | None = None) -> str:
    """One exchange: the question, then (for a follow-up) how it was read, then the answer cards."""
    note = f'<p class="filter-note">{esc(filter_note)}</p>' if filter_note else ""
    note = interpreted_note(reading_note) + note
    return (f'<section class="turn" data-answered="{str(answer.answered).lower()}">{question_bubble(question)}'
            f'<div class="msg-bot">{note}{answer_body(answer, documents, terms)}</div></section>')


def message_turn(question: str, message: str, label: str | None = None) -> str:
    """An exchange answered by a fixed message (empty filter, empty question in the compare view)."""
    return (f'<section class="turn" data-answered="false">{question_bubble(question, label)}'
            f'<div class="msg-bot">{notice(message, "none")}</div></section>')


def interpreted_note(text: str | None) -> str:
    """'Tolket som: «…»' above the answer to a follow-up (escaped)."""
    return f'<p class="interpreted-note" role="note">{esc(text)}</p>' if text else ""


def compare_turn(question: str, answers: Mapping[str, Answer], documents: Mapping[str, Document],
                 terms: Iterable[str] = (), reading_note: str | None = None) -> str:
    """The same question put to each party: one column per party, alphabetical."""
    terms = frozenset(terms)
    columns: list[str] = []
    for party in sort_parties(answers):
        answer = answers[party]
        if answer.answered and answer.hits:
            body = "".join(card(h, documents.get(h.passage.source), terms, show_badge=False)
                           for h in sorted(answer.hits, key=lambda h: h.rank))
        else:
            body = f'<div class="notice notice-none">{esc(NO_PASSAGES)}</div>'
        columns.append(f'<div class="compare-col" data-party="{esc(party)}" style="--party:{party_colour(party)}">'
                       f'<h3 class="compare-head">{badge(party)}</h3>{body}</div>')
    grid = (f'<div class="compare-grid" style="--cols:{max(1, len(columns))}">{"".join(columns)}</div>')
    return (f'<section class="turn turn-compare">{question_bubble(question, "Sammenlign partiene")}'
            f'<div class="msg-bot">{interpreted_note(reading_note)}{grid}</div></section>')


WELCOME = (
    '<div class="welcome">'
    "<p><strong>Still et spørsmål om partienes rusomsorgspolitikk.</strong> "
    "Svarene er ordrette sitater fra partienes egne programmer, hvert med en kildehenvisning. "
    "Ingen tekst er skrevet eller omformulert av en maskin.</p>"
    "<p>Trykk på en kildehenvisning for å se avsnittet i hele kildeteksten, "
    "eller på «Vis sammenheng» for avsnittet rundt.</p>"
    "</div>"
)


def transcript(turns: Sequence[str]) -> str:
    """All exchanges, oldest first; a short explanation before the first question."""
    if not turns:
        return f'<div class="transcript">{WELCOME}</div>'
    return f'<div class="transcript">{"".join(turns)}</div>'


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


def documents_list(documents: Sequence[Document], selected: str | None = None) -> str:
    """Every catalogued document with its metadata; each opens in the viewer below."""
    rows: list[str] = []
    for doc in sorted(documents, key=lambda d: (fold(d.party), d.party, d.title)):
        current = ' class="selected" aria-current="true"' if doc.source == selected else ""
        rows.append(
            f"<tr{current}><td>{badge(doc.party)}</td>"
            f'<td><a class="doc-link" href="{esc(source_href(doc.source))}" data-source="{esc(doc.source)}">{esc(doc.title)}</a></td>'
            f"<td>{esc(doc.kind)}</td><td>{esc(doc.date_text or '–')}</td>"
            f"<td><code>{esc(doc.source)}</code></td></tr>")
    intro = ('<p class="sources-intro">Alle dokumentene svarene hentes fra. Velg et dokument for å lese hele teksten '
             'med linjenumre. Dempet tekst er overskrifter og menyer fra nettsiden: den står i filen, men siteres aldri.</p>')
    return (intro + '<table class="doc-table"><thead><tr><th>Parti</th><th>Tittel</th><th>Type</th><th>Dato</th>'
            f'<th>Fil</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')


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


def source_view(document: Document, text: str, start: int | None = None, end: int | None = None) -> str:
    """A document's metadata and full text with line numbers; ``text[start:end]`` marked.

    Ranges the catalogue excludes (headings, website menus) are shown dimmed: they are in the
    file but are never quoted as programme text.
    """
    n = len(text)
    valid = start is not None and end is not None and 0 <= start < end <= n
    marks: list[tuple[int, int, str]] = [(a, b, "excluded") for a, b in document.excluded]
    if valid:
        marks.append((start, end, "cited"))
    meta = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in document_meta(document))
    lines: list[str] = []
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
                anchor = ' id="cited"' if first_cited else ""
                first_cited = False
                chunk = f'<mark class="cited"{anchor}>{chunk}</mark>'
            if "excluded" in classes:
                chunk = f'<span class="excluded" title="Ikke programtekst (utelatt fra søket)">{chunk}</span>'
            pieces.append(chunk)
        lines.append(f'<div class="src-line" id="L{number}"><span class="ln" aria-hidden="true">{number}</span>'
                     f'<span class="tx">{"".join(pieces) or " "}</span></div>')
        if nl < 0:
            break
        pos = nl + 1
    back = '<a class="back" href="./" data-action="back">← Tilbake til samtalen</a>'
    header = f'<div class="src-head">{back}<h3 class="src-title">{badge(document.party)} {esc(document.title)}</h3></div>'
    status = ""
    if valid:
        line_no = text.count("\n", 0, start) + 1
        status = notice(f"Markert: linje {line_no}, tegn {start}–{end}.", "info")
    elif start is not None or end is not None:
        status = notice(f"Tegnområdet {start}–{end} finnes ikke i {document.source} ({n} tegn).", "none")
    return (f'<div class="source-view" data-source="{esc(document.source)}">{header}<dl class="meta">{meta}</dl>'
            f'{status}<div class="src-text" lang="{esc(document.language)}">{"".join(lines)}</div></div>')


def unknown_source(source: str) -> str:
    return notice(f"Fant ikke kilden «{source}» i katalogen.", "none")


CSS = """
/* ---- page ---- */
.gradio-container { max-width: 1180px !important; margin: 0 auto !important; }
#app-title h1 { font-size: 1.6rem; margin: 0.2rem 0 0.1rem 0; }
#app-title p { margin: 0; color: var(--body-text-color-subdued); }
/* ---- chat ---- */
.transcript { display: flex; flex-direction: column; gap: 1.4rem; }
.welcome { border: 1px dashed var(--border-color-primary); border-radius: 10px; padding: 1rem 1.2rem;
  color: var(--body-text-color); background: var(--background-fill-secondary); }
.welcome p { margin: 0.3rem 0; }
.turn { display: flex; flex-direction: column; gap: 0.6rem; }
.msg-user { display: flex; justify-content: flex-end; }
.msg-user .bubble { max-width: 80%; background: var(--color-accent-soft); color: var(--body-text-color);
  border: 1px solid var(--border-color-accent-subdued, var(--border-color-primary)); border-radius: 14px 14px 2px 14px;
  padding: 0.55rem 0.9rem; white-space: pre-wrap; overflow-wrap: anywhere; }
.turn-kind { display: block; font-size: 0.75rem; text-transform: uppercase; letter-spacing: 0.04em;
  color: var(--body-text-color-subdued); margin-bottom: 0.15rem; }
.msg-bot { display: flex; flex-direction: column; gap: 0.7rem; }
.answer-summary, .filter-note { margin: 0; font-size: 0.85rem; color: var(--body-text-color-subdued); }
.interpreted-note { margin: 0 0 0.3rem 0; font-size: 0.85rem; font-style: italic; color: var(--body-text-color-subdued); }
.party-group { display: flex; flex-direction: column; gap: 0.7rem; }
.notice { border-radius: 8px; padding: 0.6rem 0.9rem; border: 1px solid var(--border-color-primary);
  background: var(--background-fill-secondary); color: var(--body-text-color); }
.notice-none { border-left: 4px solid #8a8f98; }
.notice-info { border-left: 4px solid #1d4e89; }
/* ---- cards ---- */
.card { border: 1px solid var(--border-color-primary); border-left: 5px solid var(--party);
  border-radius: 10px; padding: 0.75rem 1rem 0.7rem 1rem; background: var(--background-fill-primary);
  box-shadow: 0 1px 2px rgba(0,0,0,0.05); }
.card-head { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem; margin: 0 0 0.3rem 0; }
.card-head:empty { display: none; }
.party-badge { display: inline-block; color: #fff !important; font-weight: 600; font-size: 0.8rem;
  padding: 0.12rem 0.6rem; border-radius: 999px; letter-spacing: 0.01em; white-space: nowrap; }
.card-section { font-size: 0.85rem; color: var(--body-text-color-subdued); }
.card .quote { margin: 0 0 0.55rem 0; padding: 0; border: none; font-size: 1.05rem; line-height: 1.55;
  color: var(--body-text-color); quotes: "«" "»"; }
.card .quote::before { content: open-quote; color: var(--body-text-color-subdued); }
.card .quote::after { content: close-quote; color: var(--body-text-color-subdued); }
mark.hl { background: #fde68a; color: #1f2328; padding: 0 0.1em; border-radius: 3px; }
.card-foot { display: flex; align-items: flex-start; gap: 0.6rem; font-size: 0.82rem; text-align: left;
  border-top: 1px solid var(--border-color-primary); padding-top: 0.45rem; }
.card-foot .citation { flex: 1; display: block; text-align: left; color: var(--body-text-color) !important;
  opacity: 0.85; text-decoration: none; font-size: 0.8rem; line-height: 1.45; overflow-wrap: anywhere; }
.card-foot .citation:hover, .card-foot .citation:focus { color: var(--link-text-color) !important; text-decoration: underline; }
.card-foot .citation::before { content: "Kilde: "; font-weight: 600; }
.card-foot .copy { flex: none; font-size: 0.75rem; padding: 0.1rem 0.55rem; border-radius: 6px; cursor: pointer;
  border: 1px solid var(--border-color-primary); background: var(--background-fill-secondary); color: var(--body-text-color); }
.card .context { margin-top: 0.45rem; font-size: 0.9rem; }
.card .context summary { cursor: pointer; color: var(--link-text-color); font-size: 0.82rem; }
.card .context p { margin: 0.4rem 0 0 0; padding: 0.5rem 0.7rem; border-radius: 6px; line-height: 1.5;
  background: var(--background-fill-secondary); color: var(--body-text-color-subdued); }
.card .context .quoted { color: var(--body-text-color); background: rgba(253, 230, 138, 0.35);
  box-shadow: inset 0 -2px 0 var(--party); }
/* ---- compare ---- */
.compare-grid { display: grid; grid-template-columns: repeat(var(--cols), minmax(0, 1fr)); gap: 0.9rem; }
@media (max-width: 760px) { .compare-grid { grid-template-columns: 1fr; } }
.compare-col { display: flex; flex-direction: column; gap: 0.6rem; border-top: 4px solid var(--party);
  padding-top: 0.5rem; }
.compare-head { margin: 0; }
.compare-head .party-badge { font-size: 0.95rem; }
/* ---- sources ---- */
.sources-intro { margin: 0.2rem 0 0.8rem 0; color: var(--body-text-color-subdued); font-size: 0.9rem; }
.doc-table { width: 100%; border-collapse: collapse !important; font-size: 0.9rem; border: none !important; }
.doc-table th, .doc-table td { text-align: left; padding: 0.45rem 0.6rem !important; border: none !important;
  border-bottom: 1px solid var(--border-color-primary) !important; vertical-align: top; background: transparent; }
.doc-table th { font-weight: 600; color: var(--body-text-color-subdued); font-size: 0.8rem; text-transform: uppercase;
  letter-spacing: 0.03em; }
.doc-table tr, .doc-table thead, .doc-table tbody { border: none !important; }
.doc-table a { padding: 0 !important; margin: 0 !important; }
.doc-table tr.selected td { background: var(--color-accent-soft); }
.source-view { scroll-margin-top: 0.75rem; }
.source-view .back { display: inline-block; font-size: 0.85rem; margin-bottom: 0.3rem; padding: 0 !important; color: var(--link-text-color); }
.source-view .src-title { display: flex; align-items: center; gap: 0.6rem; margin: 0.2rem 0 0.6rem 0; font-size: 1.1rem; }
.source-view .meta { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; font-size: 0.88rem; margin: 0 0 0.8rem 0; }
.source-view .meta dt { font-weight: 600; color: var(--body-text-color-subdued); }
.source-view .meta dd { margin: 0; overflow-wrap: anywhere; }
.src-text { font-size: 0.92rem; line-height: 1.55; border: 1px solid var(--border-color-primary);
  border-radius: 8px; background: var(--background-fill-secondary); padding: 0.5rem 0; max-height: 70vh; overflow: auto;
  margin-top: 0.6rem; }
.src-line { display: grid; grid-template-columns: 3.2rem 1fr; }
.src-line .ln { font-family: var(--font-mono); font-size: 0.78rem; padding-top: 0.1rem; text-align: right; padding-right: 0.8rem; color: var(--body-text-color-subdued); user-select: none; opacity: 0.8; }
.src-line .tx { white-space: pre-wrap; overflow-wrap: anywhere; padding-right: 0.8rem; color: var(--body-text-color); }
.src-line .excluded { opacity: 0.45; }
mark.cited { background: #fde68a; color: #1f2328; outline: 2px solid #d97706; border-radius: 2px; }
/* ---- controls ---- */
#examples button { font-size: 0.85rem; text-align: left; justify-content: flex-start; }
.dark mark.hl, .dark mark.cited { background: #facc15; color: #111; }
"""
