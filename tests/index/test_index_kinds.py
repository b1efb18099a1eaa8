"""The dense index kind in the manifest ($CHATBOT_DENSE_INDEX makes an index stale), and the exact
embeddings kept beside it (embeddings.npy) for the next build's cache."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
import shutil
from pathlib import Path

import numpy as np
import pytest

from chatbot.index import ann
from chatbot import fsutil
from chatbot.index import embed_cache
from chatbot.index import store as index_mod
from chatbot.index.manifest import FORMAT_VERSION, Manifest
from chatbot.catalog import load_catalog
from chatbot.cli import main
from chatbot.models.fake import FakeEmbedder
from chatbot.errors import ChatbotError, StaleIndexError
from chatbot.passages import SplitterSettings
from chatbot.service import Chatbot
from chatbot.settings import Settings, SettingsError
from fakes import CountingEmbedder

faiss = pytest.importorskip("faiss")

ROOT = Path(__file__).resolve().parents[2]
N = 31  # passages in sources/
DIM = 256  # FakeEmbedder
BAD_KIND = ("unknown dense index kind 'annoy'; use one of auto, flat, hnsw, ivf "
            "(argument or $CHATBOT_DENSE_INDEX)")


@pytest.fixture()
def sources(tmp_path) -> Path:
    dest = tmp_path / "sources"
    shutil.copytree(ROOT / "sources", dest)
    return dest


@pytest.fixture(autouse=True)
def no_kind_in_env(monkeypatch):
    monkeypatch.delenv(ann.KIND_ENV, raising=False)


def build(sources: Path, index_dir: Path, embedder=None) -> Path:
    return index_mod.build(load_catalog(sources), embedder or FakeEmbedder(), index_dir)


def load(sources: Path, index_dir: Path):
    return index_mod.load(index_dir, load_catalog(sources), FakeEmbedder())


def reasons(sources: Path, index_dir: Path, manifest: Manifest | None = None) -> list[str]:
    manifest = manifest if manifest is not None else index_mod.read_manifest(index_dir)
    return index_mod.stale_reasons(manifest, load_catalog(sources), FakeEmbedder(), SplitterSettings())


def exact_vectors(folder: Path) -> np.ndarray:
    """What the fake model makes of the build's passages, in passages.jsonl order."""
    from chatbot.records import Passage

    passages = [Passage.from_dict({k: v for k, v in json.loads(line).items() if k != "embed_key"})
                for line in (folder / "passages.jsonl").read_text(encoding="utf-8").splitlines()]
    return FakeEmbedder().embed_passages([p.embedding_text() for p in passages])


def manifest_of(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def forget_embeddings(index_dir: Path) -> None:
    """Make the current build look like one written before embeddings.npy existed."""
    folder = (index_dir / "current").resolve()
    (folder / "embeddings.npy").unlink()
    manifest = manifest_of(folder)
    del manifest["files"]["embeddings.npy"]
    (folder / "manifest.json").write_text(json.dumps(manifest))


# ---- the dense index kind ------------------------------------------------------------------


def test_size_rule_index_is_fresh_without_the_variable(sources, tmp_path, monkeypatch):
    folder = build(sources, tmp_path / "index")
    assert manifest_of(folder)["dense"] == {"type": "IndexFlatIP", "kind": "flat"}
    assert reasons(sources, tmp_path / "index") == []
    for value in ("auto", "flat", " FLAT ", "", "  "):  # asking for what was built is not a change
        monkeypatch.setenv(ann.KIND_ENV, value)
        assert reasons(sources, tmp_path / "index") == []
    assert len(load(sources, tmp_path / "index").passages) == N


def test_variable_asking_for_another_kind_makes_the_index_stale(sources, tmp_path, monkeypatch):
    build(sources, tmp_path / "index")
    monkeypatch.setenv(ann.KIND_ENV, "hnsw")
    assert reasons(sources, tmp_path / "index") == ["dense index kind is 'flat' but CHATBOT_DENSE_INDEX asks for 'hnsw'"]
    with pytest.raises(StaleIndexError) as stale:
        load(sources, tmp_path / "index")
    assert str(stale.value) == ("the index is out of date: dense index kind is 'flat' but CHATBOT_DENSE_INDEX "
                                "asks for 'hnsw'; run `chatbot build`")


def test_open_rebuilds_in_the_asked_kind_and_back_reusing_exact_vectors(sources, tmp_path, monkeypatch):
    index_dir = tmp_path / "index"
    build(sources, index_dir)
    monkeypatch.setenv(ann.KIND_ENV, "ivf")
    counting = CountingEmbedder()
    bot = Chatbot.open(sources_dir=sources, index_dir=index_dir, embedder=counting, progress=None)
    assert bot.rebuilt_because == "the index is out of date: dense index kind is 'flat' but CHATBOT_DENSE_INDEX asks for 'ivf'"
    assert ann.kind_of(bot.answerer.index.dense) == "ivf"
    assert bot.answerer.index.manifest.dense["kind"] == "ivf"
    assert counting.embedded == []  # the vectors came from the previous build's embeddings.npy

    monkeypatch.delenv(ann.KIND_ENV)
    counting = CountingEmbedder()
    bot = Chatbot.open(sources_dir=sources, index_dir=index_dir, embedder=counting, progress=None)
    assert bot.rebuilt_because == ("the index is out of date: dense index kind is 'ivf' but the size rule asks for "
                                   f"'flat' ({N} passages)")
    assert counting.embedded == []
    # reused from an IVF-SQ8 build, yet exactly the model's vectors (read back from SQ8 they would not be)
    folder = bot.answerer.index.path
    assert np.array_equal(bot.answerer.index.dense.reconstruct_n(0, N), exact_vectors(folder))

    bot = Chatbot.open(sources_dir=sources, index_dir=index_dir, embedder=FakeEmbedder(), progress=None)
    assert bot.rebuilt_because is None
    assert bot.answerer.index.path == folder


def test_invalid_variable_is_a_clear_error_everywhere(sources, tmp_path, monkeypatch, fake_model, capsys):
    index_dir = tmp_path / "index"
    before = build(sources, index_dir)
    with pytest.raises(ann.DenseKindError) as bad:  # a kind passed in (from the settings) that ann does not know
        index_mod.load(index_dir, load_catalog(sources), FakeEmbedder(), dense_kind="annoy")
    assert str(bad.value) == BAD_KIND
    assert isinstance(bad.value, ValueError) and isinstance(bad.value, ChatbotError)
    with pytest.raises(ann.DenseKindError):  # not a rebuild that would fail the same way
        Chatbot.open(sources_dir=sources, index_dir=index_dir, embedder=FakeEmbedder(), progress=None,
                     config=Settings(dense_index="annoy"))
    counting = CountingEmbedder()
    with pytest.raises(ann.DenseKindError):
        index_mod.build(load_catalog(sources), counting, index_dir, dense_kind="annoy")
    assert counting.embedded == []  # refused before any embedding
    assert (index_dir / "current").resolve() == before
    monkeypatch.setenv(ann.KIND_ENV, "annoy")  # from the environment: the settings refuse it, in their words
    for call in (lambda: load(sources, index_dir), lambda: build(sources, index_dir, counting),
                 lambda: Chatbot.open(sources_dir=sources, index_dir=index_dir, embedder=FakeEmbedder(), progress=None)):
        with pytest.raises(SettingsError) as bad_env:
            call()
        assert str(bad_env.value) == "$CHATBOT_DENSE_INDEX is 'annoy'; use one of auto, flat, hnsw, ivf"
    assert counting.embedded == []
    args = ["ask", "Hva vil Venstre med LAR?", "--index", str(index_dir), "--sources", str(sources)]
    assert main(args) == 1
    err = capsys.readouterr().err  # the CLI checks its environment variables first, in its own words
    assert err.startswith("chatbot: error: ") and err.count("\n") == 1
    assert "'annoy'" in err and "CHATBOT_DENSE_INDEX" in err and "auto, flat, hnsw, ivf" in err


def test_kind_in_older_or_odd_manifests(sources, tmp_path):
    build(sources, tmp_path / "index")
    manifest = index_mod.read_manifest(tmp_path / "index")
    size_rule = f"the size rule asks for 'flat' ({N} passages)"
    assert reasons(sources, tmp_path / "index", replace(manifest, dense={"type": "IndexFlatIP"})) == []
    assert reasons(sources, tmp_path / "index", replace(manifest, dense={"type": "IndexHNSWFlat"})) == [
        f"dense index kind is 'hnsw' but {size_rule}"]
    no_dense = {k: v for k, v in manifest.to_dict().items() if k != "dense"}  # as older builds wrote it
    assert reasons(sources, tmp_path / "index", Manifest.from_dict(no_dense)) == [
        f"dense index kind is not recorded but {size_rule}"]
    # the size rule counts the passages the manifest records
    big = replace(manifest, counts=replace(manifest.counts, passages=ann.FLAT_MAX + 1))
    assert reasons(sources, tmp_path / "index", big) == [
        f"dense index kind is 'flat' but the size rule asks for 'hnsw' ({ann.FLAT_MAX + 1} passages)"]


# ---- embeddings.npy --------------------------------------------------------------------------


def test_build_keeps_the_exact_vectors_with_their_checksum(sources, tmp_path):
    folder = build(sources, tmp_path / "index")
    path = folder / "embeddings.npy"
    vectors = np.load(path)
    assert vectors.dtype == np.float32 and vectors.shape == (N, DIM)
    assert np.array_equal(vectors, exact_vectors(folder))
    assert manifest_of(folder)["files"]["embeddings.npy"] == {
        "bytes": 128 + N * DIM * 4, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    assert FORMAT_VERSION == 1  # an optional file: older indexes of format 1 stay usable


def test_load_does_not_read_the_embeddings(sources, tmp_path, monkeypatch):
    folder = build(sources, tmp_path / "index")
    hashed: list[str] = []
    sha = fsutil.sha256_file
    monkeypatch.setattr(fsutil, "sha256_file", lambda path: hashed.append(path.name) or sha(path))
    load(sources, tmp_path / "index")
    assert "embeddings.npy" not in hashed and {"passages.jsonl", "dense.faiss"} <= set(hashed)
    (folder / "embeddings.npy").write_bytes(b"garbage")  # a broken cache does not stop the chatbot
    assert len(load(sources, tmp_path / "index").passages) == N
    (folder / "embeddings.npy").unlink()
    assert len(load(sources, tmp_path / "index").passages) == N


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for i in range(len(data) - 64, len(data) - 56):  # in the vectors, past the header: same size, still parses
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete", "not-npy"])
def test_damaged_embeddings_are_re_embedded_not_a_crash(sources, tmp_path, damage):
    index_dir = tmp_path / "index"
    path = build(sources, index_dir) / "embeddings.npy"
    if damage == "flip":
        _flip(path)
        assert np.load(path).shape == (N, DIM)
    elif damage == "truncate":
        path.write_bytes(path.read_bytes()[:1000])
    elif damage == "delete":
        path.unlink()
    else:
        path.write_bytes(b"x" * path.stat().st_size)
    counting = CountingEmbedder()
    folder = build(sources, index_dir, counting)
    assert len(counting.embedded) == N
    assert np.array_equal(np.load(folder / "embeddings.npy"), exact_vectors(folder))
    assert len(load(sources, index_dir).passages) == N


@pytest.mark.parametrize("kind, embedded", [("flat", 0), ("hnsw", 0), ("ivf", N)])
def test_index_from_before_embeddings_npy(sources, tmp_path, monkeypatch, kind, embedded):
    """Still loads; its next build reads exact vectors back from flat/HNSW, and re-embeds for IVF-SQ8."""
    monkeypatch.setenv(ann.KIND_ENV, kind)
    index_dir = tmp_path / "index"
    build(sources, index_dir)
    forget_embeddings(index_dir)
    assert len(load(sources, index_dir).passages) == N
    counting = CountingEmbedder()
    folder = build(sources, index_dir, counting)
    assert len(counting.embedded) == embedded
    assert "embeddings.npy" in manifest_of(folder)["files"]
    assert np.array_equal(np.load(folder / "embeddings.npy"), exact_vectors(folder))


def test_adding_a_programme_to_an_ivf_index_embeds_only_it_and_keeps_exact_vectors(sources, tmp_path, monkeypatch):
    monkeypatch.setenv(ann.KIND_ENV, "ivf")
    monkeypatch.setattr(embed_cache, "GATHER_ROWS", 4)  # the reused rows are copied in slices
    index_dir = tmp_path / "index"
    build(sources, index_dir)
    (sources / "ny.md").write_text("# Nytt parti om rus\n\nVi vil ha flere behandlingsplasser for unge.\n", encoding="utf-8")
    with (sources / "catalog.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[[document]]\nfile = "ny.md"\nparty = "Nyparti"\ntitle = "Nytt parti om rus"\n'
                 'kind = "partiprogram"\nlanguage = "nb"\n')
    counting = CountingEmbedder()
    folder = build(sources, index_dir, counting)
    assert counting.embedded == ["Nytt parti om rus · Vi vil ha flere behandlingsplasser for unge."]
    assert np.array_equal(np.load(folder / "embeddings.npy"), exact_vectors(folder))
    assert manifest_of(folder)["dense"]["kind"] == "ivf"
