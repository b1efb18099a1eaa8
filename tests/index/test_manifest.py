"""The typed manifest: parsed with every field checked, written back key for key."""

import json

import pytest

from chatbot.errors import IndexError_, StaleIndexError
from chatbot.index.manifest import FORMAT_VERSION, FileInfo, Manifest, ManifestError, parse

RAW = {
    "format_version": FORMAT_VERSION,
    "chatbot_version": "0.9.0",
    "created": "2026-12-02T12:00:00+00:00",
    "model": {"id": "fake-256", "checksum": "abc", "dim": 256},
    "settings": {"splitter": {"chunk_size": 600}},
    "catalog_sha256": "c0ffee",
    "sources": {"b.txt": {"sha256": "bb", "party": "Venstre", "passages": 2},
                "a.txt": {"sha256": "aa", "party": "Helsepartiet", "passages": 0}},
    "counts": {"documents": 2, "passages": 2},
    "dense": {"type": "IndexFlatIP", "kind": "flat"},
    "files": {"dense.faiss": {"bytes": 10, "sha256": "d1"},
              "passages.jsonl": {"bytes": 99, "sha256": "p1", "sample_sha256": "s1"}},
}


def test_round_trip_keeps_every_key_and_its_order():
    manifest = Manifest.from_dict(RAW)
    assert json.dumps(manifest.to_dict()) == json.dumps(RAW)
    assert list(manifest.sources) == ["b.txt", "a.txt"]  # build order, not sorted
    assert manifest.files["passages.jsonl"] == FileInfo(99, "p1", "s1")
    assert manifest.files["dense.faiss"].sample_sha256 is None
    assert manifest.counts.passages == 2 and manifest.model.dim == 256


def test_older_manifest_without_the_optional_fields():
    older = {k: v for k, v in RAW.items() if k not in ("dense", "chatbot_version", "created")}
    manifest = Manifest.from_dict(older)
    assert (manifest.dense, manifest.chatbot_version, manifest.created) == ({}, "", "")


@pytest.mark.parametrize("change, message", [
    ({"model": "fake-256"}, "model is not dict"),
    ({"model": {"id": "fake-256"}}, "model.checksum is not str"),
    ({"sources": ["a.txt"]}, "sources is not dict"),
    ({"sources": {"a.txt": {"sha256": "aa", "party": "V", "passages": -1}}}, "sources.a.txt.passages is negative"),
    ({"sources": {"a.txt": {"sha256": "aa", "party": "V", "passages": True}}}, "sources.a.txt.passages is not int"),
    ({"settings": None}, "settings is not dict"),
    ({"counts": {}}, "counts.documents is not int"),
    ({"files": ["dense.faiss"]}, "files is not dict"),
    ({"files": {"dense.faiss": {"bytes": "10", "sha256": "d1"}}}, "files.dense.faiss.bytes is not int"),
])
def test_fields_of_the_wrong_shape_are_named(change, message):
    with pytest.raises(ManifestError) as refused:
        Manifest.from_dict({**RAW, **change})
    assert str(refused.value) == message


def test_parse_says_what_to_run(tmp_path):
    with pytest.raises(StaleIndexError) as stale:
        parse({**RAW, "format_version": 0}, tmp_path)
    assert str(stale.value) == ("the index is out of date: index format 0 is not the current format "
                                f"{FORMAT_VERSION}; run `chatbot build`")
    with pytest.raises(IndexError_) as malformed:
        parse({**RAW, "counts": {}}, tmp_path)
    assert str(malformed.value) == (f"the index manifest in {tmp_path} is malformed (counts.documents is not int); "
                                    "run `chatbot build`")
    with pytest.raises(IndexError_, match="lists no files"):
        parse({**RAW, "files": {}}, tmp_path)
    with pytest.raises(IndexError_, match="is not a JSON object"):
        parse([], tmp_path)
    with pytest.raises(StaleIndexError, match="index format True is not"):
        parse({**RAW, "format_version": True}, tmp_path)
