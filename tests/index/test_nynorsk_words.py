"""The nynorsk question words' map (chatbot/index/nynorsk_words.py): how it is made and cached, what the
index keeps, and the weights questions get from it."""

import json
import os
from pathlib import Path

import pytest

from chatbot.catalog import load_catalog
from chatbot.index import nynorsk_words as nw
from chatbot.index import standards
from chatbot.index import store as index_mod
from chatbot.models.fake import FakeEmbedder
from chatbot.query.terms import question_terms, term_weight, weight

ROOT = Path(__file__).resolve().parents[2]

FAKE = {  # what Apertium's two standards give, word by word
    "nob-nno": {"gjøre": "gjera", "ikke": "ikkje", "bolig": "bustad", "og": "og", "mer": "meir", "helt": "heilt",
                "kun": "berre", "bare": "berre", "sted": "stad *x", "hun": "ho#"},
    "nob-nno_e": {"gjøre": "gjere", "ikke": "ikkje", "bolig": "bustad", "og": "og", "mer": "meir", "helt": "heilt",
                  "kun": "berre", "bare": "berre", "sted": "stad", "hun": "ho"},
}
WORDS = list(FAKE["nob-nno"])


def _fake(mode: str, words: list[str]) -> list[str]:
    return [FAKE[mode][w] for w in words]


def test_each_nynorsk_form_maps_to_its_most_frequent_bokmal_source():
    made = nw.make(WORDS, _fake)
    # "og" is the same word; "berre" comes from "bare" (commoner than "kun"); "stad *x" and "ho#" are
    # Apertium's marks in one standard, the other standard's plain forms are kept
    assert made == {"berre": "bare", "bustad": "bolig", "gjera": "gjøre", "gjere": "gjøre", "heilt": "helt",
                    "ho": "hun", "ikkje": "ikke", "meir": "mer", "stad": "sted"}


@pytest.mark.own_nynorsk_cache
def test_a_translation_that_loses_words_leaves_the_map_empty_and_says_so(monkeypatch):
    monkeypatch.setattr(nw, "bokmal_words", lambda: WORDS)
    said = []
    assert nw.build(None, said.append, translate=lambda mode, words: words[:-1]) == {}
    assert said == ["nynorsk question words: Apertium failed (RuntimeError: 9 words came back for 10 (nob-nno)); "
                    "nynorsk words are weighed by the bokmål word list alone"]


@pytest.mark.own_nynorsk_cache
def test_without_apertium_there_is_no_map_and_the_manifest_says_so(monkeypatch):
    monkeypatch.setattr(standards, "available", lambda: False)
    said = []
    assert nw.build(None, said.append) == {}
    assert said == [nw.MISSING] and "apt-get install apertium-nno-nob" in said[0]
    assert nw.setting() is None
    from chatbot.index.manifest import expected_settings
    from chatbot.passages import SplitterSettings

    assert expected_settings(SplitterSettings())["standards"]["question_words"] is None


@pytest.mark.own_nynorsk_cache
def test_the_map_is_made_once_and_then_read_from_the_cache(monkeypatch, tmp_path):
    calls = []

    def apertium(mode, words):
        calls.append(mode)
        return [FAKE[mode].get(w, w) for w in words]

    monkeypatch.setattr(nw, "available", lambda: True)
    monkeypatch.setattr(nw, "_apertium", apertium)
    monkeypatch.setattr(nw, "bokmal_words", lambda: WORDS)
    monkeypatch.setattr(nw, "_cache_key", lambda words: "k")
    said = []
    first = nw.build(tmp_path, said.append)
    assert sorted(calls) == ["nob-nno", "nob-nno_e"]
    assert said == ["nynorsk question words: 9 nynorsk forms read at their bokmål frequency (Apertium, once per machine)"]
    assert json.loads((tmp_path / "nynorsk" / "words-k.json").read_text(encoding="utf-8")) == first
    calls.clear()
    assert nw.build(tmp_path, said.append) == first
    assert calls == [] and len(said) == 1
    (tmp_path / "nynorsk" / "words-k.json").write_text("[1, 2", encoding="utf-8")  # a damaged cache is made again
    assert nw.build(tmp_path) == first and sorted(calls) == ["nob-nno", "nob-nno_e"]


def test_a_nynorsk_word_weighs_what_its_bokmal_word_weighs():
    bokmal = {"gjere": "gjøre", "sjukehusa": "sykehusene"}
    assert weight("gjere", "nb") > 4.0  # wordfreq's Norwegian list is bokmål: "gjere" looks rare there
    assert term_weight("gjere", "nb", bokmal) == weight("gjøre", "nb") < 0.5
    assert term_weight("sjukehusa", "nb", bokmal) == weight("sykehusene", "nb")
    assert term_weight("gjere", "en", bokmal) == weight("gjere", "en")  # an English question is weighed in English
    assert term_weight("narkotika", "nb", bokmal) == weight("narkotika", "nb")
    mapped = {t.text: t.weight for t in question_terms("kva vil dei gjere med sjukehusa", "nb", bokmal=bokmal)}
    as_written = {t.text: t.weight for t in question_terms("kva vil dei gjere med sjukehusa", "nb")}
    assert (mapped["gjere"], as_written["gjere"]) == (weight("gjøre", "nb"), weight("gjere", "nb"))
    assert max(mapped, key=mapped.get) == "sjukehusa"


def test_the_index_keeps_the_map_it_was_built_with(monkeypatch, tmp_path):
    monkeypatch.setattr(nw, "build", lambda cache_dir, say=None, translate=None: {"gjere": "gjøre"})
    catalog = load_catalog(ROOT / "sources")
    folder = index_mod.build(catalog, FakeEmbedder(), tmp_path / "index", cache_dir=tmp_path / "cache")
    assert json.loads((folder / "nynorsk-words.json").read_text(encoding="utf-8")) == {"gjere": "gjøre"}
    index = index_mod.load(tmp_path / "index", catalog, FakeEmbedder())
    assert index.nynorsk_words == {"gjere": "gjøre"}
    from chatbot.answer import Answerer
    from chatbot.parties import load_parties
    from fakes import FAKE_DECISION

    answerer = Answerer(index, FakeEmbedder(), load_parties(ROOT / "sources"), decision=FAKE_DECISION)
    found = answerer.search("kva vil dei gjere med sprøyterom")
    assert {t.text: t.weight for t in found.terms}["gjere"] == weight("gjøre", "nb")


@pytest.mark.skipif(not nw.available() and os.environ.get("CI") != "true",
                    reason=f"{standards.PACKAGE} is not installed (apt-get install {standards.PACKAGE})")
def test_apertium_gives_the_nynorsk_forms_of_common_bokmal_words():
    assert nw.available(), f"{standards.PACKAGE} must be installed in CI (.ci/run)"
    made = nw.make(["gjøre", "ikke", "kommunene", "hvordan"], nw._apertium)
    assert {"gjere": "gjøre", "gjera": "gjøre", "ikkje": "ikke", "kommunane": "kommunene",
            "korleis": "hvordan"}.items() <= made.items()
