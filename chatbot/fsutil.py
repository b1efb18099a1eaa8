"""Small filesystem helpers, one copy each: file checksums, atomic writes, a folder published in one
rename, a file lock and JSON marker files.

Standard library only (no numpy), so that any module may use them without slowing ``--help``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

BLOCK = 1 << 20  # read files a megabyte at a time


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file's bytes, read in blocks (the file may be gigabytes)."""
    with open(path, "rb") as fh:
        return sha256_stream(fh)


def sha256_bytes(data: bytes) -> str:
    """The hex sha256 of bytes already in memory."""
    return hashlib.sha256(data).hexdigest()


def sha256_stream(fh: BinaryIO) -> str:
    """The hex sha256 of what is left to read in an open binary file."""
    return update_digest(hashlib.sha256(), fh).hexdigest()


def update_digest(digest, fh: BinaryIO):
    """Feed the rest of an open binary file into ``digest`` (a hashlib object) in blocks; returns it."""
    for block in iter(lambda: fh.read(BLOCK), b""):
        digest.update(block)
    return digest


def slug(text: str) -> str:
    """``text`` as a safe file name part: runs of other characters than ``A-Za-z0-9._-`` become ``_``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")


def cache_name(key: str, label: str | None = None) -> str:
    """A folder or file name for what ``key`` names (a model id or path, a corpus): readable from
    ``label`` (default: the key's last path part), unique from the key's sha256: ``e5-small-1a2b3c4d``."""
    readable = slug(label if label is not None else (Path(key.rstrip("/")).name or key))[:60] or "item"
    return f"{readable}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and one rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> dict | None:
    """A JSON object from a marker file; None when it is missing, unreadable or not an object."""
    try:
        found = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def write_json(path: Path, obj: object, *, sync: bool = False) -> None:
    """Write ``obj`` as indented UTF-8 JSON (and a final newline), creating the folder; ``sync``: fsync it.

    Not atomic by itself: marker files are written last into a folder that ``publishing`` renames into
    place, so their presence means the folder is complete. Use ``atomic_write_text`` for a lone file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")
        if sync:
            fh.flush()
            os.fsync(fh.fileno())


def temp_dir_beside(target: Path) -> Path:
    """A new empty folder ``.<name>.tmp-<pid>-<random>`` beside ``target`` (parents created; permissions
    from the umask, unlike mkdtemp). ``leftover_temp_dirs(target)`` finds those of killed writers."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        tmp = target.parent / f".{target.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            tmp.mkdir()
            return tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a temporary folder beside {target}")


def leftover_temp_dirs(target: Path) -> list[Path]:
    """The temporary folders ``temp_dir_beside(target)`` made that are still there."""
    target = Path(target)
    return sorted(p for p in target.parent.glob(f".{target.name}.tmp-*") if p.is_dir() and not p.is_symlink())


def remove_leftovers(target: Path) -> None:
    """Remove the temporary folders of writers of ``target`` that were killed part-way (call under the lock)."""
    for stale in leftover_temp_dirs(target):
        shutil.rmtree(stale, ignore_errors=True)


@contextlib.contextmanager
def publishing(target: Path, temp: Path | None = None) -> Iterator[Path]:
    """Atomic folder publish: yields a new temporary folder beside ``target`` (``temp`` if given: a new
    folder of that name in the same filesystem folder); when the block ends normally the folder is
    renamed to ``target`` in one step (a reader sees nothing or all of it), and when it raises, the
    folder is removed. The rename fails (OSError) if ``target`` exists and is not an empty folder."""
    if temp is None:
        tmp = temp_dir_beside(target)
    else:
        tmp = Path(temp)
        tmp.mkdir()
    try:
        yield tmp
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (best effort: not every system can open a folder)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class file_lock:  # noqa: N801 - used like a function: ``with file_lock(path):``
    """An exclusive ``fcntl`` lock on ``path`` for the duration of a with-block (created if missing;
    a no-op where there is no fcntl). ``error(exc)`` turns an OSError opening the file into the
    exception to raise (default: the OSError itself)."""

    def __init__(self, path: Path, error: Callable[[OSError], BaseException] | None = None):
        self.path, self.error, self.handle = Path(path), error, None

    def __enter__(self) -> "file_lock":
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: atomic renames still protect the data
            return self
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.handle = open(self.path, "a+b")
        except OSError as exc:
            if self.error is None:
                raise
            raise self.error(exc) from None
        fcntl.flock(self.handle.fileno(), fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc) -> None:
        if self.handle is not None:
            self.handle.close()  # closing releases the lock
            self.handle = None
