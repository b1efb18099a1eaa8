"""The web page's HTML, rendered without Gradio: escaping, highlighting, badges, notices, citations."""

from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest
from markupsafe import Markup

from chatbot.web import cards
from chatbot.catalog import load_catalog
from chatbot.records import Answer, Document, Hit, Passage

ROOT = Path(__file__).resolve().parents[2]
XSS = ('<script>alert(1)</script>', '<img src=x onerror=alert(1)>', '"><svg onload=alert(1)>')


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(ROOT / "sources")


@pytest.fixture(scope="module")
def documents(catalog) -> dict[str, Document]:
    return catalog.by_source()


def passage_at(catalog, source: str, needle: str, party: str, section: str = "") -> Passage:
    """A real passage: ``needle`` as it stands in the source, with its line as context."""
    text = catalog.text(source)
    start = text.index(needle)
    end = start + len(needle)
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    return Passage(id=f"p{start}", party=party, source=source, title="T", section=section or "T", start=start, end=end,
                   line=text.count("\n", 0, start) + 1, text=needle, context_start=line_start, context_end=line_end,
                   context=text[line_start:line_end])


def fake_passage(text: str, context: str | None = None, party: str = "Venstre", section: str = "T") -> Passage:
    context = text if context is None else context
    offset = context.index(text) if text in context else 0
    return Passage(id="x1", party=party, source="venstre-rusomsorg.txt", title="T", section=section,
                   start=100 + offset, end=100 + offset + len(text), line=3, text=text,
                   context_start=100, context_end=100 + len(context), context=context)


class TagCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags(html: str) -> list[tuple[str, dict]]:
    parser = TagCollector()
    parser.feed(html)
    return parser.tags


def assert_no_injection(html: str) -> None:
    found = tags(html)
    names = {t for t, _ in found}
    assert not names & {"script", "img", "svg", "iframe"}, names
    for _, attrs in found:
        assert not any(a.startswith("on") for a in attrs), attrs


# ---- escaping ------------------------------------------------------------------------------

@pytest.mark.parametrize("evil", XSS)
def test_question_is_escaped(evil):
    html = cards.question_bubble(evil)
    assert_no_injection(html)
    assert cards.esc(evil) in html


def test_markdown_in_question_stays_text():
    html = cards.question_bubble("[klikk](http://example.com) ![bilde](http://example.com/x.png) **fet**")
    assert [t for t, _ in tags(html)] == ["div", "div", "span"]
    assert "[klikk](http://example.com)" in html and "**fet**" in html


@pytest.mark.parametrize("evil", XSS)
def test_passage_context_section_and_party_are_escaped(evil, documents):
    p = fake_passage(f"Venstre vil {evil} bruke LAR.", context=f"Før {evil}. Venstre vil {evil} bruke LAR. Etter {evil}.",
                     party=f"Parti {evil}", section=f"Seksjon {evil}")
    html = cards.card(Hit(1, p, 0.9), documents["venstre-rusomsorg.txt"], cards.query_terms("LAR"))
    assert_no_injection(html)
    assert html.count(cards.esc(evil)) == 8  # party (attribute, badge), section, quote, copy text, context (3)
    assert '<mark class="hl">LAR</mark>' in html
    answer = Answer("q", True, None, (), (Hit(1, p, 0.9),))
    assert_no_injection(cards.turn(evil, answer, documents, cards.query_terms(evil)))


def test_escaped_before_marked():
    html = cards.highlight("<b>sprøyterom</b> & «rom»", cards.query_terms("sprøyterom"))
    assert html == '&lt;b&gt;<mark class="hl">sprøyterom</mark>&lt;/b&gt; &amp; «rom»'


def test_terms_inside_markup_words_do_not_break_escaping():
    # a term that is also part of an entity name must not be marked inside the entity
    html = cards.highlight("lt gt amp <lt>", cards.query_terms("lt amp"))
    assert "&lt;" in html and "&amp;" not in html.replace("&lt;", "")
    assert_no_injection(html)
    assert re.sub(r"</?mark[^>]*>", "", html) == "lt gt amp &lt;lt&gt;"


@pytest.mark.parametrize("evil", XSS)
def test_notice_is_escaped(evil):
    assert_no_injection(cards.notice(evil))


@pytest.mark.parametrize("evil", XSS)
def test_source_view_escapes_text_and_metadata(evil):
    doc = Document(source=f"f{evil}.txt", party=f"P{evil}", title=f"T{evil}", kind="temaside", language="nb",
                   sha256="0" * 64, provenance=evil, chapter=evil, url=evil)
    text = f"Linje én {evil}\nLinje to {evil}\n"
    html = cards.source_view(doc, text, 0, 5)
    assert_no_injection(html)
    assert html.count(cards.esc(evil)) >= 5


# ---- highlighting --------------------------------------------------------------------------

@pytest.mark.parametrize("question", ["sprøyterom", "sproyterom", "SPRØYTEROM", "Hva med sprøyterom?"])
def test_highlight_on_folded_and_stemmed_terms(question):
    text = "i stedet for dagens sprøyterom for rusavhengige."
    html = cards.highlight(text, cards.query_terms(question))
    assert '<mark class="hl">sprøyterom</mark>' in html


def test_highlight_ignores_stopwords_and_party_names():
    terms = cards.query_terms("Hva vil Venstre med LAR?", exclude=["Venstre"])
    html = cards.highlight("Venstre vil at LAR-behandling og LAR skal ...", terms)
    assert html.count("<mark") == 2  # "LAR-behandling" and "LAR", not "Venstre", "vil", "og"
    assert "<mark class=\"hl\">LAR</mark>" in html and "<mark class=\"hl\">LAR-behandling</mark>" in html


def test_plural_forms_meet_through_the_stemmer():
    html = cards.highlight("egen bolig og flere bemannede boliger", cards.query_terms("Hvem vil ha boliger?"))
    assert html.count("<mark") == 2


def test_no_terms_means_plain_escaped_text():
    assert cards.highlight("a < b", ()) == "a &lt; b"


def test_context_marks_the_passage(documents, catalog):
    p = passage_at(catalog, "venstre-rusomsorg.txt", "LAR bør anses som både et skadereduserende tiltak", "Venstre")
    html = cards.card(Hit(1, p, 0.9), documents[p.source])
    details = html[html.index("<details"):]
    assert "Vis sammenheng" in details
    assert f'<span class="quoted">{cards.esc(p.text)}</span>' in details
    assert cards.esc(p.context[:20]) in details


# ---- badges --------------------------------------------------------------------------------

def test_badge_colour_is_stable_and_from_the_palette():
    assert cards.party_colour("Venstre") == "#1f6b3a"
    assert cards.party_colour("Helsepartiet") == "#1d4e89"
    for name in ("Venstre", "Helsepartiet", "Rødt", "Et nytt parti"):
        assert cards.party_colour(name) in cards.PALETTE
        assert cards.party_colour(name) == cards.party_colour(name)
    assert cards.party_colour("venstre") == cards.party_colour(" Venstre ")
    assert cards.party_colour("Venstre") != cards.party_colour("Helsepartiet")


def test_palette_is_readable_with_white_text():
    def luminance(hex_colour: str) -> float:
        rgb = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    for colour in cards.PALETTE:
        assert 1.05 / (luminance(colour) + 0.05) >= 4.5, colour


def test_parties_in_alphabetical_order(documents, catalog):
    v = passage_at(catalog, "venstre-rusomsorg.txt", "Venstre ønsker å etablere flere avrusningsplasser", "Venstre")
    h = passage_at(catalog, "helsepartiet-rusomsorg.txt", "Styrke ettervernet.", "Helsepartiet")
    answer = Answer("q", True, None, (), (Hit(1, v, 0.9), Hit(2, h, 0.8)))
    html = cards.answer_body(answer, documents)
    assert html.index('data-party="Helsepartiet"') < html.index('data-party="Venstre"')
    assert "Avsnitt fra Helsepartiet (1), Venstre (1)" in html
    assert cards.sort_parties(["Venstre", "Høyre", "Arbeiderpartiet", "Helsepartiet"]) == [
        "Arbeiderpartiet", "Helsepartiet", "Høyre", "Venstre"]


# ---- notices -------------------------------------------------------------------------------

@pytest.mark.parametrize("notice", ["Fant ingen relevante avsnitt i kildene.",
                                    "Arbeiderpartiet finnes ikke i kildene (tilgjengelig: Helsepartiet, Venstre)."])
def test_unanswered_shows_the_notice_and_no_cards(notice, documents):
    answer = Answer("Hva vil Arbeiderpartiet?", False, notice, ())
    html = cards.turn(answer.question, answer, documents)
    assert cards.esc(notice) in html
    assert 'class="card"' not in html and "<blockquote" not in html
    assert 'data-answered="false"' in html


def test_answered_with_notice_shows_both(documents, catalog):
    h = passage_at(catalog, "helsepartiet-rusomsorg.txt", "Styrke ettervernet.", "Helsepartiet")
    answer = Answer("q", True, "Arbeiderpartiet finnes ikke i kildene.", (), (Hit(1, h, 0.9),))
    html = cards.answer_body(answer, documents)
    assert html.index("notice") < html.index('class="card"')


def test_compare_columns_alphabetical_with_empty_party(documents, catalog):
    h = passage_at(catalog, "helsepartiet-rusomsorg.txt", "Styrke ettervernet.", "Helsepartiet")
    answers = {"Venstre": Answer("q", False, "Fant ingen relevante avsnitt i kildene.", ()),
               "Helsepartiet": Answer("q", True, None, (), (Hit(1, h, 0.9),))}
    html = cards.compare_turn("q", answers, documents)
    assert html.index('compare-col" data-party="Helsepartiet"') < html.index('compare-col" data-party="Venstre"')
    venstre = html[html.index('compare-col" data-party="Venstre"'):]
    assert cards.NO_PASSAGES in venstre and 'class="card"' not in venstre
    assert "--cols:2" in html


# ---- citations -----------------------------------------------------------------------------

def test_citation_text_exact(documents, catalog):
    p = passage_at(catalog, "helsepartiet-rusomsorg.txt",
                   "Etablere brukerrom -der blant annet røyking av rusmidler er tiltatt- i stedet for dagens sprøyterom "
                   "for rusavhengige.", "Helsepartiet")
    expected = ("Helsepartiet, Prinsipprogram (vedtatt 8. februar 2017), «Rusomsorg», helsepartiet-rusomsorg.txt, "
                "linje 16, tegn 1402–1519")
    assert cards.citation_text(documents[p.source], p) == expected
    html = cards.card(Hit(1, p, 0.9), documents[p.source])
    link = [a for t, a in tags(html) if t == "a"][0]
    assert link["href"] == "?source=helsepartiet-rusomsorg.txt&start=1402&end=1519"
    assert (link["data-source"], link["data-start"], link["data-end"]) == ("helsepartiet-rusomsorg.txt", "1402", "1519")
    assert f">{expected}</a>" in html
    button = [a for t, a in tags(html) if t == "button"][0]
    assert button["data-copy"] == ("«Etablere brukerrom -der blant annet røyking av rusmidler er tiltatt- i stedet for "
                                   "dagens sprøyterom for rusavhengige.» — " + expected)


def test_citation_link_escapes_odd_file_names(documents):
    p = replace(fake_passage("tekst"), source='a&b"<x>.txt')
    html = cards.card(Hit(1, p, 0.5), None)
    link = [a for t, a in tags(html) if t == "a"][0]
    assert link["href"] == "?source=a%26b%22%3Cx%3E.txt&start=100&end=105"
    assert link["data-source"] == 'a&b"<x>.txt'
    assert_no_injection(html)


# ---- the source view -----------------------------------------------------------------------

def test_source_view_marks_the_range_with_line_numbers(documents, catalog):
    doc = documents["helsepartiet-rusomsorg.txt"]
    text = catalog.text(doc.source)
    html = cards.source_view(doc, text, 1402, 1519)
    assert html.count('class="src-line"') == text.count("\n") + (0 if text.endswith("\n") else 1)
    cited = re.findall(r'<mark class="cited"[^>]*>(.*?)</mark>', html)
    assert "".join(cited) == cards.esc(text[1402:1519])
    assert 'id="L16"' in html and "Markert: linje 16, tegn 1402–1519." in html
    for label in ("Parti", "Tittel", "Type", "Dato", "Opphav", "Kapittel", "Fil"):
        assert f"<dt>{label}</dt>" in html
    assert "vedtatt 8. februar 2017" in html
    assert 'class="excluded"' in html  # heading and website menu are shown dimmed


def test_source_view_range_across_lines():
    doc = Document(source="x.txt", party="P", title="T", kind="temaside", language="nb", sha256="0" * 64)
    text = "første linje\nandre linje\ntredje"
    html = cards.source_view(doc, text, 7, 18)
    cited = re.findall(r'<mark class="cited"[^>]*>(.*?)</mark>', html)
    assert cited == ["linje", "andre"]
    assert html.count('id="cited"') == 1


def test_source_view_rejects_a_range_outside_the_text():
    doc = Document(source="x.txt", party="P", title="T", kind="temaside", language="nb", sha256="0" * 64)
    html = cards.source_view(doc, "kort", 2, 999)
    assert "<mark" not in html and "finnes ikke" in html


def test_documents_list_has_every_document(catalog):
    html = cards.documents_list(catalog.documents, "venstre-rusomsorg.txt")
    for doc in catalog.documents:
        assert f'data-source="{doc.source}"' in html and cards.esc(doc.title) in html
    assert html.index("Helsepartiet") < html.index(">Venstre<")
    assert html.count('aria-current="true"') == 1


def test_transcript_welcome_and_turns():
    assert "Still et spørsmål" in cards.transcript([])
    assert cards.transcript(["<section>a</section>", "<section>b</section>"]).count("<section>") == 2


# ---- neutral order -------------------------------------------------------------------------

def test_norwegian_alphabetical_order_puts_aeoa_last():
    names = ["Ås-lista", "Venstre", "Ærlig parti", "Høyre", "Østlandslista", "Zeta", "Rødt", "Raudt", "Helsepartiet"]
    assert cards.sort_parties(names) == ["Helsepartiet", "Høyre", "Raudt", "Rødt", "Venstre", "Zeta",
                                         "Ærlig parti", "Østlandslista", "Ås-lista"]
    assert cards.sort_parties(["Venstre", "Venstre", "Helsepartiet"]) == ["Helsepartiet", "Venstre"]


# ---- page texts in the question's language -------------------------------------------------

def test_page_texts_in_three_languages():
    assert cards.say("filter_only", "nb", parties="Helsepartiet") == "Partifilter: bare Helsepartiet."
    assert cards.say("filter_only", "nn", parties="Helsepartiet") == "Partifilter: berre Helsepartiet."
    assert cards.say("filter_only", "en", parties="Helsepartiet") == "Party filter: only Helsepartiet."
    assert cards.say("filter_only", "de", parties="X") == "Partifilter: bare X."  # unknown: bokmål
    for key, texts in cards.PAGE_TEXT.items():
        assert set(texts) == {"nb", "nn", "en"}, key


def test_english_turn_is_marked_english_and_quotes_keep_their_language(documents, catalog):
    h = passage_at(catalog, "helsepartiet-rusomsorg.txt", "Styrke ettervernet.", "Helsepartiet")
    answer = Answer("What about aftercare?", True, None, (), (Hit(1, h, 0.9),))
    html = cards.turn("What about aftercare?", answer, documents, lang="en", filter_note="Party filter: only Helsepartiet.")
    assert '<div class="msg-bot" lang="en">' in html
    assert '<blockquote class="quote" lang="nb">Styrke ettervernet.</blockquote>' in html
    assert ">Show context<" not in html  # the passage is its own context here
    assert 'data-label="Source"' in html and ">Copy</button>" in html
    assert 'data-announce="Answer to «What about aftercare?»: 1 passages from Helsepartiet (1)."' in html
    nb = cards.turn("Hva med ettervern?", answer, documents)
    assert '<div class="msg-bot">' in nb and 'data-label="Kilde"' in nb


# ---- turns: what was searched, hints, the address -------------------------------------------

def test_turn_carries_the_question_for_the_address_and_the_cut_note(documents):
    answer = Answer("q", False, "Fant ingen relevante avsnitt i kildene.", ())
    html = cards.turn('Hva "vil" <V>?', answer, documents, cut_note="Forkortet: bare de første 9 tegnene er søkt.")
    assert 'data-q="Hva &#34;vil&#34; &lt;V&gt;?"' in html  # markupsafe spells " as &#34; (html.escape: &quot;)
    assert '<span class="q-cut">Forkortet: bare de første 9 tegnene er søkt.</span>' in html
    assert "turn-tools" not in html  # nothing to download without passages
    typed = cards.turn("Og Helsepartiet?", answer, documents, typed="Hva mener Helsepartiet om bolig?")
    assert 'data-q="Hva mener Helsepartiet om bolig?"' in typed


def test_transcript_hint_and_version():
    html = cards.transcript(["<section>a</section>"], hint="Skriv et spørsmål i feltet først.", version="0123456789ab")
    assert html == ('<div class="transcript" data-version="0123456789ab"><section>a</section>'
                    '<p class="hint" role="status">Skriv et spørsmål i feltet først.</p></div>')
    assert cards.transcript([]).startswith('<div class="transcript"><div class="welcome">')


# ---- scope -------------------------------------------------------------------------------------

def test_scope_lists_parties_documents_and_dates(catalog):
    html = cards.scope(catalog.documents)
    assert "(2 dokumenter fra 2 partier)" in html
    assert html.index(">Helsepartiet<") < html.index(">Venstre<")
    assert ('<span lang="nb">«Rusomsorg»</span> (prinsipprogram, vedtatt 8. februar 2017)') in html
    assert ('<span lang="nb">«Rusomsorg som tar mennesker på alvor»</span> (temaside, udatert)') in html
    assert "ingen egne meninger" in html


@pytest.mark.parametrize("evil", XSS)
def test_scope_escapes_the_catalog(evil):
    doc = Document(source="x.txt", party=f"P{evil}", title=f"T{evil}", kind=evil, language="nb", sha256="0" * 64)
    html = cards.scope([doc])
    assert_no_injection(html)
    assert "(1 dokument fra 1 parti)" in html and "udatert" in html


# ---- the source view: keyboard and focus -----------------------------------------------------

def test_source_text_is_a_focusable_region(documents, catalog):
    doc = documents["helsepartiet-rusomsorg.txt"]
    html = cards.source_view(doc, catalog.text(doc.source), 1402, 1519, opened=True)
    box = [a for t, a in tags(html) if t == "div" and "src-text" in a.get("class", "")][0]
    assert box == {"class": "src-text", "lang": "nb", "tabindex": "0", "role": "region",
                   "aria-label": f"Kildetekst: Helsepartiet, {doc.title}"}
    view = [a for t, a in tags(html) if t == "div" and a.get("class") == "source-view"][0]
    assert view == {"class": "source-view", "data-source": doc.source, "data-start": "1402", "data-end": "1519",
                    "data-opened": "1"}
    assert '<mark class="cited" id="cited" tabindex="-1">' in html
    plain = cards.source_view(doc, catalog.text(doc.source))
    assert "data-opened" not in plain and "data-start" not in plain


def test_documents_table_labels_cells_for_phones(catalog):
    html = cards.documents_list(catalog.documents)
    assert html.count('data-label="Dato"') == 2 and ">udatert</td>" in html


# ---- citations to take away --------------------------------------------------------------------

def test_citation_record_offsets_selector_and_fragment(documents, catalog):
    text = catalog.text("helsepartiet-rusomsorg.txt")
    p = passage_at(catalog, "helsepartiet-rusomsorg.txt", "Styrke ettervernet.", "Helsepartiet")
    record = cards.citation_record(Hit(1, p, 0.9), documents[p.source], text)
    assert text.encode("utf-8")[record["byte_start"]:record["byte_end"]].decode("utf-8") == "Styrke ettervernet."
    assert record["byte_start"] == len(text[:p.start].encode("utf-8")) and record["start"] == p.start
    assert record["selector"] == {"type": "TextQuoteSelector", "exact": "Styrke ettervernet.",
                                  "prefix": text[p.start - 32:p.start], "suffix": text[p.end:p.end + 32]}
    assert record["url"] is None  # the catalog gives no URL
    assert record["citation"] == cards.citation_text(documents[p.source], p)
    with_url = replace(documents[p.source], url="https://example.org/program#kap2")
    assert cards.citation_record(Hit(1, p, 0.9), with_url, text)["url"] == (
        "https://example.org/program#:~:text=Styrke%20ettervernet.")
    assert cards.citation_record(Hit(1, p, 0.9), None)["byte_start"] is None


def test_text_fragment_of_a_long_quote_uses_its_ends():
    quote = " ".join(f"ord{i}" for i in range(80))
    assert cards.text_fragment_url("https://x.no/a", quote) == (
        "https://x.no/a#:~:text=ord0%20ord1%20ord2%20ord3%20ord4,ord75%20ord76%20ord77%20ord78%20ord79")
    assert cards.text_fragment_url("https://x.no/a", "a, b & c-d") == "https://x.no/a#:~:text=a%2C%20b%20%26%20c-d"


def test_csv_and_csl_json(documents, catalog):
    text = catalog.text("helsepartiet-rusomsorg.txt")
    p = passage_at(catalog, "helsepartiet-rusomsorg.txt", "Styrke ettervernet.", "Helsepartiet")
    record = cards.citation_record(Hit(1, p, 0.9), documents[p.source], text)
    csv_text = cards.citations_csv([record, dict(record, quote='Med "anførsel", komma')])
    lines = csv_text.split("\r\n")
    assert lines[0] == "party,title,source,line,start,end,byte_start,byte_end,quote,citation"
    assert lines[1] == (f"Helsepartiet,{documents[p.source].title},helsepartiet-rusomsorg.txt,{p.line},{p.start},{p.end},"
                        f"{record['byte_start']},{record['byte_end']},Styrke ettervernet.,\"{record['citation']}\"")
    assert '"Med ""anførsel"", komma"' in lines[2] and lines[3] == ""
    [item] = cards.citations_csl([record], documents)
    assert item["id"] == f"helsepartiet-rusomsorg.txt:{p.start}-{p.end}"
    assert item["type"] == "document" and item["author"] == [{"literal": "Helsepartiet"}]
    assert item["issued"] == {"date-parts": [[2017, 2, 8]]} and item["genre"] == "prinsipprogram"
    assert item["note"] == record["citation"] and "URL" not in item
    assert item["custom"]["selector"]["exact"] == "Styrke ettervernet." and item["custom"]["byte_end"] == record["byte_end"]


def test_downloads_are_data_urls(documents, catalog):
    import json
    from urllib.parse import unquote

    p = passage_at(catalog, "helsepartiet-rusomsorg.txt", "Styrke ettervernet.", "Helsepartiet")
    html = cards.downloads([Hit(1, p, 0.9)], documents, {p.source: catalog.text(p.source)})
    links = [a for t, a in tags(html) if t == "a"]
    assert [a["data-kind"] for a in links] == ["csv", "csl-json"]
    assert links[0]["download"].endswith(".csv") and links[1]["download"].endswith(".json")
    assert unquote(links[0]["href"].split(",", 1)[1]).startswith("\ufeffparty,title,")
    items = json.loads(unquote(links[1]["href"].split(",", 1)[1]))
    assert items[0]["custom"]["quote"] == "Styrke ettervernet."


@pytest.mark.parametrize("evil", XSS)
def test_downloads_escape_quotes(evil, documents):
    p = fake_passage(f"Venstre vil {evil}.")
    html = cards.downloads([Hit(1, p, 0.9)], documents)
    assert_no_injection(html)


# ---- the quote check -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def quote_corpus(catalog):
    from chatbot.quotecheck import build_corpus

    return build_corpus((d, catalog.text(d.source)) for d in catalog.documents)


def test_quote_verdict_exact(quote_corpus, documents, catalog):
    from chatbot.quotecheck import verify

    texts = {d.source: catalog.text(d.source) for d in catalog.documents}
    html = cards.quote_verdict(verify("Styrke ettervernet.", quote_corpus), documents, texts)
    assert 'data-found="exact"' in html and "Sitatet finnes ordrett hos Helsepartiet." in html
    assert '<blockquote class="quote" lang="nb">Styrke ettervernet.</blockquote>' in html
    link = [a for t, a in tags(html) if t == "a"][0]
    start = texts["helsepartiet-rusomsorg.txt"].index("Styrke ettervernet.")
    assert link["href"] == f"?source=helsepartiet-rusomsorg.txt&start={start}&end={start + 19}"
    assert "<del" not in html and "<ins" not in html


def test_quote_verdict_near_marks_the_differences(quote_corpus, documents, catalog):
    from chatbot.quotecheck import verify

    texts = {d.source: catalog.text(d.source) for d in catalog.documents}
    quote = "Etablere brukerrom der blant annet røyking av rusmidler er forbudt i stedet for dagens sprøyterom"
    verdict = verify(quote, quote_corpus, "Helsepartiet")
    html = cards.quote_verdict(verdict, documents, texts)
    assert 'data-found="near"' in html and 'data-party="Helsepartiet"' in html
    assert ('<del class="diff-missing"><span class="sr-only">[i kilden: </span>tiltatt<span class="sr-only">]</span></del>'
            '<ins class="diff-added"><span class="sr-only">[i sitatet: </span>forbudt<span class="sr-only">]</span></ins>'
            ) in html
    assert "Likhet " in html and "1 forskjell" in html


@pytest.mark.parametrize("evil", XSS)
def test_quote_verdict_escapes_the_quote(evil, quote_corpus, documents, catalog):
    from chatbot.quotecheck import verify

    texts = {d.source: catalog.text(d.source) for d in catalog.documents}
    html = cards.quote_verdict(verify(f"Styrke {evil} ettervernet", quote_corpus), documents, texts)
    assert_no_injection(html)


# ---- escaped text is a type (markupsafe) -------------------------------------------------------

# Tags, both quotes, an ampersand, and odd Unicode (a right-to-left override, a combining acute
# accent, a zero-width joiner): the Unicode is left exactly as it is, the rest comes out escaped.
EVIL = "<script>alert('x')</script> & \"Q\" \u202eæ\u0301\u200d"
EVIL_HTML = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &#34;Q&#34; \u202eæ\u0301\u200d"


def evil_passage() -> Passage:
    """A passage whose text, section title and party name are all ``EVIL``, inside a little context."""
    return Passage(id="x1", party=EVIL, source="venstre-rusomsorg.txt", title="T", section=EVIL, start=100,
                   end=100 + len(EVIL), line=3, text=EVIL, context_start=96, context_end=104 + len(EVIL),
                   context=f"Før {EVIL} Etter")


def test_esc_is_markupsafe_escape():
    assert cards.esc(EVIL) == EVIL_HTML and type(cards.esc(EVIL)) is Markup
    assert cards.esc(None) == Markup("") and cards.esc(42) == Markup("42")
    assert cards.esc(Markup("<b>ours</b>")) == "<b>ours</b>"  # Markup is HTML already: not escaped twice
    assert Markup("<p>") + EVIL == "<p>" + EVIL_HTML  # a plain str added to Markup is text, so escaped
    assert cards.html_join([Markup("<i>a</i>"), EVIL], ", ") == "<i>a</i>, " + EVIL_HTML


def test_hostile_passage_section_and_party_in_a_card_exactly():
    cite = "venstre-rusomsorg.txt, linje 3, tegn 100–138"
    colour = cards.party_colour(EVIL)
    html = cards.card(Hit(0, evil_passage(), 1.0), None)
    assert type(html) is Markup
    assert html == (
        f'<article class="card" style="--party:{colour}" data-party="{EVIL_HTML}" data-id="x1">'
        f'<header class="card-head"><span class="party-badge" style="background:{colour}">{EVIL_HTML}</span>'
        f'<span class="card-section" lang="nb">{EVIL_HTML}</span></header>'
        f'<blockquote class="quote" lang="nb">{EVIL_HTML}</blockquote>'
        '<footer class="card-foot"><a class="citation" href="?source=venstre-rusomsorg.txt&amp;start=100&amp;end=138" '
        'data-source="venstre-rusomsorg.txt" data-start="100" data-end="138" data-label="Kilde" '
        f'title="Åpne kilden med avsnittet markert">{cite}</a>'
        f'<button type="button" class="copy" data-copy="«{EVIL_HTML}» — {cite}" data-done="Kopiert" '
        'title="Kopier sitatet med kildehenvisning">Kopier</button></footer>'
        '<details class="context"><summary>Vis sammenheng</summary>'
        f'<p lang="nb">Før <span class="quoted">{EVIL_HTML}</span> Etter</p></details></article>')


def test_hostile_party_name_in_badge_group_and_compare_column(documents):
    colour = cards.party_colour(EVIL)
    badge = f'<span class="party-badge" style="background:{colour}">{EVIL_HTML}</span>'
    assert cards.badge(EVIL) == badge
    hits = (Hit(0, evil_passage(), 1.0), Hit(1, replace(evil_passage(), party="Venstre", id="x2"), 0.5))
    body = cards.answer_body(Answer("q", True, None, (), hits), documents)
    assert f'<section class="party-group" data-party="{EVIL_HTML}">' in body
    assert f'<p class="answer-summary">Avsnitt fra {EVIL_HTML} (1), Venstre (1).' in body
    compare = cards.compare_turn("q", {EVIL: Answer("q", False, None, ())}, documents)
    assert (f'<div class="compare-col" data-party="{EVIL_HTML}" style="--party:{colour}">'
            f'<h2 class="compare-head">{badge}</h2><div class="notice notice-none">Ingen avsnitt funnet</div></div>'
            ) in compare


def test_hostile_question_in_bubble_and_turn_attributes_exactly():
    assert cards.question_bubble(EVIL) == (
        f'<div class="msg-user"><div class="bubble"><span class="q-text">{EVIL_HTML}</span></div></div>')
    assert cards.question_bubble("q", label=EVIL, cut_note=EVIL) == (
        f'<div class="msg-user"><div class="bubble"><span class="turn-kind">{EVIL_HTML}</span>'
        f'<span class="q-text">q</span><span class="q-cut">{EVIL_HTML}</span></div></div>')
    answer = Answer(EVIL, False, "Fant ingen relevante avsnitt i kildene.", ())
    assert cards.turn(EVIL, answer, {}) == (
        f'<section class="turn" data-answered="false" data-q="{EVIL_HTML}" '
        f'data-announce="Svar på «{EVIL_HTML}»: Fant ingen relevante avsnitt i kildene.">'
        f'<div class="msg-user"><div class="bubble"><span class="q-text">{EVIL_HTML}</span></div></div>'
        '<div class="msg-bot"><div class="notice notice-none" role="status">Fant ingen relevante avsnitt i kildene.'
        '</div></div></section>')
    assert cards.message_turn(EVIL, EVIL, lang="en") == (
        f'<section class="turn" data-answered="false" data-announce="Answer to «{EVIL_HTML}»: {EVIL_HTML}">'
        f'<div class="msg-user"><div class="bubble"><span class="q-text">{EVIL_HTML}</span></div></div>'
        f'<div class="msg-bot" lang="en"><div class="notice notice-none" role="status">{EVIL_HTML}</div></div>'
        '</section>')
    assert cards.interpreted_note(EVIL) == f'<p class="interpreted-note" role="note">{EVIL_HTML}</p>'


def test_hostile_text_around_highlights_exactly():
    html = cards.highlight("<b>LAR</b> & 'LAR-behandling' \"LAR\"", cards.query_terms("LAR"))
    assert html == ('&lt;b&gt;<mark class="hl">LAR</mark>&lt;/b&gt; &amp; &#39;<mark class="hl">LAR-behandling</mark>'
                    '&#39; &#34;<mark class="hl">LAR</mark>&#34;')


def test_hostile_source_title_and_text_in_the_source_view_exactly():
    doc = Document(source="x.txt", party=EVIL, title=EVIL, kind="temaside", language="nb", sha256="0" * 64)
    html = cards.source_view(doc, EVIL, 0, 8)
    assert (f'<h2 class="src-title"><span class="party-badge" style="background:{cards.party_colour(EVIL)}">'
            f'{EVIL_HTML}</span> {EVIL_HTML}</h2>') in html
    assert (f'<span class="tx"><mark class="cited" id="cited" tabindex="-1">&lt;script&gt;</mark>{EVIL_HTML[14:]}'
            '</span>') in html
    assert f'aria-label="Kildetekst: {EVIL_HTML}, {EVIL_HTML}"' in html
    assert f'<dt>Tittel</dt><dd>{EVIL_HTML}</dd>' in html


def _every_html_function(documents, catalog):
    doc = documents["venstre-rusomsorg.txt"]
    hit = Hit(0, evil_passage(), 1.0)
    answered = Answer(EVIL, True, None, (), (hit,))
    match = SimpleNamespace(party=EVIL, source=doc.source, start=0, end=5, text=EVIL[:5], similarity=0.5, exact=False,
                            negation=(EVIL,), citation=EVIL,
                            differences=(SimpleNamespace(source=EVIL, quote=EVIL, start=1, end=2),))
    verdict = SimpleNamespace(found="near", notice=EVIL, notes=(EVIL,), matches=(match,), total_matches=2)
    texts = {doc.source: catalog.text(doc.source)}
    return {
        "esc": cards.esc(EVIL), "highlight": cards.highlight(EVIL, {"script"}), "badge": cards.badge(EVIL),
        "card": cards.card(hit, doc), "notice": cards.notice(EVIL, EVIL),
        "answer_body": cards.answer_body(answered, documents), "question_bubble": cards.question_bubble(EVIL),
        "turn": cards.turn(EVIL, answered, documents, filter_note=EVIL, reading_note=EVIL, texts=texts),
        "message_turn": cards.message_turn(EVIL, EVIL), "interpreted_note": cards.interpreted_note(EVIL),
        "no_interpreted_note": cards.interpreted_note(None),
        "compare_turn": cards.compare_turn(EVIL, {EVIL: answered}, documents, reading_note=EVIL),
        "transcript": cards.transcript(["<section>a</section>"], hint=EVIL, version=EVIL),
        "welcome": cards.transcript([]), "scope": cards.scope([doc]), "documents_list": cards.documents_list([doc]),
        "source_view": cards.source_view(doc, catalog.text(doc.source), 0, 9),
        "unknown_source": cards.unknown_source(EVIL), "downloads": cards.downloads([hit], documents, texts),
        "quote_verdict": cards.quote_verdict(verdict, documents, texts),
        "marked_html": cards.marked_html(match, EVIL),
    }


def test_every_html_function_returns_markup_without_injection(documents, catalog):
    for name, html in _every_html_function(documents, catalog).items():
        assert type(html) is Markup, name
        assert_no_injection(html)
        assert "<script>" not in html and EVIL not in html, name


def test_web_handlers_build_html_as_markup():
    from chatbot.web.webui import WebHandlers

    handlers = WebHandlers(SimpleNamespace(corpus_version="new"))
    assert handlers.version_note("new") == Markup("") and type(handlers.version_note("new")) is Markup
    note = handlers.version_note(EVIL)
    assert type(note) is Markup
    assert note.startswith('<div class="notice notice-warn" role="status">Kildene er endret siden lenken ble laget '
                           f'(lenken gjelder versjon {EVIL_HTML}, siden viser versjon new).')
    assert type(handlers.check_quote("   ")) is Markup


def test_a_card_names_where_else_the_party_says_the_same(catalog, documents):
    fuller = passage_at(catalog, "venstre-rusomsorg.txt", "Venstre vil at rusavhengige gis samme tilgang til ordinære "
                        "legemidler som det ikke-rusavhengige har i dag", "Venstre")
    bullet = passage_at(catalog, "venstre-rusomsorg.txt", "at rusavhengige gis samme tilgang til ordinære legemidler "
                        "som det ikke-rusavhengige har i dag", "Venstre")
    text = catalog.text("venstre-rusomsorg.txt")
    start = text.index("• at rusavhengige gis samme tilgang") + 2  # the bullet, not the paragraph's sentence
    bullet = replace(bullet, start=start, end=start + len(bullet.text), line=text.count("\n", 0, start) + 1)
    html = str(cards.card(Hit(1, fuller, 0.9, also=(bullet,)), documents["venstre-rusomsorg.txt"], lang="en"))
    assert ('<p class="also">Also in Venstre, Temaside, «Rusomsorg som tar mennesker på alvor», venstre-rusomsorg.txt, '
            f'linje 23, tegn {bullet.start}–{bullet.end}</p>') in html
    assert '<p class="also">' not in str(cards.card(Hit(1, fuller, 0.9), documents["venstre-rusomsorg.txt"]))
