"""The checksums of a build's files: written by the build, checked at load and by ``chatbot verify``.

Files up to ``FULL_CHECK_BYTES`` are checked byte for byte (sha256) at every load. Larger ones (at a
million passages: passages.jsonl, dense.faiss, the BM25 postings, gigabytes) are checked at load by
size and by the sha256 of ``SAMPLE_BLOCKS`` evenly spaced blocks, and byte for byte in a background
thread (``Integrity``) or by ``verify``; the build hashes everything.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .. import fsutil
from ..errors import BUILD_HINT, IndexError_
from .layout import MANIFEST, NOT_CHECKED_BY_LOAD
from .manifest import FileInfo, Manifest

FULL_CHECK_BYTES = 64 << 20
SAMPLE_BLOCKS = 64
SAMPLE_BLOCK_BYTES = 64 << 10


def file_checksums(folder: Path) -> dict[str, FileInfo]:
    """Every file of ``folder`` but the manifest, by its path inside the folder, in sorted order."""
    out = {}
    for file in sorted(folder.rglob("*")):
        if file.is_file() and file.name != MANIFEST:
            size = file.stat().st_size
            out[file.relative_to(folder).as_posix()] = FileInfo(
                size, fsutil.sha256_file(file), sample_sha256(file, size) if size > FULL_CHECK_BYTES else None)
    return out


def sample_sha256(path: Path, size: int) -> str:
    """sha256 of SAMPLE_BLOCKS blocks spread evenly over the file (its first and last included)."""
    digest = hashlib.sha256()
    last = max(0, size - SAMPLE_BLOCK_BYTES)
    with path.open("rb") as fh:
        for i in range(SAMPLE_BLOCKS):
            fh.seek(last * i // (SAMPLE_BLOCKS - 1))
            digest.update(fh.read(SAMPLE_BLOCK_BYTES))
    return digest.hexdigest()


def file_matches(folder: Path, name: str, files: dict[str, FileInfo]) -> bool:
    """Whether file ``name`` of ``folder`` is, byte for byte, the one the manifest lists."""
    meta = files.get(name)
    path = folder / name
    return (meta is not None and path.is_file() and path.stat().st_size == meta.bytes
            and fsutil.sha256_file(path) == meta.sha256)


def _corrupted(name: str, folder: Path) -> IndexError_:
    return IndexError_(f"index file {name} in {folder} is corrupted (checksum differs)", hint=BUILD_HINT)


def verify_files(folder: Path, manifest: Manifest, full: bool = True) -> list[str]:
    """Check the listed files (but the build caches); the names of large files whose full sha256 is
    still to be checked (none when ``full``)."""
    deferred = []
    for name, meta in manifest.files.items():
        if name in NOT_CHECKED_BY_LOAD:
            continue
        path = folder / name
        if not path.is_file():
            raise IndexError_(f"index file {name} is missing from {folder}", hint=BUILD_HINT)
        size = path.stat().st_size
        if size != meta.bytes:
            raise _corrupted(name, folder)
        if not full and size > FULL_CHECK_BYTES and meta.sample_sha256:
            if sample_sha256(path, size) != meta.sample_sha256:
                raise _corrupted(name, folder)
            deferred.append(name)
        elif fsutil.sha256_file(path) != meta.sha256:
            raise _corrupted(name, folder)
    return deferred


@dataclass
class Integrity:
    """The byte-for-byte check of an index's large files, run in the background after a load."""

    files: tuple[str, ...]
    error: str | None = None
    done: threading.Event = field(default_factory=threading.Event)
    seconds: float | None = None

    def wait(self, timeout: float | None = None) -> str | None:
        """None when every file matched its checksum (after waiting up to ``timeout``), else why not."""
        if not self.done.wait(timeout):
            return "the checksum check is still running"
        return self.error


def check_in_background(folder: Path, manifest: Manifest, names: list[str]) -> Integrity:
    """Hash ``names`` in full in a daemon thread of low priority; a mismatch is logged and kept."""
    import sys
    import time

    state = Integrity(tuple(names))
    # the open files, so that a newer build removing the folder does not fail the check
    handles = [(name, (folder / name).open("rb")) for name in names]

    def run():
        t = time.perf_counter()
        with contextlib.suppress(Exception):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)  # Linux: this thread only
        try:
            for name, fh in handles:
                if fsutil.sha256_stream(fh) != manifest.files[name].sha256:
                    state.error = f"index file {name} in {folder} is corrupted (checksum differs); {BUILD_HINT}"
                    print(f"chatbot: error: {state.error}", file=sys.stderr, flush=True)
                    break
        except Exception as exc:  # noqa: BLE001 - reported, never raised in a background thread
            state.error = f"index files in {folder} could not be checked ({type(exc).__name__}: {exc})"
        finally:
            for _, fh in handles:
                fh.close()
            state.seconds = time.perf_counter() - t
            state.done.set()

    threading.Thread(target=run, name="index-checksums", daemon=True).start()
    return state
