"""Nynorsk passages also in bokmål (chatbot/index/standards.py): which passages, their vectors and keys,
the manifest, and Apertium itself where it is installed."""

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from chatbot.catalog import load_catalog
from chatbot.errors import StaleIndexError
from chatbot.index import standards
from chatbot.index import store as index_mod
from chatbot.models.fake import FakeEmbedder
from chatbot.records import Passage
from chatbot.textnorm import tokens

ROOT = Path(__file__).resolve().parents[2]
NYNORSK = "Fjordpartiet vil byggje fleire sjukeheimar i bygdene.\n\nKommunane skal få meir pengar til bustader.\n"


def _passage(source: str, text: str, section: str = "Helse") -> Passage:
    return Passage(id=text[:8], party="P", source=source, title="Program", section=section, start=0, end=len(text),
                   line=1, text=text, context_start=0, context_end=len(text), context=text)


def _fake_bokmal(texts: list[str]) -> list[str]:
    return [t.replace("sjukeheimar", "sykehjem").replace("bustader", "boliger").replace("fleire", "flere")
            for t in texts]


def test_only_passages_of_nynorsk_documents_get_a_bokmal_form():
    passages = [_passage("nb.txt", "flere sykehjem"), _passage("nn.txt", "fleire sjukeheimar")]
    forms = standards.bokmal_forms(passages, {"nb.txt": "nb", "nn.txt": "nn"}, translate=_fake_bokmal)
    assert forms.embedding == {1: "Program · Helse · flere sykehjem"}
    assert forms.keys == {1: "flere sykehjem Helse"}
    assert len(forms) == 1
    assert standards.bokmal_forms(passages[:1], {"nb.txt": "nb"}, translate=_fake_bokmal) is standards.NONE


def test_a_translation_that_loses_texts_is_an_error():
    passages = [_passage("nn.txt", "fleire sjukeheimar")]
    from chatbot.errors import IndexError_

    with pytest.raises(IndexError_, match=r"^translating the nynorsk passages into bokmål failed \(RuntimeError: "
                                          r"1 texts came back for 2\); reinstall") as caught:
        standards.bokmal_forms(passages, {"nn.txt": "nn"}, translate=lambda texts: texts[:1])
    assert "apertium-nno-nob" in caught.value.hint


def test_a_failing_translator_stops_the_build_with_what_to_do():
    from chatbot.errors import IndexError_

    def broken(_texts):
        raise subprocess.TimeoutExpired("apertium", 600)

    with pytest.raises(IndexError_, match=r"translating the nynorsk passages into bokmål failed \(TimeoutExpired.*"
                                          r"reinstall apertium-nno-nob"):
        standards.bokmal_forms([_passage("nn.txt", "fleire")], {"nn.txt": "nn"}, translate=broken)


def test_without_apertium_the_nynorsk_is_indexed_as_written_and_the_build_says_so(monkeypatch):
    monkeypatch.setattr(standards, "available", lambda: False)
    said = []
    forms = standards.bokmal_forms([_passage("nn.txt", "fleire")], {"nn.txt": "nn"}, say=said.append)
    assert forms is standards.NONE
    assert said == [standards.MISSING] and "apt-get install apertium-nno-nob" in said[0]
    assert standards.setting() == {"nynorsk_to_bokmal": None, "forms": standards.FORMS}


def test_apertium_is_called_once_for_many_texts_and_once_each_when_the_separator_is_lost(monkeypatch):
    calls = []

    class Done:
        def __init__(self, stdout):
            self.returncode, self.stdout, self.stderr = 0, stdout, ""

    def run(cmd, input, **_kw):
        calls.append(input)
        assert cmd == ["apertium", "-u", "nno-nob"]
        return Done(input.upper())

    monkeypatch.setattr(standards.subprocess, "run", run)
    assert standards.apertium(["eitt", "to"]) == ["EITT", "TO"]
    assert len(calls) == 1
    calls.clear()
    assert standards.apertium(["a ¶¶¶ b", "c"]) == ["A ¶¶¶ B", "C"]  # the text held the separator: one call each
    assert len(calls) == 3
    assert standards.apertium([]) == []
    assert standards.apertium(["gjere#"]) == ["GJERE"]  # Apertium's mark of a word it could not inflect goes


def test_both_forms_are_embedded_as_the_normalised_sum():
    inner = FakeEmbedder()
    both = standards.BothForms(inner)
    got = both.embed_passages(["eitt", ("fleire", "flere")])
    a, b = inner.embed_passages(["fleire"])[0], inner.embed_passages(["flere"])[0]
    np.testing.assert_allclose(got[0], inner.embed_passages(["eitt"])[0], rtol=1e-6)
    np.testing.assert_allclose(got[1], (a + b) / np.linalg.norm(a + b), rtol=1e-5)
    assert (both.model_id, both.checksum) == (inner.model_id, inner.checksum)


@pytest.fixture()
def nynorsk_sources(tmp_path) -> Path:
    dest = tmp_path / "sources"
    shutil.copytree(ROOT / "sources", dest)
    (dest / "fjordpartiet.txt").write_text(NYNORSK, encoding="utf-8")
    with open(dest / "catalog.toml", "a", encoding="utf-8") as fh:
        fh.write('\n[[document]]\nfile = "fjordpartiet.txt"\nparty = "Fjordpartiet"\ntitle = "Program"\n'
                 'kind = "partiprogram"\nlanguage = "nn"\nfictitious = true\n')
    return dest


def test_a_nynorsk_programme_is_embedded_and_keyed_in_both_forms(nynorsk_sources, tmp_path, monkeypatch):
    monkeypatch.setattr(standards, "available", lambda: True)
    monkeypatch.setattr(standards, "apertium", _fake_bokmal)
    catalog = load_catalog(nynorsk_sources)
    folder = index_mod.build(catalog, FakeEmbedder(), tmp_path / "index")
    index = index_mod.load(tmp_path / "index", catalog, FakeEmbedder())
    rows = [i for i, p in enumerate(index.passages) if p.source == "fjordpartiet.txt"]
    assert [index.passages[i].text for i in rows] == ["Fjordpartiet vil byggje fleire sjukeheimar i bygdene.",
                                                       "Kommunane skal få meir pengar til bustader."]
    keys = index.passage_keys(rows[0])
    assert set(tokens("sjukeheimar sykehjem")) <= keys  # both forms
    vectors = np.load(folder / "embeddings.npy")
    p = index.passages[rows[0]]
    a, b = FakeEmbedder().embed_passages([p.embedding_text(), _fake_bokmal([p.embedding_text()])[0]])
    np.testing.assert_allclose(vectors[rows[0]], (a + b) / np.linalg.norm(a + b), rtol=1e-5)
    bokmal_rows = [i for i, p in enumerate(index.passages) if p.source == "venstre-rusomsorg.txt"]
    np.testing.assert_allclose(vectors[bokmal_rows[0]],
                               FakeEmbedder().embed_passages([index.passages[bokmal_rows[0]].embedding_text()])[0], rtol=1e-6)
    # which way it was built is in the manifest: without Apertium now, the index is stale and says why
    monkeypatch.setattr(standards, "available", lambda: False)
    with pytest.raises(StaleIndexError, match="apertium-nno-nob\\) was installed, removed or changed"):
        index_mod.load(tmp_path / "index", catalog, FakeEmbedder())


@pytest.mark.skipif(not standards.available() and os.environ.get("CI") != "true",
                    reason=f"{standards.PACKAGE} is not installed (apt-get install {standards.PACKAGE})")
def test_apertium_translates_nynorsk_into_bokmal():
    assert standards.available(), f"{standards.PACKAGE} must be installed in CI (.ci/run)"
    got = standards.apertium(["Kommunane skal byggje sjukeheimar og bustader.", "Eg vil ha ein skule i bygda."])
    assert got == ["Kommunene skal bygge sykehjem og boliger.", "Jeg vil ha en skole i bygden."]
