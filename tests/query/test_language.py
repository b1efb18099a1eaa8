"""The question's language: function words first, then æ/ø/å, then word frequencies (wordfreq)."""

import pytest

from chatbot.querylang import Glossary, detect_language


@pytest.mark.parametrize("question, language", [
    ("What does Venstre want for LAR?", "en"),
    ("What does Høyre want to do about sick pay?", "en"),  # function words outweigh the party's "ø"
    ("Hva vil Venstre med LAR?", "nb"),
    ("Kva meiner partia om bustader?", "nb"),  # nynorsk is "nb" here; guess_language tells nn apart
    ("nurse shortage", "en"),
    ("detox", "en"),
    ("rent-to-own", "en"),
    ("corporate tax rate", "en"),
    ("sproyterom", "nb"),  # a Norwegian word without æøå is known to neither list: Norwegian by default
    ("bolig", "nb"),
    ("lonn sykepleiere", "nb"),
    ("vinmonopolet", "nb"),
    ("pressestøtte", "nb"),
    ("NATO", "nb"),  # as common in both: the default
    ("", "nb"),
])
def test_detect_language(question, language):
    assert detect_language(question) == language


def test_glossary_lookup_of_one_word_strips_inflections():
    glossary = Glossary({"injection room": ("sprøyterom",), "aftercare": ("ettervern",)}, 2)
    assert glossary.lookup("Aftercare") == ("ettervern",)
    assert glossary.lookup("injection rooms") == ("sprøyterom",)
    assert glossary.lookup("housing") is None
