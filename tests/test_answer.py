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
    assert answer.hits[0].passage.text.startswith("Legemiddelassistert rehabilitering (LAR)")


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


@pytest.mark.parametrize("question", ["Hva mener Venstre om bompenger?", "asdf qwerty", "!!!"])
def test_off_corpus_questions_are_declined(fake_bot, question):
    answer = fake_bot.ask(question)
    assert (answer.answered, answer.hits, answer.notice) == (False, (), NOTICE_NONE)


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
    assert set(data) == {"question", "answered", "notice", "parties", "missing_parties", "mode", "passages"}
    first = data["passages"][0]
    assert {"rank", "party", "source", "title", "section", "start", "end", "text", "context", "score",
            "citation", "line"} <= set(first)
    assert first["source"] == "helsepartiet-rusomsorg.txt"
    assert first["citation"].startswith("Helsepartiet, Prinsipprogram (vedtatt 8. februar 2017), «Rusomsorg», "
                                        "helsepartiet-rusomsorg.txt, linje 16, tegn ")
    json.dumps(data)


# ---- party-restricted queries reuse the party's rows -------------------------------------------

RESTRICTS = [("Venstre",), ("Helsepartiet",), ("Venstre", "Helsepartiet"), ("Helsepartiet", "Venstre"), ("Ukjent",)]
QUERIES = ["brukerrom", "heroinassistert behandling", "behandlingsplasser", "LAR", "rusreform avkriminalisering"]


def _fields(ev) -> tuple:
    return (ev.query, ev.language, ev.ranked, ev.cosine, ev.bm25, ev.best_score, ev.best_dense, ev.best_bm25,
            ev.other_party)


def test_restricted_evidence_is_what_rows_and_their_complement_give(fake_bot, monkeypatch):
    """The cached row filters find exactly what the sorted rows and np.setdiff1d (the old way) found."""
    import numpy as np

    from chatbot.index import PartyRows

    answerer = fake_bot.answerer
    index = answerer.index
    got = {(q, r, m): _fields(answerer.evidence(q, r, m)) for q in QUERIES for r in RESTRICTS
           for m in ("hybrid", "dense", "bm25")}

    def old_way(parties):
        parts = [index.party_ids[p] for p in parties if p in index.party_ids]
        allowed = np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
        return PartyRows(allowed, np.setdiff1d(np.arange(len(index.passages)), allowed))

    monkeypatch.setattr(index, "party_rows", old_way)
    expected = {(q, r, m): _fields(answerer.evidence(q, r, m)) for q in QUERIES for r in RESTRICTS
                for m in ("hybrid", "dense", "bm25")}
    assert got == expected
    assert {got[(q, ("Venstre",), "hybrid")][-1] for q in QUERIES} == {None, "Helsepartiet"}  # both branches ran
    assert got[("LAR", ("Ukjent",), "hybrid")][2] == ()  # an unknown party allows no rows


def test_restricted_query_builds_no_row_set(fake_bot, monkeypatch):
    """After the first question for a party, the next ones do no work in proportion to the index."""
    import numpy as np

    from chatbot import ann

    index = fake_bot.answerer.index
    first = fake_bot.ask("Hva vil Venstre med brukerrom?")
    made: list[int] = []
    init = ann.RowFilter.__init__
    monkeypatch.setattr(ann.RowFilter, "__init__", lambda self, *a, **k: made.append(1) or init(self, *a, **k))

    def forbidden(*args, **kwargs):
        raise AssertionError("np.setdiff1d per query")

    monkeypatch.setattr(np, "setdiff1d", forbidden)
    again = fake_bot.ask("Hva vil Venstre med brukerrom?")
    assert made == []
    assert (again.answered, again.notice, [h.passage.id for h in again.hits]) == (
        first.answered, first.notice, [h.passage.id for h in first.hits])
    rows = index.party_rows(("Venstre", "Helsepartiet"))
    assert index.party_rows(("Helsepartiet", "Venstre", "Ukjent")) is rows  # same set, same filters
    assert len(made) == 2  # the pair's rows and their complement, once
    venstre = index.party_rows(("Venstre",))
    assert venstre.allowed.rows.tolist() == index.party_ids["Venstre"].tolist()
    assert venstre.others.rows.tolist() == index.party_ids["Helsepartiet"].tolist()


def test_party_row_cache_is_bounded(fake_bot, monkeypatch):
    index = fake_bot.answerer.index
    monkeypatch.setattr(index, "PARTY_ROWS_CACHED", 2)
    a, b = index.party_rows(("Venstre",)), index.party_rows(("Helsepartiet",))
    assert index.party_rows(("Venstre",)) is a  # now the most recently used
    index.party_rows(("Venstre", "Helsepartiet"))  # evicts Helsepartiet, the least recently used
    assert index.party_rows(("Venstre",)) is a
    assert index.party_rows(("Helsepartiet",)) is not b
