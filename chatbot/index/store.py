"""Build, save and load the index: passages, a FAISS dense index and a BM25 index, with a manifest.

Layout (the bm25s idea, plus a checked manifest)::

    index/
      current -> build-20261125T120000-ab12cd   (symlink, swapped atomically)
      build-.../manifest.json    format, model, settings, source checksums, counts, file checksums
      build-.../passages.jsonl   one Passage per line, with its embedding key
      build-.../dense.faiss      inner product over L2-normalised vectors (flat, HNSW or IVF-SQ8: chatbot/index/ann.py)
      build-.../embeddings.npy   the exact float32 passage vectors, rows aligned with passages.jsonl
      build-.../bm25/            bm25s files

A build writes a fresh folder and then replaces the ``current`` link in one rename, so a
reader sees the old index or the new one, never half of one. ``load`` checks every file's
checksum and the manifest against the sources, model, settings and dense index kind in use.

``embeddings.npy`` is only a cache for the next build, which re-embeds just the passages whose
embedding key it lacks: ``load`` neither needs nor reads it (at a million passages of dimension
384 it is 1.5 GB), and the build that reads it checks its checksum first and re-embeds when it
differs. Indexes written before it existed (same format) still load; their next build reads the
vectors back from a flat or HNSW index (exact) and re-embeds under IVF-SQ8 (lossy).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import threading
import uuid
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from .. import __version__
from ..catalog import Catalog
from ..models.protocol import Embedder
from .. import fsutil
from ..errors import BUILD_HINT, IndexError_, StaleIndexError
from ..passages import SplitterSettings, split_document
from ..records import Document, Passage

if TYPE_CHECKING:  # pragma: no cover (heavy: imported when an index is loaded)
    import bm25s
    import faiss

FORMAT_VERSION = 1
CURRENT = "current"
MANIFEST = "manifest.json"
PASSAGES = "passages.jsonl"
DENSE = "dense.faiss"
EMBEDDINGS = "embeddings.npy"
LEXICON = "lexicon.json"
VOCAB = "vocab.json"
VOCAB_VECTORS = "vocab.npy"
PASSAGE_OFFSETS = "passages.offsets.npy"  # where each line of passages.jsonl starts (int64, n + 1)
PASSAGE_KEYS = "passage_keys.npy"  # each passage's BM25 keys as vocabulary ids (int32), row after row
PASSAGE_KEYS_OFFSETS = "passage_keys.offsets.npy"  # where each passage's ids start (int64, n + 1)
NOT_CHECKED_BY_LOAD = frozenset({EMBEDDINGS, VOCAB_VECTORS})  # a cache for builds, verified when a build reads it
# Files up to this size are checked byte for byte (sha256) at every load. Larger ones (at a
# million passages: passages.jsonl, dense.faiss, the BM25 postings, gigabytes) are checked at
# load by size and by the sha256 of SAMPLE_BLOCKS evenly spaced blocks, and byte for byte in a
# background thread (``Index.integrity``) or by ``verify(index_dir)``; the build hashes everything.
FULL_CHECK_BYTES = 64 << 20
SAMPLE_BLOCKS = 64
SAMPLE_BLOCK_BYTES = 64 << 10
BM25_DIR = "bm25"
BM25_SETTINGS = {"library": "bm25s", "method": "lucene", "k1": 1.2, "b": 0.75,
                 "stemmer": "snowball-norwegian", "stopwords": "bm25s-norwegian", "folding": "æøå",
                 "tokens": 3}  # bump when textnorm.tokens changes

Progress = Callable[[str], None]


@dataclass
class Index:
    """A loaded index, ready to search."""

    path: Path
    manifest: dict
    passages: Sequence[Passage]  # a PassageStore (read from passages.jsonl on use) or a list
    documents: dict[str, Document]
    dense: faiss.Index
    bm25: bm25s.BM25
    lexicon: dict = field(default_factory=dict)  # English word -> Norwegian corpus words (chatbot/index/lexicon.py)
    party_ids: dict[str, np.ndarray] = field(default_factory=dict)
    _party_rows: OrderedDict = field(default_factory=OrderedDict, init=False, repr=False, compare=False)
    _party_rows_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)
    _parties: tuple | None = field(default=None, init=False, repr=False, compare=False)
    integrity: "Integrity | None" = field(default=None, repr=False, compare=False)  # the full checksum check of large files

    PARTY_ROWS_CACHED = 32  # party sets kept; each costs ~2.25 bytes per passage (two masks, two bitmaps)

    _key_ids: tuple | None = field(default=None, init=False, repr=False, compare=False)

    def passage_keys(self, row: int) -> frozenset[str] | None:
        """The BM25 keys of passage ``row`` as the build recorded them; None for an index without them."""
        if self._key_ids is None:
            return None
        ids, offsets, words = self._key_ids
        try:
            return frozenset(words[i] for i in ids[offsets[row]:offsets[row + 1]].tolist())
        except IndexError:  # an id outside the vocabulary: the checksum check reports the damage
            return None

    @property
    def parties(self) -> tuple[str, ...]:
        """Every party with a document or a passage (computed once: the passages do not change)."""
        if self._parties is None:
            have = set(self.party_ids) if self.party_ids else {p.party for p in self.passages}
            self._parties = tuple(sorted(have | {d.party for d in self.documents.values()}))
        return self._parties

    def party_rows(self, parties) -> PartyRows:
        """The rows of ``parties``' passages and of all others, as ``ann.RowFilter``s made once per
        party set and reused, so that a party-restricted query does no work in proportion to the index."""
        key = tuple(sorted({p for p in parties if p in self.party_ids}))
        with self._party_rows_lock:
            found = self._party_rows.get(key)
            if found is not None:
                self._party_rows.move_to_end(key)
                return found
            from .ann import RowFilter

            n = len(self.passages)
            allowed = RowFilter(np.concatenate([self.party_ids[p] for p in key]) if key else None, n)
            found = PartyRows(allowed, allowed.complement())
            self._party_rows[key] = found
            while len(self._party_rows) > self.PARTY_ROWS_CACHED:
                self._party_rows.popitem(last=False)
            return found


@dataclass(frozen=True)
class PartyRows:
    allowed: object  # ann.RowFilter: the passages of the parties
    others: object  # ann.RowFilter: every other passage


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


def embed_key(model_checksum: str, text: str) -> str:
    return hashlib.sha256(f"{model_checksum}\0{text}".encode()).hexdigest()[:32]


def expected_settings(splitter: SplitterSettings) -> dict:
    from . import lexicon as lx

    return {"splitter": splitter.to_dict(), "bm25": BM25_SETTINGS,
            "lexicon": {"english_words": lx.ENGLISH_WORDS, "max_vocab": lx.MAX_VOCAB, "hub": lx.HUB_NEIGHBOURS,
                        "mutual_top": lx.MUTUAL_TOP, "min_cosine": lx.MIN_COSINE,
                        "vocabulary": 2}}  # bump when corpus_vocabulary changes


def stale_reasons(manifest: dict, catalog: Catalog, embedder: Embedder, splitter: SplitterSettings,
                  dense_kind: str | None = None) -> list[str]:
    """Why an index built with ``manifest`` does not fit these inputs (empty when it does); ``dense_kind``:
    the dense index kind asked for (the settings' ``dense_index``; None: the environment's)."""
    reasons = []
    if manifest.get("format_version") != FORMAT_VERSION:
        reasons.append(f"index format {manifest.get('format_version')} is not the current format {FORMAT_VERSION}")
        return reasons
    model = manifest.get("model", {})
    if model.get("id") != embedder.model_id:
        reasons.append(f"it was built with model {model.get('id')!r}, not {embedder.model_id!r}")
    elif model.get("checksum") != embedder.checksum:
        reasons.append(f"the weights of model {embedder.model_id!r} changed")
    if manifest.get("settings") != expected_settings(splitter):
        reasons.append("passage or BM25 settings changed")
    reason = _dense_kind_reason(manifest, _dense_kind(dense_kind))
    if reason:
        reasons.append(reason)
    built = manifest.get("sources", {})
    current = {d.source: d.sha256 for d in catalog.documents}
    for name in sorted(set(built) | set(current)):
        if name not in current:
            reasons.append(f"source {name} was removed from the catalog")
        elif name not in built:
            reasons.append(f"source {name} is new")
        elif built[name].get("sha256") != current[name]:
            reasons.append(f"source {name} changed since the index was built")
    if not reasons and manifest.get("catalog_sha256") != catalog.sha256:
        reasons.append("the catalog (sources/catalog.toml) changed")
    return reasons


def _dense_kind(kind: str | None) -> str:
    """The dense index kind asked for: ``kind``, or for callers given none, the environment's (chatbot/settings.py)."""
    if kind is not None:
        return kind
    from ..settings import from_env

    return from_env(("dense_index",)).dense_index


def _dense_kind_reason(manifest: dict, kind: str) -> str | None:
    """Why the dense index's kind is not the one a build would make now (``kind``, from the settings'
    ``$CHATBOT_DENSE_INDEX``, or the size rule), or None; DenseKindError (a ChatbotError) when ``kind`` is invalid."""
    from .ann import manifest_kind, requested_kind

    n = manifest.get("counts", {}).get("passages")
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        return None  # malformed counts: load refuses the index as inconsistent
    wanted, who = requested_kind(n, kind)
    built = manifest_kind(manifest.get("dense") or {})
    if built != wanted:
        return f"dense index kind is {built!r} but {who}" if built else f"dense index kind is not recorded but {who}"
    return None


def build(catalog: Catalog, embedder: Embedder, index_dir: Path, splitter: SplitterSettings = SplitterSettings(),
          progress: Progress | None = None, *, dense_kind: str | None = None, cache_dir: Path | None = None) -> Path:
    """Split, embed and index every catalogued document; swap the result in atomically.

    ``dense_kind``: the dense index kind (chatbot/index/ann.py; "auto": by size), ``cache_dir``: where the
    lexicon keeps its English vectors; both from the settings (None: the environment's)."""
    say = progress or (lambda _msg: None)
    dense_kind = _dense_kind(dense_kind)
    embedder.warm_up()
    passages: list[Passage] = []
    for doc in catalog.documents:
        found = split_document(doc, catalog.text(doc.source), splitter)
        say(f"{doc.source}: {len(found)} passages ({doc.party})")
        passages.extend(found)
    if not passages:
        raise IndexError_("the sources yield no passages; check sources/catalog.toml")
    from .ann import resolve_kind

    resolve_kind(len(passages), dense_kind)  # an invalid kind fails now, not after embedding
    checksum = embedder.checksum
    texts = [p.embedding_text() for p in passages]
    keys = [embed_key(checksum, t) for t in texts]
    _prepare_dir(index_dir)
    with _staging_file(index_dir) as staging:  # the vectors are written once, into the file the build keeps
        vectors = _embed_with_cache(embedder, texts, keys, index_dir, say, staging)
        del texts
        from . import lexicon as lexicon_mod

        if cache_dir is None:
            from ..settings import default_cache_dir

            cache_dir = default_cache_dir()
        previous = (index_dir / CURRENT).resolve() if (index_dir / CURRENT).exists() else None
        lexicon = lexicon_mod.build(embedder, [p.text for p in passages], previous, cache_dir, say)
        with fsutil.file_lock(index_dir / ".lock"):
            _remove_leftovers(index_dir)
            final = index_dir / f"build-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
            with fsutil.publishing(final, temp=index_dir / f".tmp-{uuid.uuid4().hex[:12]}") as tmp:
                _write(tmp, catalog, embedder, splitter, passages, keys, vectors, lexicon, dense_kind)
                del vectors
            _swap_current(index_dir, final.name)
            _remove_old_builds(index_dir, keep=final.name)
    say(f"index written to {final} ({len(passages)} passages)")
    return final


def _prepare_dir(index_dir: Path) -> None:
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        probe = index_dir / f".probe-{uuid.uuid4().hex[:8]}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise IndexError_(f"cannot write the index folder {index_dir}: {exc.strerror or exc}; "
                          "make it writable or pass --index DIR") from None


def _remove_leftovers(index_dir: Path) -> None:
    """Folders, links and vector files of builds that were killed part-way; only called while
    holding the build lock. A vector file is another build's while that build holds its lock."""
    import fcntl

    for child in index_dir.iterdir():
        if child.name.startswith(".tmp-") and child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        elif child.name.startswith(STAGING_PREFIX) and child.is_file() and not child.is_symlink():
            with contextlib.suppress(OSError), open(child, "rb") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)  # fails while its build runs
                child.unlink()
        elif child.name.startswith(".current-") and child.is_symlink():
            with contextlib.suppress(OSError):
                child.unlink()


STAGING_PREFIX = ".vectors-"


@contextlib.contextmanager
def _staging_file(index_dir: Path):
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


def _embed_with_cache(embedder: Embedder, texts: list[str], keys: list[str], index_dir: Path, say: Progress,
                      staging: Path | None = None) -> np.ndarray:
    """Embed only texts whose key the current index does not already hold.

    The vectors go straight into one matrix: the file ``staging`` (memory-mapped: the build moves
    it into its folder as embeddings.npy) when given, else memory. Texts are embedded
    ``_EMBED_ROWS`` at a time and old vectors copied in slices, so no second full-size copy exists.
    """
    cached = _cached_vectors(index_dir, embedder.checksum)
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

    for start in range(0, len(todo), _EMBED_ROWS):
        part = todo[start:start + _EMBED_ROWS]
        fresh = embedder.embed_passages([texts[i] for i in part],
                                        progress=lambda done, total, at=start: say(f"  embedded {at + done}/{len(todo)}"))
        matrix(fresh.shape[1])[part] = fresh
        del fresh
    if reused:
        out = matrix(len(cached[keys[reused[0]]]))
        for start in range(0, len(reused), _GATHER_ROWS):  # in slices: no second full-size copy in memory
            part = reused[start:start + _GATHER_ROWS]
            out[part] = _gather(cached, [keys[i] for i in part])
    return vectors


_EMBED_ROWS = 65_536
_GATHER_ROWS = 65_536


class _VectorCache(Mapping):
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
    if isinstance(cached, _VectorCache):  # one read of the rows needed (memory-mapped: only those are read)
        return np.asarray(cached.matrix[np.array([cached.rows[k] for k in keys], dtype=np.int64)], dtype=np.float32)
    return np.stack([np.asarray(cached[k], dtype=np.float32) for k in keys])


def _cached_vectors(index_dir: Path, checksum: str) -> Mapping[str, np.ndarray]:
    """The current build's passage vectors by embedding key, when made by the model with ``checksum``.

    From its ``embeddings.npy`` (exact float32) if the manifest lists one and it matches its
    checksum; from a build older than that file, read back from its flat or HNSW index (exact).
    Empty, so that everything is embedded again, when neither is trustworthy: a checksum differs,
    the file is missing, or the old index is IVF-SQ8 (quantised, not the model's vectors).
    """
    try:
        path = (index_dir / CURRENT).resolve(strict=True)
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("format_version") != FORMAT_VERSION or manifest["model"]["checksum"] != checksum:
            return {}
        files = manifest["files"]
        if not _file_matches(path, PASSAGES, files):
            return {}
        with (path / PASSAGES).open(encoding="utf-8") as fh:  # line by line: the file may be gigabytes
            keys = [json.loads(line)["embed_key"] for line in fh if line.strip()]
        if EMBEDDINGS in files:
            if not _file_matches(path, EMBEDDINGS, files):
                return {}
            matrix = np.load(path / EMBEDDINGS, mmap_mode="r", allow_pickle=False)
        else:  # built before embeddings.npy
            import faiss

            from .ann import kind_of

            if not _file_matches(path, DENSE, files):
                return {}
            dense = faiss.read_index(str(path / DENSE))
            if kind_of(dense) not in ("flat", "hnsw") or dense.ntotal != len(keys):
                return {}
            matrix = dense.reconstruct_n(0, dense.ntotal)
        if (matrix.dtype != np.float32 or matrix.ndim != 2 or matrix.shape[0] != len(keys)
                or matrix.shape[1] != manifest["model"]["dim"]):
            return {}
        return _VectorCache(keys, matrix)
    except Exception:  # no usable previous index: embed everything
        return {}


def _file_matches(folder: Path, name: str, files: dict) -> bool:
    meta = files.get(name)
    path = folder / name
    return (isinstance(meta, dict) and path.is_file() and path.stat().st_size == meta.get("bytes")
            and fsutil.sha256_file(path) == meta.get("sha256"))


def _write(folder: Path, catalog: Catalog, embedder: Embedder, splitter: SplitterSettings,
           passages: list[Passage], keys: list[str], vectors: np.ndarray, lexicon=None,
           dense_kind: str = "auto") -> None:
    import bm25s
    import faiss

    from ..textnorm import tokens

    offsets = np.zeros(len(passages) + 1, dtype=np.int64)
    with (folder / PASSAGES).open("wb") as fh:
        for i, (p, key) in enumerate(zip(passages, keys)):
            line = (json.dumps({**p.to_dict(), "embed_key": key}, ensure_ascii=False) + "\n").encode()
            fh.write(line)
            offsets[i + 1] = offsets[i] + len(line)
    np.save(folder / PASSAGE_OFFSETS, offsets, allow_pickle=False)
    # the exact vectors, for the next build's cache (dense.faiss may hold them quantised)
    if isinstance(vectors, np.memmap) and vectors.filename and Path(vectors.filename).resolve().parent == folder.resolve().parent:
        vectors.flush()  # written in place while embedding (see _embed_with_cache): moved, not copied
        os.rename(vectors.filename, folder / EMBEDDINGS)
    else:
        np.save(folder / EMBEDDINGS, np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
    # --- dense index: kind chosen by corpus size (chatbot/index/ann.py; the settings' $CHATBOT_DENSE_INDEX overrides) ---
    from .ann import describe, make_dense_index

    dense = make_dense_index(vectors, dense_kind)
    faiss.write_index(dense, str(folder / DENSE))
    # --- end dense index ---
    retriever = bm25s.BM25(method=BM25_SETTINGS["method"], k1=BM25_SETTINGS["k1"], b=BM25_SETTINGS["b"])
    passage_tokens = [tokens(p.text + " " + p.section) for p in passages]
    retriever.index(passage_tokens, show_progress=False)
    retriever.save(str(folder / BM25_DIR))
    _write_passage_keys(folder, passage_tokens, retriever.vocab_dict)
    del passage_tokens
    pairs, vocab, vocab_vectors = lexicon or ({}, [], np.zeros((0, vectors.shape[1]), np.float32))
    (folder / LEXICON).write_text(json.dumps(pairs, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    (folder / VOCAB).write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    np.save(folder / VOCAB_VECTORS, np.ascontiguousarray(vocab_vectors, dtype=np.float32), allow_pickle=False)
    counts: dict[str, int] = {}
    for p in passages:
        counts[p.source] = counts.get(p.source, 0) + 1
    manifest = {
        "format_version": FORMAT_VERSION,
        "chatbot_version": __version__,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "model": {"id": embedder.model_id, "checksum": embedder.checksum, "dim": int(vectors.shape[1])},
        "settings": expected_settings(splitter),
        "catalog_sha256": catalog.sha256,
        "sources": {d.source: {"sha256": d.sha256, "party": d.party, "passages": counts.get(d.source, 0)}
                    for d in catalog.documents},
        "counts": {"documents": len(catalog.documents), "passages": len(passages)},
        "dense": describe(dense),  # {"type": "IndexFlatIP", "kind": "flat"} for the real corpus; see chatbot/index/ann.py
        "files": _file_checksums(folder),
    }
    fsutil.write_json(folder / MANIFEST, manifest, sync=True)


def _write_passage_keys(folder: Path, passage_tokens: list[list[str]], vocab: dict) -> None:
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


def _file_checksums(folder: Path) -> dict[str, dict]:
    out = {}
    for file in sorted(folder.rglob("*")):
        if file.is_file() and file.name != MANIFEST:
            size = file.stat().st_size
            entry = {"bytes": size, "sha256": fsutil.sha256_file(file)}
            if size > FULL_CHECK_BYTES:
                entry["sample_sha256"] = _sample_sha256(file, size)
            out[file.relative_to(folder).as_posix()] = entry
    return out


def _sample_sha256(path: Path, size: int) -> str:
    """sha256 of SAMPLE_BLOCKS blocks spread evenly over the file (its first and last included)."""
    digest = hashlib.sha256()
    last = max(0, size - SAMPLE_BLOCK_BYTES)
    with path.open("rb") as fh:
        for i in range(SAMPLE_BLOCKS):
            fh.seek(last * i // (SAMPLE_BLOCKS - 1))
            digest.update(fh.read(SAMPLE_BLOCK_BYTES))
    return digest.hexdigest()


def _swap_current(index_dir: Path, target: str) -> None:
    link = index_dir / f".current-{uuid.uuid4().hex[:8]}"
    os.symlink(target, link)
    current = index_dir / CURRENT
    if current.is_dir() and not current.is_symlink():  # a copied index: a folder, not our link
        os.rename(current, index_dir / f"build-replaced-{uuid.uuid4().hex[:6]}")  # removed with the old builds
    os.replace(link, index_dir / CURRENT)
    fsutil.fsync_dir(index_dir)


def _remove_old_builds(index_dir: Path, keep: str) -> None:
    for child in index_dir.iterdir():
        if child.name.startswith("build-") and child.name != keep:
            shutil.rmtree(child, ignore_errors=True)


def read_manifest(index_dir: Path) -> dict:
    """The manifest of the current build; IndexError_ when there is none or it is unreadable."""
    path = index_dir / CURRENT
    if not path.exists():
        raise IndexError_(f"no index in {index_dir}", hint=BUILD_HINT)
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexError_(f"the index manifest in {path.resolve()} is unreadable ({exc})", hint=BUILD_HINT) from None
    if not isinstance(manifest, dict):
        raise IndexError_(f"the index manifest in {path.resolve()} is not a JSON object", hint=BUILD_HINT)
    return manifest


def load(index_dir: Path, catalog: Catalog, embedder: Embedder, splitter: SplitterSettings = SplitterSettings(),
         verify: str = "auto", *, dense_kind: str | None = None) -> Index:
    """Load and check the current index; StaleIndexError/IndexError_ say what is wrong and what to run.

    ``verify="auto"``: every file listed in the manifest is checked by size, files up to
    ``FULL_CHECK_BYTES`` by sha256 and larger ones by sampled blocks now and in full in a
    background thread (``Index.integrity``); ``"full"``: every byte now.
    """
    if verify not in ("auto", "full"):
        raise ValueError("verify must be 'auto' or 'full'")
    manifest = read_manifest(index_dir)
    try:
        reasons = stale_reasons(manifest, catalog, embedder, splitter, _dense_kind(dense_kind))
    except (AttributeError, KeyError, TypeError):  # fields of the wrong type: hand-edited or another program's
        raise IndexError_(f"the index manifest in {(index_dir / CURRENT).resolve()} is malformed",
                          hint=BUILD_HINT) from None
    if reasons:
        raise StaleIndexError("the index is out of date: " + "; ".join(reasons), hint=BUILD_HINT)
    folder = (index_dir / CURRENT).resolve()
    deferred = _verify_files(folder, manifest, full=verify == "full")
    try:
        import bm25s
        import faiss

        offsets = _passage_offsets(folder, manifest)
        passages = PassageStore(folder / PASSAGES, offsets) if offsets is not None else None
        dense = faiss.read_index(str(folder / DENSE))
        bm25 = bm25s.BM25.load(str(folder / BM25_DIR))
        lexicon = json.loads((folder / LEXICON).read_text(encoding="utf-8"))
        if not isinstance(lexicon, dict):
            raise ValueError("lexicon.json is not an object")
    except IndexError_:
        raise
    except Exception as exc:
        raise IndexError_(f"the index in {folder} cannot be read ({type(exc).__name__}: {exc})", hint=BUILD_HINT) from None
    try:
        consistent = passages is not None and \
            dense.ntotal == len(passages) == manifest["counts"]["passages"] and dense.d == manifest["model"]["dim"]
    except (KeyError, TypeError):
        consistent = False
    rows = _party_rows_of(manifest, len(passages)) if consistent else None
    if rows is None:
        consistent = False
    if consistent and len(passages):  # the passages are where the manifest says (cheap: two rows)
        try:
            first, last = passages[0], passages[len(passages) - 1]
            sources = list(manifest["sources"])
            consistent = first.source == next(n for n in sources if manifest["sources"][n]["passages"]) and \
                last.source == next(n for n in reversed(sources) if manifest["sources"][n]["passages"])
        except IndexError_:
            consistent = False
    if not consistent:
        raise IndexError_(f"the index in {folder} is inconsistent (counts differ)", hint=BUILD_HINT)
    documents = catalog.by_source()
    index = Index(path=folder, manifest=manifest, passages=passages, documents=documents, dense=dense, bm25=bm25,
                  lexicon=lexicon)
    index.party_ids.update(rows)
    index._key_ids = _passage_key_ids(folder, manifest, bm25, len(passages))
    if deferred:
        index.integrity = _check_in_background(folder, manifest, deferred)
    return index


def verify(index_dir: Path) -> None:
    """Check every byte of every file of the current build against the manifest (what ``load`` does
    for small files only); IndexError_ names the first file that differs."""
    folder = (index_dir / CURRENT).resolve()
    _verify_files(folder, read_manifest(index_dir), full=True)


def _passage_offsets(folder: Path, manifest: dict) -> np.ndarray | None:
    """Where each line of passages.jsonl starts, from the build's offsets file (or, for a build made
    before it existed, from one pass over the file), ending with the file's size; None when the
    offsets file does not fit passages.jsonl."""
    size = (folder / PASSAGES).stat().st_size
    if PASSAGE_OFFSETS in manifest.get("files", {}):
        offsets = np.load(folder / PASSAGE_OFFSETS, allow_pickle=False)
        if offsets.ndim != 1 or offsets.dtype != np.int64 or len(offsets) < 1 or int(offsets[-1]) != size:
            return None
        return offsets
    return _line_offsets(folder / PASSAGES)


def _passage_key_ids(folder: Path, manifest: dict, bm25, n: int):
    """(ids, offsets, words) of the build's passage keys (memory-mapped), or None when the build has
    none or they do not fit its BM25 vocabulary (the keys are then made from the passages' text)."""
    files = manifest.get("files", {})
    if PASSAGE_KEYS not in files or PASSAGE_KEYS_OFFSETS not in files:
        return None
    try:
        ids = np.load(folder / PASSAGE_KEYS, mmap_mode="r", allow_pickle=False)
        offsets = np.load(folder / PASSAGE_KEYS_OFFSETS, allow_pickle=False)
        words: list = [None] * (max(bm25.vocab_dict.values(), default=-1) + 1)
        for word, i in bm25.vocab_dict.items():
            words[i] = word
        fits = (ids.dtype == np.int32 and ids.ndim == 1 and offsets.dtype == np.int64 and offsets.shape == (n + 1,)
                and int(offsets[0]) == 0 and int(offsets[-1]) == len(ids) and bool(np.all(np.diff(offsets) >= 0)))
    except (OSError, ValueError):
        return None
    return (ids, offsets, words) if fits else None


def _line_offsets(path: Path) -> np.ndarray:
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


def _party_rows_of(manifest: dict, n: int) -> dict[str, np.ndarray] | None:
    """Each party's rows: a build writes each source's passages together, in the manifest's order."""
    try:
        rows: dict[str, list[np.ndarray]] = {}
        at = 0
        for meta in manifest["sources"].values():
            count = meta["passages"]
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                return None
            if count:
                rows.setdefault(meta["party"], []).append(np.arange(at, at + count, dtype=np.int64))
            at += count
    except (AttributeError, KeyError, TypeError):
        return None
    if at != n:
        return None
    return {party: np.concatenate(parts) for party, parts in rows.items()}


def _verify_files(folder: Path, manifest: dict, full: bool = True) -> list[str]:
    """Check the listed files; the names of large files whose full sha256 is still to be checked."""
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise IndexError_(f"the index manifest in {folder} lists no files", hint=BUILD_HINT)
    deferred = []
    for name, meta in files.items():
        if name in NOT_CHECKED_BY_LOAD:
            continue
        path = folder / name
        if not path.is_file():
            raise IndexError_(f"index file {name} is missing from {folder}", hint=BUILD_HINT)
        size = path.stat().st_size
        if not isinstance(meta, dict) or size != meta.get("bytes"):
            raise IndexError_(f"index file {name} in {folder} is corrupted (checksum differs)", hint=BUILD_HINT)
        if not full and size > FULL_CHECK_BYTES and meta.get("sample_sha256"):
            if _sample_sha256(path, size) != meta["sample_sha256"]:
                raise IndexError_(f"index file {name} in {folder} is corrupted (checksum differs)", hint=BUILD_HINT)
            deferred.append(name)
        elif fsutil.sha256_file(path) != meta.get("sha256"):
            raise IndexError_(f"index file {name} in {folder} is corrupted (checksum differs)", hint=BUILD_HINT)
    return deferred


def _check_in_background(folder: Path, manifest: dict, names: list[str]) -> Integrity:
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
                if fsutil.sha256_stream(fh) != manifest["files"][name].get("sha256"):
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
