"""chatbot/fsutil.py: one copy of each filesystem helper."""

from __future__ import annotations

import hashlib
import io
import threading
import time

import pytest

from chatbot import fsutil


def test_sha256_of_a_file_and_of_the_rest_of_a_stream(tmp_path, monkeypatch):
    monkeypatch.setattr(fsutil, "BLOCK", 3)  # several blocks
    path = tmp_path / "f.bin"
    path.write_bytes(b"abcdefgh\xff")
    assert fsutil.sha256_file(path) == hashlib.sha256(b"abcdefgh\xff").hexdigest()
    stream = io.BytesIO(b"xyzabc")
    stream.read(3)
    assert fsutil.sha256_stream(stream) == hashlib.sha256(b"abc").hexdigest()
    digest = hashlib.sha256(b"name\0")
    assert fsutil.update_digest(digest, io.BytesIO(b"data")).hexdigest() == hashlib.sha256(b"name\0data").hexdigest()


def test_atomic_write_text_replaces_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "sub" / "a.txt"
    fsutil.atomic_write_text(path, "én\n")
    fsutil.atomic_write_text(path, "to\n")
    assert path.read_text(encoding="utf-8") == "to\n"
    assert [p.name for p in path.parent.iterdir()] == ["a.txt"]


def test_json_marker_round_trip_and_unreadable_markers(tmp_path):
    path = tmp_path / "m" / "marker.json"
    fsutil.write_json(path, {"b": "ø", "a": [1, 2]}, sync=True)
    assert path.read_text(encoding="utf-8") == '{\n  "b": "ø",\n  "a": [\n    1,\n    2\n  ]\n}\n'
    assert fsutil.read_json(path) == {"b": "ø", "a": [1, 2]}
    assert fsutil.read_json(tmp_path / "missing.json") is None
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "list.json").write_text("[1]")
    assert fsutil.read_json(tmp_path / "bad.json") is None and fsutil.read_json(tmp_path / "list.json") is None


def test_publishing_renames_a_complete_folder_into_place(tmp_path):
    target = tmp_path / "out"
    with fsutil.publishing(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".out.tmp-") and not target.exists()
        (tmp / "data").write_text("x")
    assert (target / "data").read_text() == "x"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_publishing_removes_the_folder_on_error_and_refuses_a_full_target(tmp_path):
    target = tmp_path / "out"
    with pytest.raises(RuntimeError), fsutil.publishing(target) as tmp:
        (tmp / "half").write_text("x")
        raise RuntimeError("stop")
    assert list(tmp_path.iterdir()) == []
    target.mkdir()
    (target / "old").write_text("kept")
    with pytest.raises(OSError), fsutil.publishing(target) as tmp:
        (tmp / "new").write_text("x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"] and (target / "old").read_text() == "kept"


def test_publishing_into_a_named_temporary_folder(tmp_path):
    with fsutil.publishing(tmp_path / "build-1", temp=tmp_path / ".tmp-abc") as tmp:
        assert tmp == tmp_path / ".tmp-abc" and tmp.is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build-1"]


def test_leftovers_of_killed_writers_are_found_and_removed(tmp_path):
    target = tmp_path / "model"
    dead = fsutil.temp_dir_beside(target)
    (dead / "half").write_text("x")
    (tmp_path / ".other.tmp-1").mkdir()
    assert fsutil.leftover_temp_dirs(target) == [dead]
    fsutil.remove_leftovers(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.tmp-1"]


def test_file_lock_excludes_a_second_holder(tmp_path):
    path = tmp_path / "locks" / ".lock"
    order = []

    def second():
        with fsutil.file_lock(path):
            order.append("second")

    with fsutil.file_lock(path):
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.2)
        order.append("first")
    thread.join(5)
    assert order == ["first", "second"]


def test_file_lock_turns_an_unusable_folder_into_the_callers_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(OSError), fsutil.file_lock(blocker / ".lock"):
        pass
    with pytest.raises(ValueError, match="cannot lock"), \
            fsutil.file_lock(blocker / ".lock", error=lambda exc: ValueError(f"cannot lock: {exc.strerror}")):
        pass


def test_fsync_dir_never_raises(tmp_path):
    fsutil.fsync_dir(tmp_path)
    fsutil.fsync_dir(tmp_path / "missing")


def test_the_helpers_import_nothing_heavy():
    import subprocess
    import sys

    code = "import sys, chatbot.fsutil, chatbot.settings; print([m for m in ('numpy', 'faiss', 'torch') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_slug_and_cache_name():
    import hashlib

    assert fsutil.slug("hybrid (e5) / onnx") == "hybrid_e5_onnx"
    h = hashlib.sha256(b"/models/My Model/").hexdigest()[:8]
    assert fsutil.cache_name("/models/My Model/") == f"My_Model-{h}"  # the last path part, readable
    assert fsutil.cache_name("intfloat/multilingual-e5-small").startswith("multilingual-e5-small-")
    assert fsutil.cache_name("x" * 100) == "x" * 60 + "-" + hashlib.sha256(b"x" * 100).hexdigest()[:8]
    assert fsutil.cache_name("///", label="kultur") == "kultur-" + hashlib.sha256(b"///").hexdigest()[:8]
    assert fsutil.cache_name("a/b") != fsutil.cache_name("c/b")  # same label, other key


def test_decision_of_another_model_lives_in_the_cache_folder(tmp_path, monkeypatch):
    from chatbot.query import decide

    monkeypatch.setenv("CHATBOT_CACHE_DIR", str(tmp_path))
    assert decide.default_path("/models/other-e5") == tmp_path / "decisions" / (
        fsutil.cache_name("/models/other-e5") + ".json")
    assert decide.default_path(decide.shipped().model_id).name == "decision.json"  # the package's own file
