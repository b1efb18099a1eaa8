"""The embedding cache of builds: a passage is embedded again only when the current build lacks
its embedding key (the model's checksum and the text it embeds).

The vectors of a build go straight into one matrix, a memory-mapped staging file in the index
folder that the build then moves into its folder as ``embeddings.npy``; old vectors are copied in
slices, so no second full-size copy exists. ``load`` neither needs nor reads the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Callable

import numpy as np

from ..models.protocol import Embedder
from .checksums import file_matches
from .layout import CURRENT, DENSE, EMBEDDINGS, PASSAGES
from .manifest import read_manifest

STAGING_PREFIX = ".vectors-"
EMBED_ROWS = 65_536  # texts embedded per call
GATHER_ROWS = 65_536  # old vectors copied per slice

Progress = Callable[[str], None]


def embed_key(model_checksum: str, text: str) -> str:
    return hashlib.sha256(f"{model_checksum}\0{text}".encode()).hexdigest()[:32]


@contextlib.contextmanager
def staging_file(index_dir: Path):
    """A path in the index folder for this build's vectors, locked while the build runs and
    removed after it (the build renames it into its folder when it succeeds)."""
    import fcntl

    path = index_dir / f"{STAGING_PREFIX}{uuid.uuid4().hex[:12]}.npy"
    with open(path, "wb") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield path
        finally:
            with contextlib.suppress(OSError):
                path.unlink()


def embed_with_cache(embedder: Embedder, texts: list[str], keys: list[str], index_dir: Path, say: Progress,
                     staging: Path | None = None) -> np.ndarray:
    """Embed only texts whose key the current index does not already hold; into the file ``staging``
    (memory-mapped) when given, else into memory."""
    cached = cached_vectors(index_dir, embedder.checksum)
    todo: list[int] = []
    reused: list[int] = []
    for i, k in enumerate(keys):
        (reused if k in cached else todo).append(i)
    say(f"embedding {len(todo)} of {len(texts)} passages with {embedder.model_id} "
        f"({len(reused)} reused from the previous index)")
    vectors: np.ndarray | None = None

    def matrix(dim: int) -> np.ndarray:
        nonlocal vectors
        if vectors is None:
            vectors = (np.lib.format.open_memmap(staging, mode="w+", dtype=np.float32, shape=(len(texts), dim))
                       if staging is not None else np.zeros((len(texts), dim), dtype=np.float32))
        return vectors

    for start in range(0, len(todo), EMBED_ROWS):
        part = todo[start:start + EMBED_ROWS]
        fresh = embedder.embed_passages([texts[i] for i in part],
                                        progress=lambda done, total, at=start: say(f"  embedded {at + done}/{len(todo)}"))
        matrix(fresh.shape[1])[part] = fresh
        del fresh
    if reused:
        out = matrix(len(cached[keys[reused[0]]]))
        for start in range(0, len(reused), GATHER_ROWS):  # in slices: no second full-size copy in memory
            part = reused[start:start + GATHER_ROWS]
            out[part] = _gather(cached, [keys[i] for i in part])
    return vectors


class VectorCache(Mapping):
    """The previous build's vectors by embedding key (a row of a matrix, possibly memory-mapped)."""

    def __init__(self, keys: list[str], matrix: np.ndarray):
        self.rows = {k: i for i, k in enumerate(keys)}
        self.matrix = matrix

    def __getitem__(self, key: str) -> np.ndarray:
        return np.asarray(self.matrix[self.rows[key]], dtype=np.float32)

    def __contains__(self, key) -> bool:  # without reading the row
        return key in self.rows

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def _gather(cached: Mapping, keys: list[str]) -> np.ndarray:
    if isinstance(cached, VectorCache):  # one read of the rows needed (memory-mapped: only those are read)
        return np.asarray(cached.matrix[np.array([cached.rows[k] for k in keys], dtype=np.int64)], dtype=np.float32)
    return np.stack([np.asarray(cached[k], dtype=np.float32) for k in keys])


def cached_vectors(index_dir: Path, checksum: str) -> Mapping[str, np.ndarray]:
    """The current build's passage vectors by embedding key, when made by the model with ``checksum``.

    From its ``embeddings.npy`` (exact float32) if the manifest lists one and it matches its
    checksum; from a build older than that file, read back from its flat or HNSW index (exact).
    Empty, so that everything is embedded again, when neither is trustworthy: a checksum differs,
    the file is missing, or the old index is IVF-SQ8 (quantised, not the model's vectors).
    """
    try:
        path = (index_dir / CURRENT).resolve(strict=True)
        manifest = read_manifest(index_dir)  # raises for another format or a malformed manifest
        if manifest.model.checksum != checksum:
            return {}
        files = manifest.files
        if not file_matches(path, PASSAGES, files):
            return {}
        with (path / PASSAGES).open(encoding="utf-8") as fh:  # line by line: the file may be gigabytes
            keys = [json.loads(line)["embed_key"] for line in fh if line.strip()]
        if EMBEDDINGS in files:
            if not file_matches(path, EMBEDDINGS, files):
                return {}
            matrix = np.load(path / EMBEDDINGS, mmap_mode="r", allow_pickle=False)
        else:  # built before embeddings.npy
            import faiss

            from .ann import kind_of

            if not file_matches(path, DENSE, files):
                return {}
            dense = faiss.read_index(str(path / DENSE))
            if kind_of(dense) not in ("flat", "hnsw") or dense.ntotal != len(keys):
                return {}
            matrix = dense.reconstruct_n(0, dense.ntotal)
        if (matrix.dtype != np.float32 or matrix.ndim != 2 or matrix.shape[0] != len(keys)
                or matrix.shape[1] != manifest.model.dim):
            return {}
        return VectorCache(keys, matrix)
    except Exception:  # no usable previous index: embed everything
        return {}
