"""Notices in the question's language, the party filter said plainly, cut questions said, and the
same notice whichever way the answer is asked for (library, `chatbot ask`, `chatbot ask --json`)."""

import json
import re
import string

import pytest

from chatbot.cli import main
from chatbot.notices import LANGUAGES, MESSAGES, and_list, say


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_notice_has_all_languages_with_the_same_fields():
    for key, templates in MESSAGES.items():
        assert set(templates) >= set(LANGUAGES), key
        assert len({frozenset(fields(templates[lang])) for lang in LANGUAGES}) == 1, key


def test_say_fills_in_and_falls_back_to_bokmaal():
    assert say("none", "en") == "Found no relevant passages in the sources."
    assert say("none", "nn") == "Fann ingen relevante avsnitt i kjeldene."
    assert say("none", "de") == say("none", "nb") == "Fant ingen relevante avsnitt i kildene."
    assert say("party_none", "en", party="Venstre") == "Found no relevant passages from Venstre on this in the sources."
    assert and_list(["A"], "en") == "A"
    assert and_list(["A", "B", "C"], "en") == "A, B and C"
    assert and_list(["A", "B"], "nn") == "A og B"


# ---- the party filter ----------------------------------------------------------------------------

def test_a_filter_that_leaves_out_the_named_party_says_so(fake_bot):
    answer = fake_bot.ask("Hva vil Venstre med LAR?", party="Helsepartiet")
    assert (answer.answered, answer.hits, answer.language) == (False, (), "nb")
    assert answer.notice == ("Venstre er filtrert bort: partifilteret viser bare Helsepartiet. "
                             "Venstre har avsnitt om dette; ta med Venstre i partifilteret for å se dem.")
    assert (answer.filtered_out, answer.others_with_passages) == (("Venstre",), ("Venstre",))


def test_the_filter_notice_in_english_and_nynorsk(fake_bot):
    en = fake_bot.ask("What does Venstre want for LAR?", party="Helsepartiet")
    assert (en.language, en.notice) == ("en", "Venstre is filtered out: the party filter shows only Helsepartiet. "
                                              "There are passages on this from Venstre; include Venstre in the party "
                                              "filter to see them.")
    nn = fake_bot.ask("Kva meiner Venstre om LAR?", party="Helsepartiet")
    assert (nn.language, nn.notice) == ("nn", "Venstre er filtrert bort: partifilteret viser berre Helsepartiet. "
                                              "Venstre har avsnitt om dette; ta med Venstre i partifilteret for å sjå dei.")


def test_passages_of_the_filters_party_come_with_the_filter_notice(fake_bot):
    answer = fake_bot.ask("Hva er Venstres overordnede syn på rusomsorgen?", party="Helsepartiet")
    assert answer.answered is True
    assert {h.passage.party for h in answer.hits} == {"Helsepartiet"}
    assert answer.notice == "Venstre er filtrert bort: partifilteret viser bare Helsepartiet."


def test_a_filter_keeping_the_named_party_adds_nothing(fake_bot):
    answer = fake_bot.ask("Hva vil Venstre med LAR?", party="Venstre")
    assert answer.answered is True and answer.notice is None and answer.filtered_out == ()


def test_named_party_and_filter_both_reported(fake_bot):
    answer = fake_bot.ask("Hva mener Venstre, Helsepartiet og Høyre om LAR?", party="Helsepartiet")
    assert answer.notice == ("Høyre finnes ikke i kildene (tilgjengelig: Helsepartiet, Venstre). "
                             "Venstre er filtrert bort: partifilteret viser bare Helsepartiet. "
                             "Fant ingen relevante avsnitt fra Helsepartiet om dette i kildene. "
                             "Venstre har avsnitt om dette; ta med Venstre i partifilteret for å se dem.")


# ---- the question's language ---------------------------------------------------------------------

@pytest.mark.parametrize("question, party, language, notice", [
    ("What does Arbeiderpartiet want for drug policy?", None, "en",
     "Arbeiderpartiet is not in the sources (available: Helsepartiet, Venstre)."),
    ("What does Venstre want for LAR?", "Rødt", "en", "Rødt is not in the sources (available: Helsepartiet, Venstre)."),
    ("Do any parties want cheaper petrol for commuters?", None, "en",
     "Found no relevant passages in the sources."),
    ("What does Venstre say about brukerrom where smoking is allowed?", None, "en",
     "Found no relevant passages from Venstre on this in the sources. "
     "There are passages on this from Helsepartiet; ask without a party name to see them."),
    ("Kva meiner Venstre om brukarrom der røyking er tillate?", None, "nn",
     "Fann ingen relevante avsnitt frå Venstre om dette i kjeldene. "
     "Helsepartiet har avsnitt om dette; spør utan partinamn for å sjå dei."),
    ("Hva mener Venstre om brukerrom der røyking er tillatt?", None, "nb",
     "Fant ingen relevante avsnitt fra Venstre om dette i kildene. "
     "Helsepartiet har avsnitt om dette; spør uten partinavn for å se dem."),
    ("What about Venstre?", None, "en",
     "The question only names a party. Ask about a topic, for example «What does Venstre want for housing?»."),
    ("", None, "nb", "Spørsmålet er tomt. Skriv et spørsmål, for eksempel «Hva vil Venstre med LAR?»."),
])
def test_notices_come_in_the_questions_language(fake_bot, question, party, language, notice):
    answer = fake_bot.ask(question, party=party)
    assert (answer.answered, answer.language, answer.notice) == (False, language, notice)


def test_english_question_keeps_the_quotes_as_written(fake_bot):
    answer = fake_bot.ask("What does Venstre want for LAR?")
    texts = {d.source: fake_bot.catalog.text(d.source) for d in fake_bot.catalog.documents}
    assert answer.answered and answer.language == "en"
    for hit in answer.hits:
        assert texts[hit.passage.source][hit.passage.start:hit.passage.end] == hit.passage.text


# ---- cut questions --------------------------------------------------------------------------------

def test_a_20000_character_paste_is_cut_and_says_how_much_was_searched(fake_bot):
    question = "LAR " * 5000
    answer = fake_bot.ask(question)
    assert (answer.truncated, len(answer.searched)) == (True, 1999)
    assert answer.searched == ("LAR " * 500)[:1999]
    assert answer.notice == ("Spørsmålet var svært langt; bare de første 1999 av 20000 tegn er brukt i søket "
                             "(grensen er 2000 tegn).")
    data = fake_bot.to_dict(answer)
    assert (data["truncated"], data["searched"], data["question"]) == (True, answer.searched, question)


def test_a_long_english_question_is_cut_in_english(fake_bot):
    answer = fake_bot.ask("What does Venstre want for LAR? " + "and then " * 300)
    assert answer.truncated is True
    assert answer.notice.startswith(f"The question was very long; only the first {len(answer.searched)} of 2732 "
                                    "characters were searched (the limit is 2000).")


def test_searched_is_the_cleaned_question(fake_bot):
    answer = fake_bot.ask("  Hva vil\u200b Venstre\n med   LAR?  ")
    assert (answer.searched, answer.truncated) == ("Hva vil Venstre med LAR?", False)
    assert fake_bot.ask("   ").searched == ""


# ---- one notice everywhere -------------------------------------------------------------------------

@pytest.mark.parametrize("question, party", [("Hva vil Venstre med LAR?", "Helsepartiet"),
                                             ("What does Venstre say about brukerrom where smoking is allowed?", None),
                                             ("Hva er Venstres overordnede syn på rusomsorgen?", "Helsepartiet")])
def test_the_cli_and_its_json_give_the_librarys_notice(fake_model, fake_bot, capsys, question, party):
    expected = fake_bot.to_dict(fake_bot.ask(question, party=party))
    args = ["ask", question] + (["--party", party] if party else [])
    assert main(args + ["--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == json.loads(json.dumps(expected, ensure_ascii=False))
    assert main(args) == 0
    assert capsys.readouterr().out.splitlines()[0] == expected["notice"]


def test_plain_text_without_notice_falls_back_in_the_answers_language():
    from chatbot.records import Answer
    from chatbot.render import plain

    assert plain(Answer("q", False, None, (), language="en"), {}) == "Found no relevant passages in the sources."
    assert plain(Answer("q", False, None, ()), {}) == "Fant ingen relevante avsnitt i kildene."


def test_no_notice_text_is_left_outside_the_notices_module():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "chatbot"
    for name in ("answer.py", "render.py", "query/prepare.py"):
        code = (root / name).read_text(encoding="utf-8")
        code = re.sub(r'^NOTICE_[A-Z_]+ = .*$', "", code, flags=re.MULTILINE)  # bokmål constants kept for callers
        assert "finnes ikke i kildene" not in code and "Fant ingen relevante" not in code, name
