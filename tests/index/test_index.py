import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from chatbot.index import checksums, layout, manifest as manifest_mod, passage_store
from chatbot.index import store as index_mod
from chatbot.catalog import load_catalog
from chatbot.models.fake import FakeEmbedder
from chatbot.errors import IndexError_, StaleIndexError
from chatbot.records import Passage
from chatbot.service import Chatbot
from fakes import CountingEmbedder

ROOT = Path(__file__).resolve().parents[2]


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
    assert manifest["format_version"] == manifest_mod.FORMAT_VERSION
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


@pytest.mark.parametrize("name", ["dense.faiss", "passages.jsonl", "bm25/vocab.index.json", "words.json", "words.npy"])
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

    monkeypatch.setattr(index_mod, "file_checksums", boom)
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


# ---- scale: checks at open, passages read on use, one copy of the vectors, sparse BM25 ----------


def test_large_files_are_sampled_at_open_and_hashed_in_full_in_the_background(sources, tmp_path, monkeypatch):
    monkeypatch.setattr(checksums, "FULL_CHECK_BYTES", 1000)  # every file above 1000 bytes counts as large
    monkeypatch.setattr(checksums, "SAMPLE_BLOCK_BYTES", 16)  # small blocks, so that most bytes are not sampled
    folder = build(sources, tmp_path / "index")
    files = json.loads((folder / "manifest.json").read_text())["files"]
    large = sorted(n for n, m in files.items() if m["bytes"] > 1000 and n not in layout.NOT_CHECKED_BY_LOAD)
    assert "passages.jsonl" in large and all("sample_sha256" in files[n] for n in large)
    loaded = index_mod.load(tmp_path / "index", load_catalog(sources), FakeEmbedder())
    assert loaded.integrity.files == tuple(large) and loaded.integrity.wait(60) is None
    # a byte between the sampled blocks: not seen at open, seen by the full check
    path = folder / "passages.jsonl"
    data = bytearray(path.read_bytes())
    sampled = [(len(data) - 16) * i // (checksums.SAMPLE_BLOCKS - 1) for i in range(checksums.SAMPLE_BLOCKS)]
    at = next(i for i in range(len(data) // 2, len(data))
              if data[i] == ord("e") and not any(s <= i < s + 16 for s in sampled))
    data[at] = ord("a")  # same size, still valid JSON: only the checksum can tell
    path.write_bytes(bytes(data))
    loaded = index_mod.load(tmp_path / "index", load_catalog(sources), FakeEmbedder())
    assert loaded.integrity.wait(60) == (f"index file passages.jsonl in {folder} is corrupted (checksum differs); "
                                         "run `chatbot build`")
    with pytest.raises(IndexError_, match="index file passages.jsonl in .* is corrupted"):
        index_mod.verify(tmp_path / "index")
    with pytest.raises(IndexError_, match="index file passages.jsonl in .* is corrupted"):
        index_mod.load(tmp_path / "index", load_catalog(sources), FakeEmbedder(), verify="full")
    data[0] ^= 0xFF  # in the first block: caught at open
    path.write_bytes(bytes(data))
    with pytest.raises(IndexError_, match="index file passages.jsonl in .* is corrupted"):
        index_mod.load(tmp_path / "index", load_catalog(sources), FakeEmbedder())


def test_small_files_are_hashed_in_full_at_open(sources, tmp_path):
    build(sources, tmp_path / "index")
    loaded = index_mod.load(tmp_path / "index", load_catalog(sources), FakeEmbedder())
    assert loaded.integrity is None  # nothing left to check


def test_passages_are_read_on_use_and_stay_readable_after_a_rebuild(sources, tmp_path):
    folder = build(sources, tmp_path / "index")
    lines = (folder / "passages.jsonl").read_text(encoding="utf-8").splitlines()
    expected = [Passage.from_dict({k: v for k, v in json.loads(line).items() if k != "embed_key"})
                for line in lines]
    loaded = index_mod.load(tmp_path / "index", load_catalog(sources), FakeEmbedder())
    assert isinstance(loaded.passages, passage_store.PassageStore)
    assert list(loaded.passages) == expected and loaded.passages == expected
    assert loaded.passages[-1] == expected[-1] and loaded.passages[2:4] == expected[2:4]
    assert loaded.parties == ("Helsepartiet", "Venstre")
    assert {p: rows.tolist() for p, rows in loaded.party_ids.items()} == {
        p: [i for i, e in enumerate(expected) if e.party == p] for p in ("Helsepartiet", "Venstre")}
    (sources / "catalog.toml").write_text((sources / "catalog.toml").read_text() + "\n# edited\n")
    build(sources, tmp_path / "index")
    assert not folder.exists()  # the old build is gone, its open file is not
    assert [loaded.passages[i] for i in range(len(expected))] == expected


def test_index_without_the_offsets_file_still_loads(sources, tmp_path):
    folder = build(sources, tmp_path / "index")
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["files"][layout.PASSAGE_OFFSETS]
    (folder / layout.PASSAGE_OFFSETS).unlink()
    (folder / "manifest.json").write_text(json.dumps(manifest))
    loaded = index_mod.load(tmp_path / "index", load_catalog(sources), FakeEmbedder())
    assert len(loaded.passages) == 31 and loaded.passages[30].text == json.loads(
        (folder / "passages.jsonl").read_text(encoding="utf-8").splitlines()[30])["text"]


def test_offsets_that_do_not_fit_the_passages_are_refused(sources, tmp_path):
    folder = build(sources, tmp_path / "index")
    offsets = np.load(folder / layout.PASSAGE_OFFSETS)
    np.save(folder / layout.PASSAGE_OFFSETS, offsets[:-1])
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"] = {n: f.to_dict() for n, f in checksums.file_checksums(folder).items()}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexError_, match=r"is inconsistent \(counts differ\)"):
        index_mod.load(tmp_path / "index", load_catalog(sources), FakeEmbedder())


def test_build_writes_the_vectors_once_into_the_file_it_keeps(sources, tmp_path, monkeypatch):
    saved = []
    real_save = np.save
    monkeypatch.setattr(np, "save", lambda path, *a, **k: saved.append(Path(path).name) or real_save(path, *a, **k))
    folder = build(sources, tmp_path / "index")
    assert "embeddings.npy" not in saved  # moved into place from the memory-mapped file it was embedded into
    assert np.array_equal(np.load(folder / "embeddings.npy"), FakeEmbedder().embed_passages(
        [p.embedding_text() for p in index_mod.load(tmp_path / "index", load_catalog(sources), FakeEmbedder()).passages]))
    assert not list((tmp_path / "index").glob(".vectors-*"))


def test_vector_file_of_a_killed_build_is_removed_and_a_running_one_kept(sources, tmp_path):
    import fcntl

    index_dir = tmp_path / "index"
    build(sources, index_dir)
    dead = index_dir / ".vectors-0123456789ab.npy"
    dead.write_bytes(b"half")
    running = index_dir / ".vectors-ba9876543210.npy"
    running.write_bytes(b"busy")
    with open(running, "rb") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        build(sources, index_dir)
        assert not dead.exists() and running.exists()


@pytest.mark.parametrize("dense_share", [0, 10**9])  # sorted posting lists / a full array
def test_sparse_bm25_scores_are_bm25s_own(sources, tmp_path, monkeypatch, dense_share):
    from chatbot.index import search

    monkeypatch.setattr(search, "DENSE_SHARE", dense_share)
    build(sources, tmp_path / "index")
    loaded = index_mod.load(tmp_path / "index", load_catalog(sources), FakeEmbedder())
    for question in ["LAR og sprøyterom", "behandling behandling rus", "Helsepartiet vil avkriminalisere", "ettervern"]:
        ids = loaded.bm25.get_tokens_ids(index_mod_tokens(question))
        full = np.asarray(loaded.bm25.get_scores_from_ids(ids), dtype=np.float32)
        scores, _ = search.bm25_scores(loaded, question, None)
        assert np.array_equal(scores.dense(), full) and all(scores[r] == full[r] for r in range(len(full)))
        allowed = loaded.party_rows(["Venstre"]).allowed
        filtered, _ = search.bm25_scores(loaded, question, allowed)
        assert np.array_equal(filtered.dense(), np.where(allowed.mask, full, 0))
        rows, _ = search.bm25_scores(loaded, question, allowed.rows)
        assert np.array_equal(rows.dense(), filtered.dense())


def index_mod_tokens(text):
    from chatbot.textnorm import tokens

    return tokens(text)


def test_top_takes_the_best_and_breaks_ties_by_row():
    from chatbot.index.search import SparseScores, top

    scores = np.array([0, 2, 5, 2, 0, 2, 7, -1], dtype=np.float32)
    assert top(scores, 3) == [(6, 7.0), (2, 5.0), (1, 2.0)]
    assert top(scores, 4) == [(6, 7.0), (2, 5.0), (1, 2.0), (3, 2.0)]
    assert top(scores, 10) == [(6, 7.0), (2, 5.0), (1, 2.0), (3, 2.0), (5, 2.0)]
    sparse = SparseScores(np.array([1, 2, 3, 5, 6, 7]), scores[[1, 2, 3, 5, 6, 7]], len(scores))
    assert top(sparse, 4) == top(scores, 4) and top(sparse, 0) == [] and sparse[4] == 0 and sparse[6] == 7


def test_passage_keys_recorded_by_the_build_are_the_keys_of_the_passage_text(sources, tmp_path):
    from chatbot.query.retrieve import PassageKeys
    from chatbot.textnorm import tokens

    folder = build(sources, tmp_path / "index")
    loaded = index_mod.load(tmp_path / "index", load_catalog(sources), FakeEmbedder())
    for row, p in enumerate(loaded.passages):
        assert loaded.passage_keys(row) == frozenset(tokens(p.text + " " + p.section)) == PassageKeys(loaded)(row)
    manifest = json.loads((folder / "manifest.json").read_text())  # a build from before the file: made from the text
    del manifest["files"][layout.PASSAGE_KEYS]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    older = index_mod.load(tmp_path / "index", load_catalog(sources), FakeEmbedder())
    assert older.passage_keys(0) is None and PassageKeys(older)(0) == loaded.passage_keys(0)


def test_sparse_scores_take_many_rows_as_one_by_one():
    import numpy as np

    from chatbot.index.search import SparseScores, scores_of

    sparse = SparseScores(np.array([2, 5, 9]), np.array([1.5, 2.5, 3.5], np.float32), 12)
    rows = [9, 0, 5, 11, 2, 3]
    assert sparse.take(rows).tolist() == [3.5, 0.0, 2.5, 0.0, 1.5, 0.0] == [float(sparse[r]) for r in rows]
    assert scores_of(sparse.dense(), rows).tolist() == [3.5, 0.0, 2.5, 0.0, 1.5, 0.0]
    empty = SparseScores(np.array([], dtype=np.int64), np.array([], np.float32), 4)
    assert empty.take([1, 2]).tolist() == [0.0, 0.0] and scores_of(empty, []).tolist() == []


def test_word_vectors_are_reused_only_from_a_build_that_made_them_the_same_way(sources, tmp_path):
    class Terms(FakeEmbedder):
        def __init__(self):
            super().__init__()
            self.words = []

        def embed_passages(self, texts, progress=None):
            self.words += list(texts)
            return super().embed_passages(texts, progress)

    def corpus_words_embedded(embedder):
        index_mod.build(load_catalog(sources), embedder, tmp_path / "index", cache_dir=tmp_path / "cache")
        return "Vi må snakke om rusavhengige." in embedder.words  # lexicon.CARRIERS["nb"]

    assert corpus_words_embedded(Terms()) is True  # the first build embeds every corpus word
    assert corpus_words_embedded(Terms()) is False  # the next reuses them
    path = tmp_path / "index" / "current" / "manifest.json"
    data = json.loads(path.read_text())
    data["settings"]["lexicon"]["word_vectors"] = 1  # as an older version made them
    path.write_text(json.dumps(data))
    assert corpus_words_embedded(Terms()) is True


def test_the_word_table_holds_the_corpus_words_then_the_english_ones(sources, tmp_path):
    from chatbot.index import lexicon

    folder = build(sources, tmp_path / "index")
    loaded = index_mod.load(tmp_path / "index", load_catalog(sources), FakeEmbedder())
    table = loaded.word_table()
    vocab = json.loads((folder / layout.VOCAB).read_text(encoding="utf-8"))
    english = [w for w in lexicon.english_vocabulary() if w not in set(vocab)]
    assert table.words == vocab + english
    assert np.load(folder / layout.WORD_TABLE_VECTORS).dtype == np.float16
    assert table.vectors.dtype == np.float32 and table.vectors.shape == (len(vocab) + len(english), 256)
    row = table.id_of("Sprøyterom")
    assert row == vocab.index("sprøyterom")
    carried = lexicon.CARRIERS["nb"].format("sprøyterom")  # the word in its carrier sentence, embedded as a passage
    expected = np.asarray(FakeEmbedder().embed_passages([carried])[0], np.float16).astype(np.float32)
    assert np.array_equal(table.vectors[row], expected)
    assert loaded.word_table() is table  # read once


def test_an_index_without_the_word_table_is_stale_and_rebuilt(sources, tmp_path):
    folder = build(sources, tmp_path / "index")
    path = folder / "manifest.json"
    data = json.loads(path.read_text())
    del data["settings"]["lexicon"]["word_table"]
    path.write_text(json.dumps(data))
    with pytest.raises(StaleIndexError, match="settings changed"):
        index_mod.load(tmp_path / "index", load_catalog(sources), FakeEmbedder())
