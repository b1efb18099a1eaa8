from pathlib import Path

import pytest

from chatbot.catalog import load_catalog
from chatbot.passages import SplitterSettings, split_document
from chatbot.records import Document

ROOT = Path(__file__).resolve().parents[1]


def corpus():
    catalog = load_catalog(ROOT / "sources")
    for doc in catalog.documents:
        text = catalog.text(doc.source)
        yield doc, text, split_document(doc, text)


def doc(name="a.txt", excluded=()):
    return Document(source=name, party="P", title="Tittel", kind="partiprogram", language="nb",
                    sha256="0" * 64, excluded=excluded)


def test_offsets_hold_for_every_passage_of_the_corpus():
    n = 0
    for _doc, text, passages in corpus():
        for p in passages:
            assert text[p.start:p.end] == p.text
            assert text[p.context_start:p.context_end] == p.context
            assert p.context_start <= p.start < p.end <= p.context_end
            assert p.line == text.count("\n", 0, p.start) + 1
            n += 1
    assert n == 31


def test_passage_sizes_and_units():
    for _doc, _text, passages in corpus():
        for p in passages:
            assert len(p.text) <= 400
            assert p.text == p.text.strip()
            assert not p.text.startswith("•")


def test_chrome_and_headings_are_never_passages():
    texts = [p.text for _d, _t, ps in corpus() for p in ps]
    assert not any("DU ER HER" in t or "Pasient- og brukermedvirkning" in t or "Fra Helsepartiets" in t for t in texts)
    assert "Rusomsorg" not in texts
    assert "Venstre vil" not in texts
    assert "Helsepartiet vil:" not in texts
    assert not any(t.startswith("Tema Rusomsorg") for t in texts)


def test_bullets_are_passages_with_their_lead():
    _d, _t, passages = next((d, t, ps) for d, t, ps in corpus() if d.party == "Venstre")
    bullets = [p for p in passages if p.section == "Venstre vil"]
    assert len(bullets) == 9
    assert bullets[0].text == "at ruspasienter skal få time til poliklinikk eller behandling innen 24 timer etter avrusning"
    assert bullets[0].context.startswith("Venstre vil\n\n  • at ruspasienter")
    assert bullets[0].embedding_text() == (
        "Tema Rusomsorg som tar mennesker på alvor · Venstre vil · " + bullets[0].text)


def test_lines_after_a_colon_lead_are_items():
    _d, _t, passages = next((d, t, ps) for d, t, ps in corpus() if d.party == "Helsepartiet")
    items = [p.text for p in passages if p.section == "Helsepartiet vil"]
    assert items[0] == "Åpne for muligheten til heroinassistert behandling for enkelte pasientgrupper."
    assert items[-1] == "Styrke ettervernet."
    assert len(items) == 7


def test_missing_space_after_full_stop_is_a_sentence_boundary():
    _d, _t, passages = next((d, t, ps) for d, t, ps in corpus() if d.party == "Helsepartiet")
    ends = [p for p in passages if p.text.endswith("motivert til å bli rusfrie eller ikke.")]
    assert len(ends) == 1
    assert any(p.text.startswith("Det er viktig å se rusavhengige som hele mennesker") for p in passages)


def test_ids_are_stable_and_depend_on_offsets_and_content():
    first = [p.id for _d, _t, ps in corpus() for p in ps]
    second = [p.id for _d, _t, ps in corpus() for p in ps]
    assert first == second
    assert len(set(first)) == len(first)


def test_long_paragraph_is_cut_into_sentence_groups():
    sentence = "Dette er en setning om rusomsorg som har en passe lengde for testen her. "
    text = "Overskrift\n\n" + (sentence * 12).strip() + "\n"
    passages = split_document(doc(), text, SplitterSettings())
    assert len(passages) >= 3
    for p in passages:
        assert text[p.start:p.end] == p.text
        assert 120 <= len(p.text) <= 400
        assert p.text.endswith(".")
        assert p.section == "Overskrift"


def test_markdown_headings_bullets_and_wrapped_paragraphs():
    text = ("# Program\n\n## Rus\n\nVi vil ha en human\nrusomsorg for alle.\n\nPartiet vil:\n\n"
            "- første punkt\n  fortsetter her\n- andre punkt\n")
    passages = split_document(doc("p.md"), text)
    assert [p.text for p in passages] == [
        "Vi vil ha en human\nrusomsorg for alle.", "første punkt\n  fortsetter her", "andre punkt"]
    assert [p.section for p in passages] == ["Rus", "Partiet vil", "Partiet vil"]


def test_excluded_ranges_are_skipped():
    text = "Meny\nHjem\n\nEn setning om politikk.\n"
    passages = split_document(doc(excluded=((0, 11),)), text)
    assert [p.text for p in passages] == ["En setning om politikk."]


@pytest.mark.parametrize("text", ["", "\n\n\n", "Bare en overskrift\n"])
def test_texts_without_statements_give_no_passages(text):
    assert split_document(doc(), text) == []


def test_windows_line_endings_keep_offsets():
    text = "Tittel\r\n\r\nEn setning her.\r\n"
    (p,) = split_document(doc(), text)
    assert p.text == "En setning her."
    assert text[p.start:p.end] == p.text


def test_a_colon_lead_above_its_bullets_is_not_a_passage():
    text = "Kultur\n\nNordlyspartiet vil:\n- øke spillemidlene\n- bygge flere haller\n"
    passages = split_document(doc(), text, SplitterSettings())
    assert [p.text for p in passages] == ["øke spillemidlene", "bygge flere haller"]
    assert [p.section for p in passages] == ["Kultur", "Kultur"]
    assert passages[0].context == "Kultur\n\nNordlyspartiet vil:\n- øke spillemidlene\n- bygge flere haller"
    inside = split_document(doc(), "Et avsnitt som står her.\n\nVi vil:\n- øke spillemidlene\n", SplitterSettings())
    assert [p.text for p in inside] == ["Et avsnitt som står her.", "øke spillemidlene"]
    assert inside[1].context == "Vi vil:\n- øke spillemidlene"


def test_a_colon_lead_above_one_item_per_line_is_not_a_passage():
    text = "Skatt\n\nVardepartiet vil:\nFase ut formuesskatten.\nRedusere selskapsskatten.\n"
    passages = split_document(doc(), text, SplitterSettings())
    assert [p.text for p in passages] == ["Fase ut formuesskatten.", "Redusere selskapsskatten."]
    assert [p.section for p in passages] == ["Skatt", "Skatt"]
    assert passages[0].context == "Vardepartiet vil:\nFase ut formuesskatten.\nRedusere selskapsskatten."


def test_the_cutting_rules_version_is_in_the_settings_an_index_records():
    assert SplitterSettings().to_dict()["rules"] == SplitterSettings.RULES == 5


def test_headings_directly_above_their_text_and_a_title_block_are_no_passages():
    text = ("Fjordpartiet – Trygge familier\nValgprogram 2025–2029\n\nVi vil ha trygge familier.\n\n"
            "Tid med barnet\nFar og mor skal dele. Det er bra for barna.\n- Dele permisjonen i tre.\n- Beholde fedrekvoten.\n\n"
            "Barnetrygd\nUnderoverskrift\n- Øke barnetrygden.\n")
    passages = split_document(doc(), text, SplitterSettings())
    assert [p.text for p in passages] == ["Vi vil ha trygge familier.", "Far og mor skal dele. Det er bra for barna.",
                                          "Dele permisjonen i tre.", "Beholde fedrekvoten.", "Øke barnetrygden."]
    assert [p.section for p in passages] == ["Valgprogram 2025–2029", "Tid med barnet", "Tid med barnet",
                                             "Tid med barnet", "Underoverskrift"]
    for p in passages:
        assert text[p.start:p.end] == p.text


def test_a_list_of_short_items_without_full_stops_keeps_every_item():
    text = "Innledning her.\n\nØke antall plasser\nSikre ettervern\nBygge flere boliger\n"
    passages = split_document(doc(), text, SplitterSettings())
    assert [p.text for p in passages] == ["Innledning her.", "Øke antall plasser", "Sikre ettervern", "Bygge flere boliger"]


def test_a_lead_inside_a_list_block_is_not_a_passage_and_opens_its_items_context():
    text = ("Matpriser\nTre kjeder eier nesten alt. Prisene er høye.\nHasselpartiet vil:\n- Opprette et prisombud.\n"
            "- Dele opp kjedene.\nVi vil også:\n- Forby tomtekjøp.\n")
    passages = split_document(doc(), text, SplitterSettings())
    assert [p.text for p in passages] == ["Tre kjeder eier nesten alt. Prisene er høye.", "Opprette et prisombud.",
                                          "Dele opp kjedene.", "Forby tomtekjøp."]
    assert [p.section for p in passages] == ["Matpriser"] * 4
    assert [p.context for p in passages] == ["Tre kjeder eier nesten alt. Prisene er høye.",
                                             "Hasselpartiet vil:\n- Opprette et prisombud.\n- Dele opp kjedene.",
                                             "Hasselpartiet vil:\n- Opprette et prisombud.\n- Dele opp kjedene.",
                                             "Vi vil også:\n- Forby tomtekjøp."]
    for p in passages:
        assert text[p.start:p.end] == p.text
