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


@pytest.mark.parametrize("question, parties", [
    ("Hva mener Helseparitet om rus?", ["Helsepartiet"]),  # two letters swapped
    ("og helsepartie?", ["Helsepartiet"]),  # one missed
    ("Hva sier Arbeiderpartiett?", ["Arbeiderpartiet"]),  # one added
    ("Hva med Arbeidepratiet?", ["Arbeiderpartiet"]),  # two slips in a long name
    ("hva med helsetilbudet?", []),
    ("Hva vil Venstr?", []),  # short names are never guessed
])
def test_misspelt_party_names(question, parties):
    assert [m.party for m in PARTIES.find(question)] == parties


def test_an_ordinary_word_is_not_taken_for_a_misspelt_name(tmp_path):
    (tmp_path / "parties.toml").write_text('[[party]]\nname = "Kommunene"\naliases = ["Kommunene"]\n', encoding="utf-8")
    directory = load_parties(tmp_path)
    assert directory.find("Hva gjør kommunen?") == []
    assert [m.party for m in directory.find("Hva vil Kommunenne?")] == ["Kommunene"]


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


@pytest.mark.parametrize("question, parties", [
    ("and venstre?", ["Venstre"]),  # the name alone, as a chat turn
    ("og venstre?", ["Venstre"]),
    ("hva med venstre", ["Venstre"]),
    ("venstre?", ["Venstre"]),
    ("kva meiner venstre om gravide?", ["Venstre"]),  # the nynorsk verb is a cue (sources/parties.toml)
    ("og til venstre?", []),
    ("hva med venstre side?", []),
])
def test_a_lower_case_ambiguous_name_alone_is_the_party(question, parties):
    assert [m.party for m in PARTIES.find(question)] == parties


@pytest.mark.parametrize("question, parties", [
    # keywords, as voters type them: a lower-case name first or last, next to a content word
    ("venstre ettervern", ["Venstre"]),
    ("høyre formuesskatt", ["Høyre"]),
    ("formuesskatt høyre", ["Høyre"]),
    ("lar venstre", ["Venstre"]),
    # the genitive of a name is no ordinary word
    ("venstres politikk på rus", ["Venstre"]),
    ("hva er høyres skattepolitikk", ["Høyre"]),
    # after an English auxiliary (sources/parties.toml cues_before): "venstre" is no English word
    ("will venstre legalize weed", ["Venstre"]),
    ("is venstre against prison?", ["Venstre"]),
    # joined to another party's name
    ("venstre og helsepartiet om bolig", ["Venstre", "Helsepartiet"]),
    ("helsepartiet eller venstre?", ["Helsepartiet", "Venstre"]),
    ("Helsepartiet vs venstre", ["Helsepartiet", "Venstre"]),
    # still the ordinary word: before a noun of not_before, after a word of not_after, next to no content word
    ("rødt kjøtt", []),
    ("Rødt kjøtt og kreft", []),
    ("venstre side", []),
    ("høyre hånd", []),
    ("sving til venstre", []),
    ("rødt eller blått?", []),
    ("hva er forskjellen på høyre og venstre", []),
    ("til høyre og helsepartiet", ["Helsepartiet"]),
    ("venstre 2025", []),
])
def test_a_lower_case_ambiguous_name_in_keywords(question, parties):
    assert [m.party for m in PARTIES.find(question)] == parties


def test_the_genitive_rule_needs_the_name_itself(tmp_path):
    # "Lys" is ambiguous and so is "Lyss", but "Lyss" is no genitive of any of the party's names: ordinary rules
    (tmp_path / "parties.toml").write_text(
        '[[party]]\nname = "Lysløypa"\naliases = ["Lysløypa", "Lyss"]\nambiguous = ["Lyss"]\n'
        '[[party]]\nname = "Venstre"\naliases = ["Venstre", "Venstres"]\nambiguous = ["Venstre", "Venstres"]\n',
        encoding="utf-8")
    directory = load_parties(tmp_path)
    assert [m.party for m in directory.find("hva er venstres syn")] == ["Venstre"]
    assert [m.party for m in directory.find("hva er lyss syn")] == []
