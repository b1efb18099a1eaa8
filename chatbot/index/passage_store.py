"""The passages of a build on disk: ``passages.jsonl`` with its line offsets, read row by row when
asked for, and each passage's BM25 keys as ids of the BM25 vocabulary."""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import BUILD_HINT, IndexError_
from ..records import Passage
from .layout import PASSAGE_KEYS, PASSAGE_KEYS_OFFSETS, PASSAGE_OFFSETS, PASSAGES
from .manifest import Manifest


class PassageStore(Sequence):
    """The passages of a build, read from ``passages.jsonl`` when asked for (and a few thousand
    kept), so that opening an index of a million passages neither parses nor holds them all.

    The file is opened once: the rows stay readable after a newer build replaces the folder.
    ``offsets[i]`` is where line ``i`` starts; ``offsets[n]`` is the file's size.
    """

    CACHED = 8192

    def __init__(self, path: Path, offsets: np.ndarray):
        import weakref

        self.path = path
        self.offsets = offsets
        self._fd = os.open(path, os.O_RDONLY)
        weakref.finalize(self, os.close, self._fd)
        self._cache: OrderedDict[int, Passage] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n = len(self)
        i = int(i)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("passage row out of range")
        with self._lock:
            found = self._cache.get(i)
            if found is not None:
                self._cache.move_to_end(i)
                return found
        start, end = int(self.offsets[i]), int(self.offsets[i + 1])
        try:
            data = json.loads(os.pread(self._fd, end - start, start))
            found = Passage.from_dict({k: v for k, v in data.items() if k != "embed_key"})
        except (ValueError, TypeError, OSError) as exc:
            raise IndexError_(f"index file {PASSAGES} in {self.path.parent} is corrupted (row {i} cannot be read: "
                              f"{type(exc).__name__})", hint=BUILD_HINT) from None
        with self._lock:
            self._cache[i] = found
            while len(self._cache) > self.CACHED:
                self._cache.popitem(last=False)
        return found

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __eq__(self, other) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, (str, bytes)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None


def write_passages(folder: Path, passages: Sequence[Passage], keys: Sequence[str]) -> None:
    """``passages.jsonl`` (each passage with its embedding key) and the offsets of its lines."""
    offsets = np.zeros(len(passages) + 1, dtype=np.int64)
    with (folder / PASSAGES).open("wb") as fh:
        for i, (p, key) in enumerate(zip(passages, keys)):
            line = (json.dumps({**p.to_dict(), "embed_key": key}, ensure_ascii=False) + "\n").encode()
            fh.write(line)
            offsets[i + 1] = offsets[i] + len(line)
    np.save(folder / PASSAGE_OFFSETS, offsets, allow_pickle=False)


def open_passages(folder: Path, manifest: Manifest) -> PassageStore | None:
    """The build's passages, or None when its offsets file does not fit passages.jsonl."""
    offsets = passage_offsets(folder, manifest)
    return PassageStore(folder / PASSAGES, offsets) if offsets is not None else None


def passage_offsets(folder: Path, manifest: Manifest) -> np.ndarray | None:
    """Where each line of passages.jsonl starts, from the build's offsets file (or, for a build made
    before it existed, from one pass over the file), ending with the file's size; None when the
    offsets file does not fit passages.jsonl."""
    size = (folder / PASSAGES).stat().st_size
    if PASSAGE_OFFSETS in manifest.files:
        offsets = np.load(folder / PASSAGE_OFFSETS, allow_pickle=False)
        if offsets.ndim != 1 or offsets.dtype != np.int64 or len(offsets) < 1 or int(offsets[-1]) != size:
            return None
        return offsets
    return line_offsets(folder / PASSAGES)


def line_offsets(path: Path) -> np.ndarray:
    starts = [np.zeros(1, dtype=np.int64)]
    done = 0
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 24), b""):
            starts.append(np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10).astype(np.int64) + done + 1)
            done += len(block)
    offsets = np.concatenate(starts)
    if offsets[-1] != done:  # a last line without its newline
        offsets = np.append(offsets, done)
    return offsets


class RecordedKeys:
    """Each passage's BM25 keys as the build recorded them: ids (memory-mapped) into the BM25 vocabulary."""

    def __init__(self, ids: np.ndarray, offsets: np.ndarray, words: list):
        self.ids, self.offsets, self.words = ids, offsets, words

    def of(self, row: int) -> frozenset[str] | None:
        """The keys of passage ``row``; None when an id lies outside the vocabulary (the checksum check
        reports the damage)."""
        try:
            return frozenset(self.words[i] for i in self.ids[self.offsets[row]:self.offsets[row + 1]].tolist())
        except IndexError:
            return None


def write_passage_keys(folder: Path, passage_tokens: list[list[str]], vocab: dict) -> None:
    """Each passage's BM25 keys as ids of the BM25 vocabulary (rows of PASSAGE_KEYS, delimited by
    PASSAGE_KEYS_OFFSETS), so that a query's coverage need not tokenize its candidates again."""
    offsets = np.zeros(len(passage_tokens) + 1, dtype=np.int64)
    ids = np.empty(sum(len(t) for t in passage_tokens), dtype=np.int32)
    at = 0
    for i, toks in enumerate(passage_tokens):
        row = [vocab[t] for t in dict.fromkeys(toks)]
        ids[at:at + len(row)] = row
        at += len(row)
        offsets[i + 1] = at
    np.save(folder / PASSAGE_KEYS, ids[:at], allow_pickle=False)
    np.save(folder / PASSAGE_KEYS_OFFSETS, offsets, allow_pickle=False)


def read_passage_keys(folder: Path, manifest: Manifest, vocab: dict, n: int) -> RecordedKeys | None:
    """The build's passage keys, or None when it has none or they do not fit its BM25 vocabulary
    ``vocab`` (word -> id; the keys are then made from the passages' text)."""
    if PASSAGE_KEYS not in manifest.files or PASSAGE_KEYS_OFFSETS not in manifest.files:
        return None
    try:
        ids = np.load(folder / PASSAGE_KEYS, mmap_mode="r", allow_pickle=False)
        offsets = np.load(folder / PASSAGE_KEYS_OFFSETS, allow_pickle=False)
        words: list = [None] * (max(vocab.values(), default=-1) + 1)
        for word, i in vocab.items():
            words[i] = word
        fits = (ids.dtype == np.int32 and ids.ndim == 1 and offsets.dtype == np.int64 and offsets.shape == (n + 1,)
                and int(offsets[0]) == 0 and int(offsets[-1]) == len(ids) and bool(np.all(np.diff(offsets) >= 0)))
    except (OSError, ValueError):
        return None
    return RecordedKeys(ids, offsets, words) if fits else None
