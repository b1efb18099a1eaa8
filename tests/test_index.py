import json
import shutil
from pathlib import Path

import pytest

from chatbot import index as index_mod
from chatbot.catalog import load_catalog
from chatbot.embedders import FakeEmbedder
from chatbot.errors import IndexError_, StaleIndexError
from chatbot.service import Chatbot
from fakes import CountingEmbedder

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def sources(tmp_path) -> Path:
    dest = tmp_path / "sources"
    shutil.copytree(ROOT / "sources", dest)
    return dest


def build(sources: Path, index_dir: Path, embedder=None):
    return index_mod.build(load_catalog(sources), embedder or FakeEmbedder(), index_dir)


def test_build_then_load_with_manifest(sources, tmp_path):
    folder = build(sources, tmp_path / "index")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["format_version"] == index_mod.FORMAT_VERSION
    assert manifest["model"] == {"id": "fake-256", "checksum": FakeEmbedder().checksum, "dim": 256}
    assert manifest["counts"] == {"documents": 2, "passages": 31}
    assert manifest["sources"]["venstre-rusomsorg.txt"]["passages"] == 19
    assert set(manifest["files"]) >= {"passages.jsonl", "dense.faiss", "bm25/params.index.json"}
    assert (tmp_path / "index" / "current").resolve() == folder
    loaded = index_mod.load(tmp_path / "index", load_catalog(sources), FakeEmbedder())
    assert len(loaded.passages) == loaded.dense.ntotal == 31


def test_passage_ids_are_stable_across_rebuilds(sources, tmp_path):
    first = build(sources, tmp_path / "a")
    second = build(sources, tmp_path / "b")
    ids = lambda f: [json.loads(x)["id"] for x in (f / "passages.jsonl").read_text().splitlines()]  # noqa: E731
    assert ids(first) == ids(second)


def test_missing_index_is_refused_with_what_to_run(sources, tmp_path):
    with pytest.raises(IndexError_, match=r"no index in .*; run `chatbot build`"):
        index_mod.load(tmp_path / "none", load_catalog(sources), FakeEmbedder())


def test_changed_source_makes_the_index_stale(sources, tmp_path):
    build(sources, tmp_path / "index")
    path = sources / "venstre-rusomsorg.txt"
    path.write_bytes(path.read_bytes() + b"\nNy setning om bolig.\n")
    with pytest.raises(StaleIndexError, match="source venstre-rusomsorg.txt changed since the index was built"):
        index_mod.load(tmp_path / "index", load_catalog(sources), FakeEmbedder())


def test_other_model_makes_the_index_stale(sources, tmp_path):
    build(sources, tmp_path / "index")
    with pytest.raises(StaleIndexError, match="built with model 'fake-256', not 'fake-128'"):
        index_mod.load(tmp_path / "index", load_catalog(sources), FakeEmbedder(dim=128))


def test_older_format_is_stale(sources, tmp_path):
    folder = build(sources, tmp_path / "index")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["format_version"] = 0
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(StaleIndexError, match="index format 0 is not the current format"):
        index_mod.load(tmp_path / "index", load_catalog(sources), FakeEmbedder())


@pytest.mark.parametrize("name", ["dense.faiss", "passages.jsonl", "bm25/vocab.index.json"])
def test_truncated_file_is_detected(sources, tmp_path, name):
    folder = build(sources, tmp_path / "index")
    data = (folder / name).read_bytes()
    (folder / name).write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexError_, match=f"index file {name} in .* is corrupted"):
        index_mod.load(tmp_path / "index", load_catalog(sources), FakeEmbedder())


def test_garbled_manifest_is_detected(sources, tmp_path):
    folder = build(sources, tmp_path / "index")
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(IndexError_, match="manifest .* is unreadable"):
        index_mod.load(tmp_path / "index", load_catalog(sources), FakeEmbedder())


def test_open_rebuilds_a_stale_index_and_says_why(sources, tmp_path):
    messages: list[str] = []
    Chatbot.open(sources_dir=sources, index_dir=tmp_path / "index", embedder=FakeEmbedder(), progress=messages.append)
    path = sources / "helsepartiet-rusomsorg.txt"
    path.write_bytes(path.read_bytes().replace(b"Styrke ettervernet.", b"Styrke ettervernet kraftig."))
    messages.clear()
    bot = Chatbot.open(sources_dir=sources, index_dir=tmp_path / "index", embedder=FakeEmbedder(), progress=messages.append)
    assert bot.rebuilt_because == "the index is out of date: source helsepartiet-rusomsorg.txt changed since the index was built"
    assert messages[0].startswith("The index is out of date (")
    assert any(p.text == "Styrke ettervernet kraftig." for p in bot.answerer.index.passages)


def test_open_without_rebuild_refuses_a_stale_index(sources, tmp_path):
    build(sources, tmp_path / "index")
    (sources / "catalog.toml").write_text((sources / "catalog.toml").read_text() + "\n# edited\n")
    with pytest.raises(StaleIndexError, match="the catalog .* changed"):
        Chatbot.open(sources_dir=sources, index_dir=tmp_path / "index", embedder=FakeEmbedder(), rebuild=False)


def test_unwritable_index_folder_is_a_clear_error(sources, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(IndexError_, match="cannot write the index folder"):
        build(sources, blocker / "index")


def test_failed_build_leaves_the_previous_index_usable(sources, tmp_path, monkeypatch):
    build(sources, tmp_path / "index")

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(index_mod, "_file_checksums", boom)
    with pytest.raises(RuntimeError):
        build(sources, tmp_path / "index")
    monkeypatch.undo()
    assert [p.name for p in (tmp_path / "index").iterdir() if p.name.startswith(".tmp-")] == []
    loaded = index_mod.load(tmp_path / "index", load_catalog(sources), FakeEmbedder())
    assert len(loaded.passages) == 31


def test_adding_a_programme_embeds_only_its_passages(sources, tmp_path):
    build(sources, tmp_path / "index", CountingEmbedder())
    (sources / "ny.md").write_text("# Nytt parti om rus\n\nVi vil ha flere behandlingsplasser for unge.\n", encoding="utf-8")
    with (sources / "catalog.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[[document]]\nfile = "ny.md"\nparty = "Nyparti"\ntitle = "Nytt parti om rus"\n'
                 'kind = "partiprogram"\nlanguage = "nb"\n')
    counting = CountingEmbedder()
    build(sources, tmp_path / "index", counting)
    assert counting.embedded == ["Nytt parti om rus · Vi vil ha flere behandlingsplasser for unge."]
    loaded = index_mod.load(tmp_path / "index", load_catalog(sources), FakeEmbedder())
    assert loaded.parties == ("Helsepartiet", "Nyparti", "Venstre")


def test_only_one_build_folder_is_kept(sources, tmp_path):
    build(sources, tmp_path / "index")
    build(sources, tmp_path / "index")
    builds = [p for p in (tmp_path / "index").iterdir() if p.name.startswith("build-")]
    assert len(builds) == 1
