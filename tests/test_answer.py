import json

import pytest

from chatbot.answer import AnswerSettings, NOTICE_EMPTY, NOTICE_NONE
from chatbot.cli import main
from chatbot.errors import QuestionError


def test_named_party_restricts_the_answer(fake_bot):
    answer = fake_bot.ask("Hva vil Venstre med LAR?")
    assert answer.answered is True
    assert answer.parties == ("Venstre",)
    assert answer.hits
    assert {h.passage.party for h in answer.hits} == {"Venstre"}
    assert "LAR" in answer.hits[0].passage.text


def test_hits_are_exact_quotes_with_offsets(fake_bot):
    answer = fake_bot.ask("heroinassistert behandling")
    texts = {d.source: fake_bot.catalog.text(d.source) for d in fake_bot.catalog.documents}
    for hit in answer.hits:
        p = hit.passage
        assert texts[p.source][p.start:p.end] == p.text
    assert [h.rank for h in answer.hits] == list(range(1, len(answer.hits) + 1))


def test_party_not_in_sources_gets_no_passages(fake_bot):
    answer = fake_bot.ask("Hva mener Arbeiderpartiet om rus?")
    assert answer.answered is False
    assert answer.hits == ()
    assert answer.notice == "Arbeiderpartiet finnes ikke i kildene (tilgjengelig: Helsepartiet, Venstre)."
    assert answer.missing_parties == ("Arbeiderpartiet",)


def test_present_and_missing_party_answers_for_the_present_one(fake_bot):
    answer = fake_bot.ask("Hva mener Venstre og FrP om LAR?")
    assert answer.answered is True
    assert {h.passage.party for h in answer.hits} == {"Venstre"}
    assert answer.notice == "Fremskrittspartiet finnes ikke i kildene (tilgjengelig: Helsepartiet, Venstre)."


@pytest.mark.parametrize("question, notice", [
    ("Hva mener partiene om bompenger?", NOTICE_NONE + " Ordet «bompenger» står ikke i kildene."), ("!!!", NOTICE_NONE),
    ("asdf qwerty", "Found no relevant passages in the sources."),  # "qwerty" is commoner in English
])
def test_off_corpus_questions_are_declined(fake_bot, question, notice):
    answer = fake_bot.ask(question)
    assert (answer.answered, answer.hits, answer.notice) == (False, (), notice)


def test_a_norwegian_word_no_passage_has_is_named(fake_bot):
    # "pårørende" is in no passage in any form; "rusavhengige" is, and "gjere" weighs too little to be named
    answer = fake_bot.ask("Hva vil partiene gjøre for pårørende til rusavhengige?")
    assert answer.missing_words == ("pårørende",)
    assert answer.notice is not None and answer.notice.endswith("Ordet «pårørende» står ikke i kildene.")
    assert answer.to_dict()["missing_words"] == ["pårørende"]
    nynorsk = fake_bot.ask("kva vil partia gjere med pårørande og fengsel?")
    assert nynorsk.missing_words == ("pårørande", "fengsel")
    assert "Orda «pårørande» og «fengsel» står ikkje i kjeldene." in nynorsk.notice
    # found in some form (a compound's parts, a near spelling) is not missing; English words are never named
    assert fake_bot.ask("Hva mener partiene om spilleavhengighet?").missing_words == ()
    assert fake_bot.ask("Hva mener partiene om sprøyterommene?").missing_words == ()
    assert fake_bot.ask("What about naloxone and prisons?").missing_words == ()
    assert fake_bot.ask("Hva mener partiene om Vinmonopolet?").missing_words == ("Vinmonopolet",)  # as typed


def test_a_party_with_nothing_on_the_topic_is_named(fake_bot):
    answer = fake_bot.ask("Hva mener Venstre om bompenger?")
    assert (answer.answered, answer.hits) == (False, ())
    assert answer.notice == ("Fant ingen relevante avsnitt fra Venstre om dette i kildene. "
                             "Ordet «bompenger» står ikke i kildene.")


def test_a_party_without_the_topic_points_to_the_party_that_has_it(fake_bot):
    answer = fake_bot.ask("Hva mener Venstre om brukerrom der røyking er tillatt?")
    assert (answer.answered, answer.hits) == (False, ())
    assert answer.notice == ("Fant ingen relevante avsnitt fra Venstre om dette i kildene. "
                             "Helsepartiet har avsnitt om dette; spør uten partinavn for å se dem.")


def test_the_named_partys_passages_answer_even_when_another_says_more(fake_bot):
    answer = fake_bot.ask("Hva mener Helsepartiet om rusavhengige og behandling?")
    assert answer.answered is True
    assert {h.passage.party for h in answer.hits} == {"Helsepartiet"}


@pytest.mark.parametrize("question", ["", "   ", "\u200b\u200b", "\x00\x01"])
def test_empty_questions_get_a_notice(fake_bot, question):
    answer = fake_bot.ask(question)
    assert (answer.answered, answer.notice) == (False, NOTICE_EMPTY)


def test_only_a_party_name(fake_bot):
    answer = fake_bot.ask("Venstre")
    assert answer.answered is False
    assert answer.notice.startswith("Spørsmålet nevner bare et parti.")


def test_party_filter_argument_is_case_insensitive(fake_bot):
    answer = fake_bot.ask("heroinassistert behandling", party="helsepartiet")
    assert {h.passage.party for h in answer.hits} == {"Helsepartiet"}
    assert {h.passage.party for h in fake_bot.ask("behandling", party=["VENSTRE"]).hits} == {"Venstre"}


def test_unknown_party_filter_is_declined(fake_bot):
    answer = fake_bot.ask("LAR", party="Rødt")
    assert answer.answered is False
    assert answer.notice == "Rødt finnes ikke i kildene (tilgjengelig: Helsepartiet, Venstre)."


def test_long_question_is_cut_with_a_notice(fake_bot):
    answer = fake_bot.ask("heroinassistert behandling " + "x" * 100_000)
    assert answer.notice.startswith("Spørsmålet var svært langt; bare de første ")


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_modes(fake_bot, mode):
    answer = fake_bot.ask("sprøyterom", mode=mode)
    assert answer.mode == mode
    assert answer.hits[0].passage.text.startswith("Etablere brukerrom")


def test_folded_spelling_finds_the_same_passage(fake_bot):
    assert fake_bot.ask("sproyterom", mode="bm25").hits[0].passage.text.startswith("Etablere brukerrom")


def test_k_limits_the_passages(fake_bot):
    assert len(fake_bot.ask("rusavhengige behandling", k=2).hits) <= 2


@pytest.mark.parametrize("kwargs, message", [({"k": 0}, "k must be"), ({"mode": "x"}, "unknown mode")])
def test_bad_arguments(fake_bot, kwargs, message):
    with pytest.raises(QuestionError, match=message):
        fake_bot.ask("LAR", **kwargs)


def test_settings_are_validated_eagerly():
    with pytest.raises(ValueError):
        AnswerSettings(candidates=0)


def test_json_shape(fake_bot):
    data = fake_bot.to_dict(fake_bot.ask("Hva vil Helsepartiet med brukerrom?"))
    assert set(data) == {"question", "searched", "truncated", "language", "answered", "notice", "parties",
                         "missing_parties", "filtered_out", "others_with_passages", "missing_words", "mode",
                         "passages"}
    assert (data["searched"], data["truncated"], data["language"]) == ("Hva vil Helsepartiet med brukerrom?", False, "nb")
    first = data["passages"][0]
    assert {"rank", "party", "source", "title", "section", "start", "end", "text", "context", "score",
            "citation", "line", "byte_start", "byte_end", "selector", "url"} <= set(first)
    assert first["source"] == "helsepartiet-rusomsorg.txt"
    assert first["citation"].startswith("Helsepartiet, Prinsipprogram (vedtatt 8. februar 2017), «Rusomsorg», "
                                        "helsepartiet-rusomsorg.txt, linje 16, tegn ")
    json.dumps(data)


# ---- party-restricted queries reuse the party's rows -------------------------------------------

RESTRICTS = [("Venstre",), ("Helsepartiet",), ("Venstre", "Helsepartiet"), ("Helsepartiet", "Venstre")]
QUERIES = ["brukerrom", "heroinassistert behandling", "behandlingsplasser", "LAR", "rusreform avkriminalisering"]


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_restricted_candidates_are_only_the_parties_rows(fake_bot, mode):
    """A filter keeps every candidate within its parties, and the same filter asked twice gives the same."""
    for q in QUERIES:
        for restrict in RESTRICTS:
            found = fake_bot.answerer.search(q, list(restrict), mode)
            rows = [c.row for c in found.own.candidates]
            assert {fake_bot.answerer.index.passages[r].party for r in rows} <= set(restrict)
            again = fake_bot.answerer.search(q, list(restrict), mode)
            assert [c.row for c in again.own.candidates] == rows


def test_an_english_keyword_covers_text_through_the_glossary(fake_bot):
    # "aftercare" is English by its word frequency; the glossary's "ettervern" counts as its own word,
    # so the passages on ettervern cover the whole question and no content is unknown
    found = fake_bot.answerer.search("aftercare")
    assert found.own.english is True
    assert found.own.unknown == 0.0
    covered = [c for c in found.own.candidates if c.coverage == 1.0]
    assert covered and all("ettervern" in fake_bot.answerer.index.passages[c.row].text.casefold() for c in covered)


def test_the_glossary_overrides_the_induced_lexicon(fake_bot, monkeypatch):
    # an induced pair is often a neighbour by shared letters ("needle" -> "nytte"): where the glossary has the
    # word, its translation alone counts; the lexicon serves the words the glossary lacks
    monkeypatch.setattr(fake_bot.answerer.index, "lexicon", {"needle": ["nytte"], "exchange": ["bytte"]})
    assert fake_bot.answerer._translations("needle exchange") == {"needle": ("sprøyte",), "exchange": ("bytte",)}
    assert fake_bot.answerer._translations("needles") == {"needles": ("sprøyter",)}


class _StubQuestionModel:
    def __init__(self, p):
        self.p, self.answer_at = p, 0.5

    def probability(self, row):
        return self.p


def test_a_party_whose_own_candidates_would_be_declined_gets_no_card(fake_bot):
    answerer = fake_bot.answerer
    found = answerer.search("Hva sier partiene om bolig?")
    probs = answerer.decision.for_mode("hybrid").probabilities(found.own.x)
    shown = [(c, float(p)) for c, p in zip(found.own.candidates, probs)]
    party = lambda item: answerer.index.passages[item[0].row].party  # noqa: E731
    assert {party(i) for i in shown} == {"Venstre", "Helsepartiet"}
    party_of = {c.row: party((c, p)) for c, p in shown}
    kept = answerer._parties_that_answer(shown, found.own, probs, _StubQuestionModel(0.0), False, party_of)
    assert kept == [i for i in shown if party(i) == party(shown[0])]  # only the best passage's party stays
    assert answerer._parties_that_answer(shown, found.own, probs, _StubQuestionModel(0.9), False, party_of) == shown


def _with_relative(decision, share: float):
    import dataclasses

    return dataclasses.replace(decision, modes={m: dataclasses.replace(v, show_relative=share)
                                                for m, v in decision.modes.items()})


def test_a_weak_passage_beside_a_strong_one_of_its_party_is_not_shown(fake_bot):
    """show_relative: a passage is shown only when it reaches that share of its own party's best probability;
    the best passage is always shown, and another party's passages are measured against that party's best."""
    question = "Hva sier partiene om behandling og LAR?"
    decision = fake_bot.answerer.decision
    loose = fake_bot.ask(question, k=10, decision=_with_relative(decision, 0.0))
    strict = fake_bot.ask(question, k=10, decision=_with_relative(decision, 0.95))
    assert loose.answered and strict.answered
    assert strict.hits[0].passage.id == loose.hits[0].passage.id
    assert 1 <= len(strict.hits) < len(loose.hits)
    best = {}
    for h in loose.hits:
        best.setdefault(h.passage.party, h.score)
    assert {h.passage.id for h in strict.hits} == {h.passage.id for n, h in enumerate(loose.hits)
                                                   if n == 0 or h.score >= 0.95 * best[h.passage.party]}


def test_show_relative_must_be_a_share():
    import dataclasses

    from chatbot.query.decide import DecisionError
    from fakes import FAKE_DECISION

    with pytest.raises(DecisionError, match="show_relative"):
        dataclasses.replace(FAKE_DECISION.modes["hybrid"], show_relative=1.5)


def test_a_statement_said_twice_is_one_card_with_both_places(fake_bot):
    # Venstre's programme says it in a paragraph (line 11) and again as a bullet (line 23)
    a = fake_bot.ask("Hva vil Venstre med tilgang til ordinære legemidler for rusavhengige?")
    texts = [h.passage.text for h in a.hits]
    assert sum("samme tilgang til ordinære legemidler" in t for t in texts) == 1
    hit = next(h for h in a.hits if "samme tilgang til ordinære legemidler" in h.passage.text)
    assert hit.passage.text.startswith("Venstre vil at rusavhengige gis samme tilgang")  # the fuller text
    assert [(x.line, x.text) for x in hit.also] == [
        (23, "at rusavhengige gis samme tilgang til ordinære legemidler som det ikke-rusavhengige har i dag")]
    d = hit.to_dict()
    assert d["also"] == [{"id": hit.also[0].id, "source": "venstre-rusomsorg.txt", "line": 23, "start": 3051,
                          "end": 3144, "text": hit.also[0].text}]
    from chatbot.render import plain

    assert "     Står også i Venstre, Temaside, «Rusomsorg som tar mennesker på alvor», venstre-rusomsorg.txt, linje 23, " \
           "tegn 3051–3144" in plain(a, fake_bot.catalog.by_source())
