from pathlib import Path

import pytest

from chatbot.parties import load_parties

ROOT = Path(__file__).resolve().parents[1]
PARTIES = load_parties(ROOT / "sources")


@pytest.mark.parametrize("question, parties", [
    ("What does Venstre want for LAR?", ["Venstre"]),
    ("Hva vil Venstre med LAR?", ["Venstre"]),
    ("Venstres syn på bolig", ["Venstre"]),
    ("hva mener venstre om LAR?", ["Venstre"]),
    ("What does the Liberal Party say about housing?", ["Venstre"]),
    ("Hva vil V gjøre for gravide?", ["Venstre"]),
    ("Hva mener Helsepartiet om brukerrom?", ["Helsepartiet"]),
    ("What does the Health Party want?", ["Helsepartiet"]),
    ("Hva mener Arbeiderpartiet om rus?", ["Arbeiderpartiet"]),
    ("What does FrP want for drug policy?", ["Fremskrittspartiet"]),
    ("Hva sier SV om rus?", ["Sosialistisk Venstreparti"]),
    ("Hva vil Venstre og Helsepartiet med bolig?", ["Venstre", "Helsepartiet"]),
    ("Hvilken hånd er venstre?", []),
    ("Venstre hånd eller høyre hånd?", []),
    ("Ta til venstre ved rundkjøringen", []),
    ("Hvem sitter lengst til venstre?", []),
    ("hva med heroin v", []),
    ("vil du ha rødt eller blått?", []),
])
def test_party_detection(question, parties):
    assert [m.party for m in PARTIES.find(question)] == parties


def test_mentions_carry_offsets():
    (m,) = PARTIES.find("Hva vil Helsepartiet?")
    assert (m.start, m.end, m.alias) == (8, 20, "Helsepartiet")


def test_missing_file_means_no_parties(tmp_path):
    assert load_parties(tmp_path).find("Venstre") == []


def test_aliases_found_outside_latin1_and_in_any_case():
    # the first-word shortcut applies only within Latin-1; the regex decides everywhere else
    assert [m.party for m in PARTIES.find("HVA MENER HELSEPARTIET? \U0001F600")] == ["Helsepartiet"]
    assert [m.party for m in PARTIES.find("what does the health party want — ✓")] == [m.party for m in PARTIES.find("Helsepartiet")]
    assert PARTIES.find("ingen parti her ✓") == []
