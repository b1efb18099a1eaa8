"""Follow-up questions: the rules (inline party directories, exact readings), the conversation over
the fake bot, the web handlers' per-session history, and one run of the conversation evaluation
with the real model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatbot.chat import Conversation, take_turn
from chatbot.followup import (COMPARE, LITERAL, MORE, PARTY_SWAP, REFERENCE, STANDALONE, TOPIC_SWAP, WHICH_PARTY, WHY, Context,
                              Reading, Rules)
from chatbot.parties import load_parties

ROOT = Path(__file__).resolve().parents[1]

TWO = """
cues_before = ["mener", "sier", "vil", "about"]
cues_after = ["vil", "mener", "sier"]
not_before = ["hånd", "side"]
not_after = ["til", "på", "the", "to"]
[[party]]
name = "Venstre"
aliases = ["Venstre", "Venstres", "V", "Liberal Party", "the Liberals"]
ambiguous = ["Venstre", "Venstres"]
[[party]]
name = "Helsepartiet"
aliases = ["Helsepartiet", "Helsepartiets", "Health Party", "the Health Party"]
[[party]]
name = "Arbeiderpartiet"
aliases = ["Arbeiderpartiet", "Ap", "Labour"]
"""

THREE = """
[[party]]
name = "Fjordpartiet"
aliases = ["Fjordpartiet", "Fjord Party", "the Fjord Party"]
[[party]]
name = "Nordlyspartiet"
aliases = ["Nordlyspartiet", "Northern Lights Party", "the Northern Lights Party"]
[[party]]
name = "Samholdspartiet"
aliases = ["Samholdspartiet", "Cohesion Party", "the Cohesion Party"]
"""


def rules_from(tmp_path: Path, toml: str, available: tuple[str, ...]) -> Rules:
    folder = tmp_path / f"p{abs(hash(toml)) % 10_000}"
    folder.mkdir(exist_ok=True)
    (folder / "parties.toml").write_text(toml, encoding="utf-8")
    return Rules(load_parties(folder), available)


@pytest.fixture()
def two(tmp_path) -> Rules:
    return rules_from(tmp_path, TWO, ("Helsepartiet", "Venstre"))


@pytest.fixture()
def three(tmp_path) -> Rules:
    return rules_from(tmp_path, THREE, ("Fjordpartiet", "Nordlyspartiet", "Samholdspartiet"))


def talk(rules: Rules, *turns, shown=None) -> list[Reading]:
    """Read the turns one after another; ``shown`` maps a turn index to the parties its answer showed."""
    history: list[Context] = []
    readings = []
    for i, q in enumerate(turns):
        r = rules.read(q, history)
        readings.append(r)
        history.append(rules.context(r, (shown or {}).get(i, r.parties)))
    return readings


def brief(r: Reading) -> tuple:
    return (r.interpreted, r.parties, r.context_used, r.kind)


# ---- party swap -------------------------------------------------------------------------

def test_party_swap_norwegian(two):
    r = talk(two, "Hva mener Venstre om bolig?", "Og Helsepartiet?")
    assert brief(r[0]) == ("Hva mener Venstre om bolig?", ("Venstre",), False, STANDALONE)
    assert brief(r[1]) == ("Hva mener Helsepartiet om bolig?", ("Helsepartiet",), True, PARTY_SWAP)
    assert r[1].note() == "Tolket som: «Hva mener Helsepartiet om bolig?»"
    assert r[1].topic == "bolig" and r[1].topic_from_context and not r[1].parties_from_context


def test_party_swap_english_alias_is_the_partys_name(two):
    r = talk(two, "What does Venstre want for LAR?", "What about the Health Party?")
    assert brief(r[1]) == ("What does Helsepartiet want for LAR?", ("Helsepartiet",), True, PARTY_SWAP)
    assert r[1].note() == "Interpreted as: «What does Helsepartiet want for LAR?»"


def test_party_swap_genitive(two):
    r = talk(two, "Hva er Venstres politikk på LAR?", "og Helsepartiet?")
    assert r[1].interpreted == "Hva er Helsepartiets politikk på LAR?"


def test_the_other_party(two):
    r = talk(two, "Hva vil Venstre gjøre med ventetid på behandling?", "Hva med det andre partiet?")
    assert brief(r[1]) == ("Hva vil Helsepartiet gjøre med ventetid på behandling?", ("Helsepartiet",), True, PARTY_SWAP)
    assert r[1].parties_from_context


def test_both_parties_norwegian_and_english(two):
    nb = talk(two, "Hva mener Helsepartiet om skadereduksjon?", "begge partiene?")
    assert brief(nb[1]) == ("Hva mener Helsepartiet og Venstre om skadereduksjon?", ("Helsepartiet", "Venstre"),
                            True, PARTY_SWAP)
    en = talk(two, "What does the Health Party say about heroin?", "both?")
    assert en[1].language == "en"  # "both?" alone says nothing: the previous turn's language
    assert brief(en[1]) == ("What do Helsepartiet and Venstre say about heroin?", ("Helsepartiet", "Venstre"),
                            True, PARTY_SWAP)


def test_the_others_among_three(three):
    r = talk(three, "Hva vil Nordlyspartiet gjøre med egenandeler?", "og de andre?")
    assert brief(r[1]) == ("Hva vil Fjordpartiet og Samholdspartiet gjøre med egenandeler?",
                           ("Fjordpartiet", "Samholdspartiet"), True, PARTY_SWAP)
    nn = talk(three, "Kva meiner Nordlyspartiet om dobbelt statsborgarskap?", "og dei andre?")
    assert nn[1].interpreted == "Kva meiner Fjordpartiet og Samholdspartiet om dobbelt statsborgarskap?"
    assert nn[1].note() == "Tolka som: «Kva meiner Fjordpartiet og Samholdspartiet om dobbelt statsborgarskap?»"


def test_party_swap_chain_keeps_the_first_topic(three):
    r = talk(three, "Hva mener Fjordpartiet om kvoteflyktninger?", "og Nordlyspartiet?", "og Samholdspartiet?")
    assert [x.interpreted for x in r[1:]] == ["Hva mener Nordlyspartiet om kvoteflyktninger?",
                                               "Hva mener Samholdspartiet om kvoteflyktninger?"]


def test_a_party_not_in_the_sources_is_swapped_in_and_left_to_the_answerer(two):
    r = talk(two, "Hva mener Venstre om bolig?", "og Arbeiderpartiet?")
    assert brief(r[1]) == ("Hva mener Arbeiderpartiet om bolig?", ("Arbeiderpartiet",), True, PARTY_SWAP)


# ---- topic swap -------------------------------------------------------------------------

def test_topic_swap_keeps_the_party(two):
    r = talk(two, "Hva mener Venstre om bolig?", "og om ettervern?")
    assert brief(r[1]) == ("Hva mener Venstre om ettervern?", ("Venstre",), True, TOPIC_SWAP)
    r = talk(two, "Hva sier Helsepartiet om bolig?", "Hva med ettervern?")
    assert brief(r[1]) == ("Hva mener Helsepartiet om ettervern?", ("Helsepartiet",), True, TOPIC_SWAP)
    r = talk(two, "What does Venstre want for treatment?", "what about pregnant women?")
    assert brief(r[1]) == ("What does Venstre say about pregnant women?", ("Venstre",), True, TOPIC_SWAP)
    r = talk(two, "What does Venstre say about LAR?", "and for pregnant women?")
    assert r[1].interpreted == "What does Venstre say about pregnant women?"


def test_topic_swap_without_a_party_asks_every_party(two, three):
    r = talk(two, "Hvem vil avkriminalisere narkotika?", "Hva med salg?")
    assert brief(r[1]) == ("Hva mener partiene om salg?", (), True, TOPIC_SWAP)
    assert r[1].parties_from_context is False
    r = talk(three, "Does any party want to end the gambling monopoly?", "and gambling ads?")
    assert brief(r[1]) == ("What do the parties say about gambling ads?", (), True, TOPIC_SWAP)


def test_topic_swap_after_which_party_does_not_keep_who_answered(three):
    """After "who …?" and "who else?", the parties of the reading are whoever answered: a new topic asks all."""
    r = talk(three, "Hvem vil innføre fritidskort?", "hvem vil det motsatte?", "enn makspris på kontingent da?",
             shown={0: ("Fjordpartiet",)})
    assert r[1].parties == ("Nordlyspartiet", "Samholdspartiet") and r[1].excluded == ("Fjordpartiet",)
    assert brief(r[2]) == ("Hva mener partiene om makspris på kontingent?", (), True, TOPIC_SWAP)


def test_who_wants_the_opposite_leaves_out_the_party_in_play(three):
    r = talk(three, "Hva vil Fjordpartiet med fritidskortet?", "hvem vil det motsatte?")
    assert brief(r[1]) == ("Hvem vil det motsatte (fritidskortet)?", ("Nordlyspartiet", "Samholdspartiet"), True,
                           WHICH_PARTY)
    assert r[1].excluded == ("Fjordpartiet",)
    assert r[1].note() == "Tolket som: «Hvem vil det motsatte (fritidskortet)?» (andre enn Fjordpartiet)"
    r = talk(three, "Does any party want to end the gambling monopoly?", "who wants the opposite?",
             shown={0: ("Samholdspartiet",)})
    assert brief(r[1]) == ("Who wants the opposite (ending the gambling monopoly)?", ("Fjordpartiet", "Nordlyspartiet"),
                           True, WHICH_PARTY)


def test_a_bare_why_asks_for_the_reasons_on_the_previous_topic(two, three):
    r = talk(two, "Hva vil Venstre med LAR?", "hvorfor?")
    assert brief(r[1]) == ("Hvilken begrunnelse gir Venstre for LAR?", ("Venstre",), True, WHY)
    assert r[1].note() == "Tolket som: «Hvilken begrunnelse gir Venstre for LAR?»"
    r = talk(three, "Kva vil Fjordpartiet gjere med fritidsklubbane?", "og Samholdspartiet?", "kvifor det?")
    assert brief(r[2]) == ("Kva grunngjeving gir Samholdspartiet for fritidsklubbane?", ("Samholdspartiet",), True, WHY)
    r = talk(two, "What do Venstre and the Health Party say about LAR?", "why?")
    assert brief(r[1]) == ("What reasons do Venstre and Helsepartiet give for LAR?", ("Venstre", "Helsepartiet"), True,
                           WHY)
    r = talk(two, "Hvem vil avkriminalisere narkotika?", "why not?", shown={0: ()})
    assert brief(r[1]) == ("What reasons do the parties give for avkriminalisere narkotika?", (), True, WHY)


def test_why_with_its_own_words_is_not_a_bare_why(two):
    r = talk(two, "Hva vil Venstre med LAR?", "Hvorfor vil Helsepartiet ha et narkotikafritt samfunn?")
    assert brief(r[1]) == ("Hvorfor vil Helsepartiet ha et narkotikafritt samfunn?", ("Helsepartiet",), False,
                           STANDALONE)


# ---- references -------------------------------------------------------------------------

def test_reference_de_and_partiet(two):
    r = talk(two, "Hva sier Helsepartiet om psykisk helse?", "vil de styrke ettervernet?")
    assert brief(r[1]) == ("Vil Helsepartiet styrke ettervernet?", ("Helsepartiet",), True, REFERENCE)
    r = talk(two, "Hva vil Venstre med avrusning?", "hva mer vil partiet gjøre med LAR?")
    assert brief(r[1]) == ("Hva vil Venstre gjøre med LAR?", ("Venstre",), True, REFERENCE)
    assert r[1].more is True  # "mer": past the passages already shown


def test_reference_dem_with_a_party_named_is_a_party_swap(two):
    r = talk(two, "Hva vil Helsepartiet med brukerrom?", "hva sier Venstre om dem?")
    assert brief(r[1]) == ("Hva vil Venstre med brukerrom?", ("Venstre",), True, PARTY_SWAP)


def test_reference_they_them_their(two):
    r = talk(two, "What does Venstre want for elderly care?", "what do they say about waiting lists")
    assert brief(r[1]) == ("What does Venstre say about waiting lists", ("Venstre",), True, REFERENCE)
    r = talk(two, "What does the Health Party think about the drug-free society?",
             "what about their view on homelessness?")
    assert brief(r[1]) == ("What about Helsepartiet's view on homelessness?", ("Helsepartiet",), True, REFERENCE)
    r = talk(two, "What does the Health Party say about family reunification?", "what about them?")
    assert brief(r[1]) == ("What does Helsepartiet say about family reunification?", ("Helsepartiet",), True, REFERENCE)


def test_they_after_which_party_is_the_party_that_answered(two):
    r = talk(two, "Which party wants medicines for addicts?", "do they support 24/7 in Oslo?",
             shown={0: ("Venstre", "Helsepartiet")})
    assert brief(r[1]) == ("Does Venstre support 24/7 in Oslo?", ("Venstre",), True, REFERENCE)


def test_a_reference_with_nothing_to_refer_to_stands_as_asked(two):
    r = talk(two, "Hvem vil ha sprøyterom?", "vil de ha flere?", shown={0: ()})
    assert brief(r[1]) == ("vil de ha flere?", (), False, STANDALONE)


def test_a_short_turn_ending_in_a_pronoun_for_a_thing_gets_the_previous_topic(two):
    r = talk(two, "Hvem vil beholde kontantstøtten?", "vil de øke den?", "og Helsepartiet?", shown={0: ("Venstre",)})
    assert brief(r[1]) == ("Vil Venstre øke kontantstøtten?", ("Venstre",), True, REFERENCE)
    assert r[1].topic == "å øke kontantstøtten" and r[1].topic_from_context is True
    assert brief(r[2]) == ("Vil Helsepartiet øke kontantstøtten?", ("Helsepartiet",), True, PARTY_SWAP)


# ---- which party, on the previous topic --------------------------------------------------

def test_which_party_on_the_previous_topic(two):
    r = talk(two, "Hva mener Venstre om surrogati?", "og hvem er imot?")
    assert brief(r[1]) == ("Hvem er imot surrogati?", (), True, WHICH_PARTY)
    assert r[1].note() == "Tolket som: «Hvem er imot surrogati?»"
    r = talk(two, "What does Venstre say about the father's quota?", "who wants to keep it?")
    assert brief(r[1]) == ("Who wants to keep father's quota?", (), True, WHICH_PARTY)
    r = talk(two, "Hvor mye bistand vil Venstre gi?", "og kven vil auke han?")
    assert brief(r[1]) == ("Kven vil auke bistand?", (), True, WHICH_PARTY)


def test_anyone_else_leaves_out_the_parties_in_play(three):
    r = talk(three, "Hva vil Fjordpartiet gjøre med vold i nære relasjoner?", "og Nordlyspartiet?", "noen andre?")
    assert brief(r[2]) == ("Hva mener partiene om vold i nære relasjoner?", ("Samholdspartiet",), True, WHICH_PARTY)
    assert r[2].excluded == ("Fjordpartiet", "Nordlyspartiet")
    assert r[2].note() == "Tolket som: «Hva mener partiene om vold i nære relasjoner?» (andre enn Fjordpartiet og Nordlyspartiet)"
    r = talk(three, "What does the Fjord Party want for the minimum pension?", "who else wants to raise it?")
    assert brief(r[1]) == ("Who else wants to raise minimum pension?", ("Nordlyspartiet", "Samholdspartiet"), True, WHICH_PARTY)
    assert r[1].note() == "Interpreted as: «Who else wants to raise minimum pension?» (other than Fjordpartiet)"
    # its own topic: the question as typed, for the other parties
    r = talk(three, "Which party wants to reopen police offices?", "anyone else want a max response time?",
             shown={0: ("Samholdspartiet",)})
    assert brief(r[1]) == ("anyone else want a max response time?", ("Fjordpartiet", "Nordlyspartiet"), True, WHICH_PARTY)
    assert r[1].topic == "max response time" and r[1].excluded == ("Samholdspartiet",)


def test_anyone_else_with_every_party_in_play_is_nobody_else(two, three):
    r = talk(two, "What does Helsepartiet say about LAR?", "What does Venstre say about LAR?", "anyone else?")
    assert brief(r[2]) == ("What do the parties say about LAR?", (), True, WHICH_PARTY)
    assert r[2].excluded == ("Helsepartiet", "Venstre") and r[2].nobody_else(("Helsepartiet", "Venstre"))
    assert r[2].note() == "Interpreted as: «What do the parties say about LAR?» (other than Helsepartiet and Venstre)"
    r = talk(three, "Hva vil Fjordpartiet gjøre med vold i nære relasjoner?", "og Nordlyspartiet?", "noen andre?")
    assert not r[2].nobody_else(("Fjordpartiet", "Nordlyspartiet", "Samholdspartiet"))
    assert not r[1].nobody_else(("Fjordpartiet", "Nordlyspartiet", "Samholdspartiet"))  # nobody excluded


def test_who_else_with_nobody_in_play_asks_every_party(three):
    # the previous answer showed nobody (shown={1: ()}): "who else?" is every party on the topic, not «Who else loneliness?»
    r = talk(three, "Which party wants more home care?", "and loneliness?", "who else?", shown={0: (), 1: ()})
    assert brief(r[2]) == ("What do the parties say about loneliness?", (), True, WHICH_PARTY)
    assert r[2].excluded == () and not r[2].nobody_else(("Fjordpartiet", "Nordlyspartiet", "Samholdspartiet"))


def test_which_party_with_only_words_of_degree_is_on_the_previous_topic(two):
    r = talk(two, "What age limit for social media do the parties want?", "who wants the highest?")
    assert brief(r[1]) == ("Who wants the highest (age limit for social media)?", (), True, WHICH_PARTY)
    r = talk(two, "Hvordan vil partiene regulere pensjonene?", "hvem vil beholde dagens ordning?")
    assert brief(r[1]) == ("Hvem vil beholde dagens ordning (regulere pensjonene)?", (), True, WHICH_PARTY)
    r = talk(two, "What do the parties say about nuclear power?", "which one goes furthest?", "and Venstre?")
    assert brief(r[1]) == ("Which one goes furthest (nuclear power)?", (), True, WHICH_PARTY)
    assert brief(r[2]) == ("What does Venstre say about nuclear power?", ("Venstre",), True, PARTY_SWAP)


def test_a_party_asked_if_it_has_anything_on_this_is_a_party_swap(two):
    r = talk(two, "Which party wants mobile coverage at sea?", "does the Health Party have anything on this?")
    assert brief(r[1]) == ("What does Helsepartiet say about mobile coverage at sea?", ("Helsepartiet",), True, PARTY_SWAP)


def test_instead_and_else_are_not_a_topic(two):
    r = talk(two, "Hva mener Venstre om fastpris på strøm?", "hva vil de i stedet?")
    assert brief(r[1]) == ("Hva mener Venstre om fastpris på strøm?", ("Venstre",), True, REFERENCE)
    r = talk(two, "what else does Venstre want on algorithms?", "and the Health Party?")
    assert brief(r[1]) == ("What does Helsepartiet want on algorithms?", ("Helsepartiet",), True, PARTY_SWAP)


# ---- "what else …?": past the passages already shown ----------------------------------------

def test_what_else_with_its_own_party_and_topic_asks_past_what_was_shown(three):
    r = talk(three, "What does the Fjord Party say about AI in the municipality?",
             "what else does the Fjord Party want on algorithms?")
    assert brief(r[1]) == ("What does the Fjord Party want on algorithms?", ("Fjordpartiet",), True, MORE)
    assert r[1].more is True and r[1].topic == "algorithms"
    assert r[1].note() == "Interpreted as: «What does the Fjord Party want on algorithms?», new passages first"
    r = talk(three, "Hvilke partier vil ha flere plasser på krisesentrene?", "hva annet vil samholdspartiet gjore med vold i familien")
    assert brief(r[1]) == ("Hva vil samholdspartiet gjore med vold i familien", ("Samholdspartiet",), True, MORE)
    assert r[1].note() == "Tolket som: «Hva vil samholdspartiet gjore med vold i familien», nye avsnitt først"
    r = talk(three, "Kva vil Nordlyspartiet med vasskrafta?", "kva meir vil Samholdspartiet med vasskrafta?")
    assert brief(r[1]) == ("Kva vil Samholdspartiet med vasskrafta?", ("Samholdspartiet",), True, MORE)
    assert r[1].note().endswith(", nye avsnitt først")


def test_a_bare_what_else_is_the_previous_question_again(two):
    r = talk(two, "Hva mener Venstre om bolig?", "hva mer?")
    assert brief(r[1]) == ("Hva mener Venstre om bolig?", ("Venstre",), True, MORE)
    assert r[1].more is True and r[1].topic == "bolig"
    r = talk(two, "What does the Health Party want for pregnant women?", "anything else?")
    assert brief(r[1]) == ("What does the Health Party want for pregnant women?", ("Helsepartiet",), True, MORE)


def test_what_else_on_a_first_turn_or_other_than_or_anyone_else_is_not_more(two, three):
    r = talk(two, "What else does Venstre want on LAR?")
    assert brief(r[0]) == ("What else does Venstre want on LAR?", ("Venstre",), False, STANDALONE) and not r[0].more
    r = talk(two, "Hva mener Venstre om bolig?", "hva annet enn bostøtte vil Helsepartiet ha?")
    assert r[1].more is False and r[1].kind == STANDALONE
    r = talk(three, "Hva vil Fjordpartiet gjøre med vold i nære relasjoner?", "noen andre?")
    assert r[1].more is False and r[1].excluded == ("Fjordpartiet",)


def test_a_party_swap_after_what_else_is_not_more(two):
    r = talk(two, "Hva vil Venstre med avrusning?", "hva mer vil de gjøre med LAR?", "og Helsepartiet?")
    assert brief(r[2]) == ("Hva vil Helsepartiet gjøre med LAR?", ("Helsepartiet",), True, PARTY_SWAP)
    assert r[2].more is False


# ---- which party, carried on by "da" / "then" / "i stedet" ---------------------------------

def test_which_party_ending_in_da_or_instead_is_on_the_previous_topic(three):
    r = talk(three, "ok, ukraina – hva vil Fjordpartiet der?", "hvem vil sende våpen da?", "og Nordlyspartiet?")
    assert brief(r[1]) == ("Hvem vil sende våpen (ukraina)?", (), True, WHICH_PARTY)
    assert brief(r[2]) == ("Hva mener Nordlyspartiet om å sende våpen (ukraina)?", ("Nordlyspartiet",), True, PARTY_SWAP)
    r = talk(three, "verneplikt – hva vil Samholdspartiet", "noen som vil ha flere inn til førstegangstjeneste i stedet?")
    assert brief(r[1]) == ("Noen som vil ha flere inn til førstegangstjeneste (verneplikt)?", (), True, WHICH_PARTY)
    r = talk(three, "What does the Fjord Party say about wind power?", "who wants gas plants instead?")
    assert brief(r[1]) == ("Who wants gas plants (wind power)?", (), True, WHICH_PARTY)


def test_which_party_on_its_own_topic_without_da_stands_as_asked(two, three):
    r = talk(two, "Venstre og LAR", "Hvem vil avkriminalisere narkotika?")
    assert brief(r[1]) == ("Hvem vil avkriminalisere narkotika?", (), False, STANDALONE)
    r = talk(three, "Who wants tougher sentences?", "who wants longer sentences then?")  # the same topic: as asked
    assert brief(r[1]) == ("who wants longer sentences then?", (), False, STANDALONE)


def test_compare_with_the_others_includes_the_party_in_play(three):
    r = talk(three, "What does the Fjord Party say about AI in the municipality?", "do the others agree on automated decisions?")
    assert r[1].kind == COMPARE and r[1].compare == ("Fjordpartiet", "Nordlyspartiet", "Samholdspartiet")


def test_a_follow_up_without_a_topic_is_framed_in_the_language_of_the_topic_it_takes(two):
    r = talk(two, "What do the parties say about housing?", "og Helsepartiet?")
    assert brief(r[1]) == ("What does Helsepartiet say about housing?", ("Helsepartiet",), True, PARTY_SWAP)
    assert r[1].note() == "Interpreted as: «What does Helsepartiet say about housing?»"
    r = talk(two, "Hva mener Venstre om bolig?", "and the Health Party?")  # a Norwegian topic in English reads well
    assert brief(r[1]) == ("What does Helsepartiet say about bolig?", ("Helsepartiet",), True, PARTY_SWAP)


def test_a_misspelt_party_name_is_a_party_swap(three):
    r = talk(three, "Hva vil Fjordpartiet gjøre med bevæpning av politiet?", "og samholdspatiet?")
    assert brief(r[1]) == ("Hva vil Samholdspartiet gjøre med bevæpning av politiet?", ("Samholdspartiet",), True, PARTY_SWAP)


def test_which_of_them_is_still_a_reference(two):
    r = talk(two, "Hvem vil ha sprøyterom?", "hvem av dem vil ha flere?", shown={0: ("Venstre",)})
    assert brief(r[1]) == ("Hva mener Venstre om sprøyterom?", ("Venstre",), True, REFERENCE)


# ---- compare ----------------------------------------------------------------------------

def test_nynorsk_compare_words(two):
    r = talk(two, "Kva meiner Venstre om oljefondet?", "og Helsepartiet?", "er dei samde?")
    assert brief(r[2]) == ("Kva meiner Venstre og Helsepartiet om oljefondet?", ("Venstre", "Helsepartiet"), True, COMPARE)
    assert talk(two, "Kva meiner Venstre om oljefondet?", "og Helsepartiet?", "kvifor er dei usamde?")[2].kind == COMPARE


def test_compare_the_parties_in_play(two):
    r = talk(two, "Hva mener Venstre om bolig?", "Og Helsepartiet?", "Er de enige?")
    assert brief(r[2]) == ("Hva mener Venstre og Helsepartiet om bolig?", ("Venstre", "Helsepartiet"), True, COMPARE)
    assert r[2].compare == ("Venstre", "Helsepartiet")
    r = talk(two, "Hva mener Venstre om bolig?", "Og Helsepartiet?", "Hva er forskjellen?")
    assert r[2].kind == COMPARE and r[2].compare == ("Venstre", "Helsepartiet")


def test_compare_from_the_parties_shown(three):
    r = talk(three, "Who supports local newspapers?", "Do they agree?",
             shown={0: ("Nordlyspartiet", "Samholdspartiet")})
    assert brief(r[1]) == ("What do Nordlyspartiet and Samholdspartiet say about local newspapers?",
                           ("Nordlyspartiet", "Samholdspartiet"), True, COMPARE)


def test_compare_with_a_party_named(three):
    r = talk(three, "Fjordpartiet norskopplæring", "er Samholdspartiet enig?")
    assert r[1].kind == COMPARE and r[1].compare == ("Samholdspartiet", "Fjordpartiet")
    # keywords ("Fjordpartiet norskopplæring") get the frame, not the names swapped into the keywords
    assert r[1].interpreted == "Hva mener Samholdspartiet og Fjordpartiet om norskopplæring?"


def test_a_complete_compare_question_uses_no_context(two):
    r = talk(two, "Hva mener Venstre om bolig?", "Er partiene enige om LAR?")
    assert brief(r[1]) == ("Er partiene enige om LAR?", (), False, COMPARE)
    assert r[1].compare == ("Helsepartiet", "Venstre")


# ---- a complete question starts afresh -------------------------------------------------

STANDALONE_QUESTIONS = [
    "Hvem vil avkriminalisere narkotika?", "Who wants more detox places?", "Hva mener partiene om sprøyterom?",
    "Hva vil Helsepartiet med bolig?", "What does the Health Party want for heroin?", "LAR", "sprøyterom oslo",
    "Hva mener de fleste partiene om rus?", "Which party wants medicines for addicts with ordinary illness?",
    "Hvilket parti vil ha fast rente i ti år?", "Venstre om alkohol og gravide", "Hva med Venstre og LAR?",
    "Er Venstre og Helsepartiet enige om LAR?", "Hvem vil styrke ettervernet?",
    "Which party wants to shield bloggers who are persecuted for their writing?",
    "Hvem vil bygge flere omsorgsboliger og betale for det?", "Hvem vil la rusavhengige beholde dem?",
    "Hvem vil ha flere sykehjemsplasser?", "Who wants the highest minimum wage?", "Noen som vil ha sprøyterom?",
    "Hvilke partier vil beholde dagens ordning med fastlege?",
]


@pytest.mark.parametrize("question", STANDALONE_QUESTIONS)
@pytest.mark.parametrize("before", ["Hva mener Venstre om bolig?", "What does the Health Party say about LAR?"])
def test_a_standalone_question_is_never_rewritten(two, before, question):
    history = [two.context(two.read(before), ("Venstre",))]
    alone = two.read(question)
    after = two.read(question, history)
    assert after.context_used is False
    assert (after.interpreted, after.parties) == (alone.interpreted, alone.parties)
    assert after.interpreted == " ".join(question.split())


def test_literal_reading(two):
    history = [two.context(two.read("Hva mener Venstre om bolig?"), ("Venstre",))]
    assert two.read("Og Helsepartiet?", history).context_used is True
    r = two.literal("Og Helsepartiet?")
    assert brief(r) == ("Og Helsepartiet?", ("Helsepartiet",), False, LITERAL)
    assert r.note() is None


def test_reading_is_json_ready(two):
    r = talk(two, "Hva mener Venstre om bolig?", "Og Helsepartiet?")[1]
    data = json.loads(json.dumps(r.to_dict()))
    assert data["interpreted"] == "Hva mener Helsepartiet om bolig?" and data["kind"] == "party_swap"


# ---- the conversation over a bot (fake embedder) -------------------------------------------

def test_conversation_answers_the_swapped_party_only(fake_bot):
    conv = Conversation()
    first = take_turn(fake_bot, conv, "Hva mener Venstre om bolig?")
    second = take_turn(fake_bot, conv, "Og Helsepartiet?")
    assert first.reading.context_used is False
    assert second.reading.interpreted == "Hva mener Helsepartiet om bolig?"
    assert second.answer.parties == ("Helsepartiet",)
    assert second.answer.answered and {h.passage.party for h in second.answer.hits} == {"Helsepartiet"}
    data = second.to_dict(fake_bot.catalog.by_source())
    assert data["interpreted"] == "Hva mener Helsepartiet om bolig?" and data["context_used"] is True
    assert data["question"] == "Og Helsepartiet?"
    assert len(conv) == 2 and len(conv.contexts) == 2


def test_a_party_without_the_topic_gets_its_own_notice(fake_bot):
    conv = Conversation()
    take_turn(fake_bot, conv, "Hva vil Helsepartiet med sprøyterom?")
    turn = take_turn(fake_bot, conv, "og Venstre?")
    assert turn.reading.interpreted == "Hva vil Venstre med sprøyterom?"
    if turn.answer.answered:  # never the other party's passages as if they were Venstre's
        assert {h.passage.party for h in turn.answer.hits} == {"Venstre"}
    else:
        assert turn.answer.notice.startswith("Fant ingen relevante avsnitt fra Venstre om dette i kildene.")


def test_compare_turn_asks_each_party(fake_bot):
    conv = Conversation()
    take_turn(fake_bot, conv, "Hva mener Venstre om bolig?")
    take_turn(fake_bot, conv, "Og Helsepartiet?")
    turn = take_turn(fake_bot, conv, "Er de enige?")
    assert turn.reading.kind == COMPARE
    assert set(turn.by_party) == {"Venstre", "Helsepartiet"}
    for party, answer in turn.by_party.items():
        assert all(h.passage.party == party for h in answer.hits)
    data = turn.to_dict(fake_bot.catalog.by_source())
    assert set(data["compare"]) == {"Venstre", "Helsepartiet"} and data["rule"] == "compare"


def test_what_else_puts_the_passages_not_shown_yet_first(fake_bot):
    conv = Conversation()
    first = take_turn(fake_bot, conv, "Hva mener Venstre om bolig?")
    seen = [h.passage.id for h in first.answer.hits][:5]
    assert conv.contexts[0].seen == tuple(seen) and seen
    turn = take_turn(fake_bot, conv, "hva mer vil Venstre gjøre med bolig?")
    assert turn.reading.more is True and turn.reading.interpreted == "Hva vil Venstre gjøre med bolig?"
    wider = fake_bot.ask("Hva vil Venstre gjøre med bolig?", k=5 + len(seen))
    ids = [h.passage.id for h in wider.hits]
    expected = ([i for i in ids if i not in seen] + [i for i in ids if i in seen])[:5]
    assert [h.passage.id for h in turn.answer.hits] == expected
    assert [h.rank for h in turn.answer.hits] == list(range(1, len(expected) + 1))


def test_what_else_when_everything_was_shown_says_so_and_shows_them_again(fake_bot):
    from chatbot.chat import _beyond

    answer = fake_bot.ask("Hva mener Venstre om bolig?", k=5)
    assert answer.answered and len(answer.hits) >= 2
    ids = [h.passage.id for h in answer.hits]
    out = _beyond(answer, frozenset(ids), 5)
    assert out.answered and [h.passage.id for h in out.hits] == ids
    assert out.notice.startswith("Fant ingen flere avsnitt om dette enn dem som alt er vist; her er de igjen.")
    out = _beyond(answer, frozenset(ids[:1]), 5)
    assert [h.passage.id for h in out.hits] == ids[1:] + ids[:1]
    assert [h.rank for h in out.hits] == list(range(1, len(ids) + 1)) and out.notice == answer.notice


def test_replay_keeps_the_passages_an_api_caller_was_shown(fake_bot):
    from chatbot.chat import replay

    first = take_turn(fake_bot, Conversation(), "Hva mener Venstre om bolig?").to_dict(fake_bot.catalog.by_source())
    conv = replay(fake_bot, [first])
    assert conv.contexts[0].seen == tuple(p["id"] for p in first["passages"][:5])


def test_the_rules_cost_well_under_the_answer(fake_bot):
    conv = Conversation()
    take_turn(fake_bot, conv, "Hva mener Venstre om bolig?")  # loads the word lists once
    turns = [take_turn(fake_bot, conv, q) for q in ("Og Helsepartiet?", "Er de enige?", "og om ettervern?")]
    assert max(t.rules_ms for t in turns) < 20


# ---- the web chat: a conversation per browser session -----------------------------------

def test_web_handler_keeps_and_clears_the_conversation(fake_bot):
    from chatbot.web.webui import WebHandlers

    h = WebHandlers(fake_bot)
    html1, conv, r1 = h.conversation_turn("Hva mener Venstre om bolig?", None, None)
    html2, conv, r2 = h.conversation_turn("Og Helsepartiet?", None, conv)
    assert r1.context_used is False and "Tolket som" not in html1
    assert r2.interpreted == "Hva mener Helsepartiet om bolig?"
    assert "Tolket som: «Hva mener Helsepartiet om bolig?»" in html2
    assert len(conv) == 2
    other, fresh, r3 = h.conversation_turn("Og Helsepartiet?", None, None)  # another session: no history
    assert r3.context_used is False and len(fresh) == 1
    _, conv, r4 = h.conversation_turn("Og Helsepartiet?", None, conv, literal=True)
    assert r4.kind == LITERAL and r4.context_used is False


def test_web_page_clear_button_empties_the_session_conversation(fake_bot):
    import gradio as gr

    from chatbot.web.webui import build_ui

    demo = build_ui(fake_bot)
    states = [b for b in demo.blocks.values() if isinstance(b, gr.State)]
    conversation_state = next(s for s in states if s.value is None)
    ask = clear = None
    for fn in demo.fns.values():
        outs = [o._id for o in fn.outputs]
        if conversation_state._id not in outs:
            continue
        if not fn.inputs:
            clear = fn.fn
        elif len(fn.inputs) == 5:
            ask = fn.fn
    assert ask is not None and clear is not None
    _, turns, _, last, conv, _ = ask("Hva mener Venstre om bolig?", None, [], "", None)
    _, turns, _, last, conv, button = ask("Og Helsepartiet?", None, turns, last, conv)
    assert len(turns) == 2 and len(conv) == 2 and last == "Hva mener Helsepartiet om bolig?"
    assert button.visible is True  # the one click to search the words as typed
    transcript, turns, last, conv, button = clear()
    assert turns == [] and conv is None and last == ""
    _, turns, _, last, conv, _ = ask("Og Helsepartiet?", None, turns, last, conv)
    assert conv.turns[-1].reading.context_used is False


def test_api_chat_takes_the_history(fake_bot):
    from chatbot.web.webui import WebHandlers

    h = WebHandlers(fake_bot)
    first = h.api_chat("Hva mener Venstre om bolig?")
    second = h.api_chat("Og Helsepartiet?", first["history"])
    assert second["interpreted"] == "Hva mener Helsepartiet om bolig?" and second["context_used"] is True
    assert [x["question"] for x in second["history"]] == ["Hva mener Venstre om bolig?", "Og Helsepartiet?"]
    as_text = h.api_chat("Og Helsepartiet?", ["Hva mener Venstre om bolig?"])
    assert as_text["interpreted"] == "Hva mener Helsepartiet om bolig?"
    alone = h.api_chat("Og Helsepartiet?")
    assert alone["context_used"] is False and alone["interpreted"] == "Og Helsepartiet?"


# ---- the conversation evaluation ---------------------------------------------------------

DIALOGUES = [
    {"id": "x1", "corpus": "rusomsorg", "turns": [
        {"q": "Hva mener Venstre om bolig?", "followup": False, "standalone": "Hva mener Venstre om bolig?",
         "answerable": True, "gold": [{"party": "Venstre", "quote": "at det opprettes flere bemannede boliger i forkant og etterkant av behandling"}]},
        {"q": "Og Helsepartiet?", "followup": True, "standalone": "Hva mener Helsepartiet om bolig?", "answerable": True,
         "gold": [{"party": "Helsepartiet", "quote": "få hjelp til å skaffe seg fast bolig, et sosialt nettverk og til å oppleve mestring og mening"},
                  {"party": "Helsepartiet", "quote": "Å ha egen bolig, og en akseptabel boevne, er en svært viktig del av rehabiliteringen for rusavhengige"},
                  {"party": "Helsepartiet", "quote": "Arbeide for at ingen skal være bostedsløse i Norge."}]},
        {"q": "Hvem vil avkriminalisere narkotika?", "followup": False, "standalone": "Hvem vil avkriminalisere narkotika?",
         "answerable": True, "gold": [{"party": "Helsepartiet", "quote": "Helsepartiet vil gjennom å avkriminalisere bruk og besittelse av ulovlige rusmidler"}]}]},
]


def _eval_args(path, **floors):
    import argparse

    base = dict(conversations=path, k=5, mode="hybrid", json=True, model=None, backend=None)
    from chatbot.evaluation.conversations import FLOORS
    from chatbot.evaluation.runner import FLOORS as USUAL

    base.update({f[0]: None for f in FLOORS})
    base.update({f[0]: None for f in USUAL})
    base.update(floors)
    return argparse.Namespace(**base)


def test_conversation_evaluation_figures_and_floors(fake_bot, tmp_path):
    import io

    from chatbot.evaluation.runner import run_cli

    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in DIALOGUES) + "\n", encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert run_cli(_eval_args(path), bot=fake_bot, out=out, err=err) == 0
    data = json.loads(out.getvalue())
    assert data["rules"]["recognised"] == 1.0 and data["rules"]["wrongly_rewritten"] == 0.0
    assert data["rules"]["n_followup"] == 1 and data["rules"]["n_standalone"] == 2
    assert data["followup"]["n_questions"] == 1 and data["standalone"]["n_questions"] == 2
    assert data["followup"]["success@1"] == 1.0 and data["followup_alone"]["success@1"] == 0.0
    assert [t["interpreted"] for t in data["turns_detail"]] == [
        "Hva mener Venstre om bolig?", "Hva mener Helsepartiet om bolig?", "Hvem vil avkriminalisere narkotika?"]
    out, err = io.StringIO(), io.StringIO()
    assert run_cli(_eval_args(path, max_rewritten=-0.1, min_followup_success1=1.01), bot=fake_bot, out=out, err=err) == 1
    assert "wrongly_rewritten 0.000 is above the ceiling --max-rewritten -0.1" in err.getvalue()
    assert "followup success@1 1.000 is below the floor --min-followup-success1 1.01" in err.getvalue()


def test_misses_on_a_sealed_collection_are_hidden_unless_asked(fake_bot, tmp_path):
    """A first look at a sealed dialogue set stays blind: figures, but no misses, unless --show-misses."""
    import io

    from chatbot.evaluation.runner import run_cli

    sealed = json.loads(json.dumps(DIALOGUES[0]))
    sealed["id"], sealed["corpus"] = "s1", "digital"  # a sealed collection (the fake bot answers it)
    sealed["turns"][1]["gold"] = sealed["turns"][0]["gold"]  # Venstre's passage for a Helsepartiet turn: a miss
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(DIALOGUES[0], ensure_ascii=False) + "\n" + json.dumps(sealed, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    out = io.StringIO()
    assert run_cli(_eval_args(path, json=False), bot=fake_bot, out=out, err=io.StringIO()) == 0
    assert "s1#2" not in out.getvalue() and "\nmisses:" not in out.getvalue()
    assert out.getvalue().rstrip().endswith("1 misses on sealed collections or dialogues are not shown (--show-misses "
                                            "prints them; once read, that set is development data)")
    out = io.StringIO()
    assert run_cli(_eval_args(path), bot=fake_bot, out=out, err=io.StringIO()) == 0
    data = json.loads(out.getvalue())
    assert data["misses"] == [] and data["misses_hidden"] == 1
    assert [t["id"] for t in data["turns_detail"]] == ["x1#1", "x1#2", "x1#3"]
    out = io.StringIO()
    assert run_cli(_eval_args(path, json=False, show_misses=True), bot=fake_bot, out=out, err=io.StringIO()) == 0
    assert "misses:\n  s1#2 [party_swap]: «Og Helsepartiet?» -> «Hva mener Helsepartiet om bolig?»" in out.getvalue()
    assert "not shown" not in out.getvalue()


def test_misses_of_a_dialogue_marked_sealed_are_hidden_on_any_collection(fake_bot, tmp_path):
    """"sealed": true keeps a blind dialogue's misses hidden though its collection is a development one."""
    import io

    from chatbot.evaluation.runner import run_cli

    blind = json.loads(json.dumps(DIALOGUES[0]))
    blind["id"], blind["sealed"] = "b1", True
    blind["turns"][1]["gold"] = blind["turns"][0]["gold"]  # a miss, on the shipped (not sealed) collection
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(blind, ensure_ascii=False) + "\n", encoding="utf-8")
    out = io.StringIO()
    assert run_cli(_eval_args(path), bot=fake_bot, out=out, err=io.StringIO()) == 0
    data = json.loads(out.getvalue())
    assert data["misses"] == [] and data["misses_hidden"] == 1 and data["turns_detail"] == []
    blind.pop("sealed")
    path.write_text(json.dumps(blind, ensure_ascii=False) + "\n", encoding="utf-8")
    out = io.StringIO()
    assert run_cli(_eval_args(path), bot=fake_bot, out=out, err=io.StringIO()) == 0
    assert [m["id"] for m in json.loads(out.getvalue())["misses"]] == ["b1#2"]


def test_sealed_must_be_true_or_false(tmp_path):
    from chatbot.evaluation.conversations import DialoguesFileError, parse_dialogue

    line = json.dumps({**DIALOGUES[0], "sealed": "yes"})
    with pytest.raises(DialoguesFileError, match='"sealed" must be true or false'):
        parse_dialogue(line)


def _check_dialogue_files(names: tuple[str, ...], sealed: bool | None) -> int:
    """Every dialogue of ``names`` (eval/conversations/) is well formed and quotes its collection; its count.
    ``sealed``: whether every collection must be sealed (None: a mix)."""
    from chatbot.catalog import load_catalog, read_source
    from chatbot.evaluation import corpora
    from chatbot.evaluation.conversations import load_dialogues

    collections = {c.name: c for c in corpora.select("all")}
    total = 0
    for name in names:
        dialogues = load_dialogues(ROOT / "eval" / "conversations" / name)
        total += len(dialogues)
        for d in dialogues:
            assert d.corpus in collections and (sealed is None or collections[d.corpus].sealed is sealed)
            assert 2 <= len(d.turns) <= 4 and d.turns[0].followup is False
            cat = load_catalog(collections[d.corpus].sources)
            texts: dict[str, str] = {}
            for doc in cat.documents:
                texts[doc.party] = texts.get(doc.party, "") + read_source(cat.root / doc.source)
            for t in d.turns:
                assert t.answerable == bool(t.gold)
                for g in t.gold:
                    assert g.quote in texts[g.party], (d.id, g)
    return total


def test_shipped_dialogue_files_are_valid_and_quote_the_sources():
    assert _check_dialogue_files(("test.jsonl", "dev.jsonl", "familie.jsonl"), sealed=False) >= 56


def test_sealed_dialogue_files_are_on_sealed_collections_and_quote_them():
    assert _check_dialogue_files(("utenriks.jsonl", "heldout.jsonl", "heldout2.jsonl", "demokrati.jsonl",
                                  "dyrevern.jsonl", "frivillighet.jsonl", "forbruker.jsonl"), sealed=True) >= 144


def test_mixed_dialogue_files_quote_their_collections():
    # heldout3.jsonl: four development collections (the shipped texts among them) and two sealed ones
    assert _check_dialogue_files(("heldout3.jsonl",), sealed=None) == 24
    # heldout4.jsonl: four development collections and four sealed ones
    assert _check_dialogue_files(("heldout4.jsonl",), sealed=None) == 24


@pytest.mark.model
def test_conversation_evaluation_with_the_real_model(tmp_path):
    from chatbot.evaluation.conversations import load_dialogues, run_dialogue
    from chatbot.service import Chatbot

    bot = Chatbot.open(sources_dir=ROOT / "sources", index_dir=tmp_path / "index", progress=None)
    dialogues = [d for d in load_dialogues(ROOT / "eval" / "conversations" / "dev.jsonl") if d.corpus == "rusomsorg"][:4]
    results = [r for d in dialogues for r in run_dialogue(bot, d)]
    follow = [r for r in results if r.turn.followup]
    assert follow and all(r.context_used for r in follow)
    assert not any(r.context_used for r in results if not r.turn.followup)
    first_hits = [bool(r.chat.returned and r.chat.returned[0].relevant) for r in follow if r.turn.answerable]
    alone_hits = [bool(r.alone.returned and r.alone.returned[0].relevant) for r in follow if r.turn.answerable]
    assert sum(first_hits) > sum(alone_hits)
    assert results[1].interpreted == "Hva mener Helsepartiet om bolig?"
    assert results[1].chat.answered and all(x.party == "Helsepartiet" for x in results[1].chat.returned)


def test_nynorsk_follow_up_stays_nynorsk(three):
    r = talk(three, "Kva meiner Nordlyspartiet om retur?", "og Fjordpartiet?")
    assert brief(r[1]) == ("Kva meiner Fjordpartiet om retur?", ("Fjordpartiet",), True, PARTY_SWAP)
    assert r[1].language == "nn"


def test_hostile_turns_after_a_context_turn_never_fail(fake_bot):
    rows = [json.loads(line) for line in (ROOT / "tests" / "hostile_questions.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]
    for row in rows:
        conv = Conversation()
        take_turn(fake_bot, conv, "Hva mener Venstre om bolig?")
        turn = take_turn(fake_bot, conv, row["q"])
        assert isinstance(turn.reading.interpreted, str)
        assert turn.answer.answered or turn.answer.notice


# ---- the page in a real headless Chromium (as tests/web/test_browser.py) ----------------------

CHROMIUM = "/usr/bin/chromium"


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing")
@pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated")
@pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")
def test_page_follow_up_literal_click_and_clear(fake_bot):
    import socket

    sync_api = pytest.importorskip("playwright.sync_api")
    from chatbot.web.server import launch

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo, url = launch(fake_bot, host="127.0.0.1", port=port, prevent_thread_lock=True, quiet=True)
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url)
            page.wait_for_selector("#question textarea")

            def ask(q):
                n = page.locator("#transcript .turn").count()
                page.fill("#question textarea", q)
                page.click("#ask")
                page.wait_for_function(f"document.querySelectorAll('#transcript .turn').length > {n}")
                return page.locator("#transcript .turn").last

            ask("Hva mener Venstre om bolig?")
            assert not page.locator("#literal").is_visible()
            turn = ask("Og Helsepartiet?")
            assert turn.locator(".interpreted-note").inner_text() == "Tolket som: «Hva mener Helsepartiet om bolig?»"
            assert set(turn.locator(".card").evaluate_all("els => els.map(e => e.dataset.party)")) == {"Helsepartiet"}
            page.wait_for_selector("#literal", state="visible")
            assert page.locator("#literal").inner_text() == "Søk på ordene slik de står: «Og Helsepartiet?»"
            page.click("#literal")
            page.wait_for_selector("#literal", state="hidden")
            page.wait_for_function("!document.querySelector('#transcript .turn:last-child .interpreted-note')")
            assert page.locator("#transcript .turn").count() == 2  # the literal search replaces the reading
            page.click("#clear")
            page.wait_for_function("document.querySelectorAll('#transcript .turn').length === 0")
            turn = ask("Og Helsepartiet?")
            assert turn.locator(".interpreted-note").count() == 0  # a new conversation: nothing to refer to
            browser.close()
    finally:
        demo.close()


def test_the_same_with_a_pronoun_is_a_compare_request(two):
    r = talk(two, "Hva mener Venstre om bolig?", "Og Helsepartiet?", "Mener de det samme?")
    assert r[2].kind == COMPARE and r[2].compare == ("Venstre", "Helsepartiet")
    r = talk(two, "Hva mener Venstre om bolig?", "same for the Health Party?")
    assert r[1].kind == PARTY_SWAP and r[1].parties == ("Helsepartiet",)


def test_dialogues_on_a_sealed_collection_need_include_sealed(monkeypatch, tmp_path):
    from chatbot.errors import ChatbotError
    from chatbot.evaluation import conversations, crosscorpus
    from chatbot.evaluation.options import EvalOptions
    from chatbot.models import factory
    from chatbot.models.fake import FakeEmbedder

    monkeypatch.setattr(factory, "make_embedder", lambda model=None, **_: FakeEmbedder())
    monkeypatch.setattr(crosscorpus, "index_dir_for", lambda corpus, cache, model_id: tmp_path / corpus.name)
    with pytest.raises(ChatbotError, match="collection digital is sealed: its dialogues are run only with --include-sealed"):
        conversations._open("digital", EvalOptions(conversations=Path("d.jsonl")), {})
    bot = conversations._open("digital", EvalOptions(conversations=Path("d.jsonl"), include_sealed=True), {})
    assert sorted(bot.answerer.index.parties) == ["Bylista", "Fjordpartiet", "Fyrpartiet", "Kløverlista"]


def test_different_with_a_pronoun_is_a_compare_request(two):
    r = talk(two, "What does Venstre say about LAR?", "and the Health Party?", "how are their plans different?")
    assert r[2].kind == COMPARE and r[2].compare == ("Venstre", "Helsepartiet")
    r = talk(two, "What does Venstre say about LAR?", "what different measures do they propose for housing?")
    assert r[1].kind == COMPARE  # "different" with a pronoun: side by side for the parties in play
    r = talk(two, "Which different measures does Venstre propose for housing?")
    assert r[0].kind == STANDALONE  # a first turn is never a compare of one party


def test_a_verb_topic_reads_as_one_after_the_frame(two):
    r = talk(two, "Which parties would give more money to drug users?", "what about the Health Party?")
    assert brief(r[1]) == ("What does Helsepartiet say about giving more money to drug users?", ("Helsepartiet",), True,
                           PARTY_SWAP)
    r = talk(two, "Hvilke partier bør satse mer på ettervern?", "og Venstre?")
    assert r[1].interpreted == "Hva mener Venstre om å satse mer på ettervern?"


def test_an_interjection_before_the_opening_keeps_the_follow_up(two):
    r = talk(two, "Hva mener Venstre om bolig?", "ok, og ettervern?")
    assert brief(r[1]) == ("Hva mener Venstre om ettervern?", ("Venstre",), True, TOPIC_SWAP)
    r = talk(two, "What does Venstre say about LAR?", "ok what do they say about housing then")
    assert r[1].interpreted == "What does Venstre say about housing then"  # no "Ok" left in front


def test_something_similar_is_the_previous_topic(two):
    r = talk(two, "What does Venstre say about LAR?", "does the other party have something similar?")
    assert brief(r[1]) == ("What does Helsepartiet say about LAR?", ("Helsepartiet",), True, PARTY_SWAP)
    r = talk(two, "Hva mener Venstre om LAR?", "har Helsepartiet noe lignende?")
    assert brief(r[1]) == ("Hva mener Helsepartiet om LAR?", ("Helsepartiet",), True, PARTY_SWAP)


def test_an_english_pronoun_for_the_topic_gets_the_whole_compound(two):
    r = talk(two, "Which parties want a legal minimum wage?", "anyone against it?")
    assert brief(r[1]) == ("Anyone against legal minimum wage?", (), True, WHICH_PARTY)
    r = talk(two, "Hvilke partier vil beholde kontantstøtten?", "hvem vil fjerne den?")
    assert r[1].interpreted == "Hvem vil fjerne kontantstøtten?"  # Norwegian compounds are one word already


def test_against_drops_the_previous_topics_stance_verb(two):
    r = talk(two, "Hvem vil tillate sprøyterom?", "og hvem er imot?")
    assert brief(r[1]) == ("Hvem er imot sprøyterom?", (), True, WHICH_PARTY)
    r = talk(two, "Hvem vil tillate sprøyterom?", "hvem vil forby det?")
    assert r[1].interpreted == "Hvem vil forby sprøyterom?"  # a pronoun for the topic: its rarest word, as before


def test_a_pronoun_for_the_topic_when_nobody_answered_asks_every_party(two):
    r = talk(two, "Which parties back cash-for-care?", "vil de øke den?", "and the Health Party?", shown={0: ()})
    assert brief(r[1]) == ("Vil partiene øke cash-for-care?", (), True, REFERENCE)  # "back" frames, it is not the topic
    assert brief(r[2]) == ("What does Helsepartiet say about cash-for-care?", ("Helsepartiet",), True, PARTY_SWAP)


def test_them_in_a_short_which_party_turn_is_the_previous_topic(two):
    r = talk(two, "Hva mener Venstre om lavterskeltilbud?", "noen som vil styrke dem?")
    assert brief(r[1]) == ("Noen som vil styrke lavterskeltilbud?", (), True, WHICH_PARTY)


def test_is_there_a_party_asks_which_party(two):
    r = talk(two, "Er det noe parti som vil ha brukerrom?", "hva mer vil de gjøre?", shown={0: ("Helsepartiet", "Venstre")})
    assert r[1].parties == ("Helsepartiet",)  # "de" is the party that answered first, as after "Hvem vil …?"


def test_a_clause_topic_keeps_its_opening_word_and_runs_to_its_end(three):
    r = talk(three, "Hvem vil at politiet skal bære våpen hele tiden?", "og Fjordpartiet?")
    assert brief(r[1]) == ("Hva mener Fjordpartiet om at politiet skal bære våpen hele tiden?", ("Fjordpartiet",), True,
                           PARTY_SWAP)
    r = talk(three, "Kven vil gje folk rett på plass på sjukeheim?", "og at ektefellen får flytte inn saman med ein?",
             shown={0: ()})
    assert r[1].interpreted == "Kva meiner partia om at ektefellen får flytte inn saman med ein?"
    r = talk(three, "kva meiner partia om verneplikt?", "kva med dei som nektar militærteneste?")
    assert r[1].interpreted == "Kva meiner partia om dei som nektar militærteneste?"


def test_a_verb_topic_gets_the_infinitive_mark_or_the_gerund(two):
    r = talk(two, "Hvem vil tillate sprøyterom?", "og Venstre?")
    assert r[1].interpreted == "Hva mener Venstre om å tillate sprøyterom?"
    r = talk(two, "Which parties want to ban smoking rooms?", "and Venstre?")
    assert r[1].interpreted == "What does Venstre say about banning smoking rooms?"
    r = talk(two, "Who would make treatment free?", "and Venstre?")
    assert r[1].interpreted == "What does Venstre say about making treatment free?"
    r = talk(two, "Hvem vil avkriminalisere narkotika?", "why not?", shown={0: ()})  # an English frame: no "å"
    assert r[1].interpreted == "What reasons do the parties give for avkriminalisere narkotika?"
    r = talk(two, "Hvem vil ha flere behandlingsplasser?", "og Venstre?")  # "ha" is no content word: no "å"
    assert r[1].interpreted == "Hva mener Venstre om flere behandlingsplasser?"


def test_them_who_is_people_not_the_parties(two):
    r = talk(two, "Hva mener Venstre om skatt?", "og fradrag for dem som jobber etter 67?")
    assert brief(r[1]) == ("Hva mener Venstre om fradrag for dem som jobber etter 67?", ("Venstre",), True, TOPIC_SWAP)
    r = talk(two, "What does Venstre say about tax?", "and relief for those who work past 67?")
    assert r[1].parties == ("Venstre",) and "those who work past 67" in r[1].interpreted


def test_gerund():
    from chatbot.followup import _gerund

    assert [_gerund(v) for v in ("make", "ban", "cut", "see", "tax", "give", "lie", "open", "decriminalise")] == [
        "making", "banning", "cutting", "seeing", "taxing", "giving", "lying", "opening", "decriminalising"]


def test_a_pronoun_after_a_question_nobody_answered_becomes_the_parties(two):
    r = talk(two, "Hvem vil beholde kontantstøtten?", "vil de øke den?", shown={0: ()})
    assert brief(r[1]) == ("Vil partiene øke kontantstøtten?", (), True, REFERENCE)
    r = talk(two, "Who wants to keep cash-for-care?", "will they raise it?", shown={0: ()})
    assert r[1].interpreted == "Will the parties raise cash-for-care?"  # not "raise keeping cash-for-care"
    r = talk(two, "What does Venstre say about housing benefit?", "who wants to raise it?")
    assert r[1].interpreted == "Who wants to raise housing benefit?"  # the English compound on both sides


@pytest.mark.parametrize("first, then, read", [
    ("venstre lar", "og helsepartiet?", "Hva mener Helsepartiet om lar?"),
    ("rus venstre", "og helsepartiet", "Hva mener Helsepartiet om rus?"),
    ("Venstres syn på bolig", "og helsepartiet?", "Helsepartiets syn på bolig"),  # a genitive swaps well
    ("Hva mener Venstre om bolig?", "og Helsepartiet?", "Hva mener Helsepartiet om bolig?"),
    ("Venstre vil styrke ettervernet", "og Helsepartiet?", "Helsepartiet vil styrke ettervernet"),  # a cue verb
])
def test_a_party_swap_after_keywords_uses_the_frame(first, then, read):
    rules = Rules(load_parties(Path(__file__).resolve().parents[1] / "sources"), ("Venstre", "Helsepartiet"))
    assert talk(rules, first, then)[1].interpreted == read
