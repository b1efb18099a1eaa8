"""Build, save and load the index: passages, a FAISS dense index and a BM25 index, with a manifest.

Layout (the bm25s idea, plus a checked manifest)::

    index/
      current -> build-20261125T120000-ab12cd   (symlink, swapped atomically)
      build-.../manifest.json    format, model, settings, source checksums, counts, file checksums
      build-.../passages.jsonl   one Passage per line, with its embedding key
      build-.../dense.faiss      inner product over L2-normalised vectors (flat, HNSW or IVF-SQ8: chatbot/ann.py)
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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from . import __version__
from .catalog import Catalog
from .embedders import Embedder
from .errors import IndexError_, StaleIndexError
from .passages import SplitterSettings, split_document
from .records import Document, Passage

FORMAT_VERSION = 1
CURRENT = "current"
MANIFEST = "manifest.json"
PASSAGES = "passages.jsonl"
DENSE = "dense.faiss"
EMBEDDINGS = "embeddings.npy"
LEXICON = "lexicon.json"
VOCAB = "vocab.json"
VOCAB_VECTORS = "vocab.npy"
NOT_CHECKED_BY_LOAD = frozenset({EMBEDDINGS, VOCAB_VECTORS})  # a cache for builds, verified when a build reads it
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
    passages: list[Passage]
    documents: dict[str, Document]
    dense: object  # faiss.Index
    bm25: object  # bm25s.BM25
    lexicon: dict = field(default_factory=dict)  # English word -> Norwegian corpus words (chatbot/lexicon.py)
    party_ids: dict[str, np.ndarray] = field(default_factory=dict)
    _party_rows: OrderedDict = field(default_factory=OrderedDict, init=False, repr=False, compare=False)
    _party_rows_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    PARTY_ROWS_CACHED = 32  # party sets kept; each costs ~2.25 bytes per passage (two masks, two bitmaps)

    @property
    def parties(self) -> tuple[str, ...]:
        return tuple(sorted({p.party for p in self.passages} | {d.party for d in self.documents.values()}))

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


def embed_key(model_checksum: str, text: str) -> str:
    return hashlib.sha256(f"{model_checksum}\0{text}".encode()).hexdigest()[:32]


def expected_settings(splitter: SplitterSettings) -> dict:
    from . import lexicon as lx

    return {"splitter": splitter.to_dict(), "bm25": BM25_SETTINGS,
            "lexicon": {"english_words": lx.ENGLISH_WORDS, "max_vocab": lx.MAX_VOCAB, "hub": lx.HUB_NEIGHBOURS,
                        "mutual_top": lx.MUTUAL_TOP, "min_cosine": lx.MIN_COSINE,
                        "vocabulary": 2}}  # bump when corpus_vocabulary changes


def stale_reasons(manifest: dict, catalog: Catalog, embedder: Embedder, splitter: SplitterSettings) -> list[str]:
    """Why an index built with ``manifest`` does not fit these inputs (empty when it does)."""
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
    reason = _dense_kind_reason(manifest)
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


def _dense_kind_reason(manifest: dict) -> str | None:
    """Why the dense index's kind is not the one a build would make now (``$CHATBOT_DENSE_INDEX`` or
    the size rule), or None; DenseKindError (a ChatbotError) when ``$CHATBOT_DENSE_INDEX`` is invalid."""
    from .ann import manifest_kind, requested_kind

    n = manifest.get("counts", {}).get("passages")
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        return None  # malformed counts: load refuses the index as inconsistent
    wanted, who = requested_kind(n)
    built = manifest_kind(manifest.get("dense") or {})
    if built != wanted:
        return f"dense index kind is {built!r} but {who}" if built else f"dense index kind is not recorded but {who}"
    return None


def build(catalog: Catalog, embedder: Embedder, index_dir: Path, splitter: SplitterSettings = SplitterSettings(),
          progress: Progress | None = None) -> Path:
    """Split, embed and index every catalogued document; swap the result in atomically."""
    say = progress or (lambda _msg: None)
    embedder.warm_up()
    passages: list[Passage] = []
    for doc in catalog.documents:
        found = split_document(doc, catalog.text(doc.source), splitter)
        say(f"{doc.source}: {len(found)} passages ({doc.party})")
        passages.extend(found)
    if not passages:
        raise IndexError_("the sources yield no passages; check sources/catalog.toml")
    from .ann import resolve_kind

    resolve_kind(len(passages))  # an invalid $CHATBOT_DENSE_INDEX fails now, not after embedding
    checksum = embedder.checksum
    texts = [p.embedding_text() for p in passages]
    keys = [embed_key(checksum, t) for t in texts]
    vectors = _embed_with_cache(embedder, texts, keys, index_dir, say)
    from . import lexicon as lexicon_mod
    from .e5convert import default_cache_dir

    previous = (index_dir / CURRENT).resolve() if (index_dir / CURRENT).exists() else None
    lexicon = lexicon_mod.build(embedder, [p.text for p in passages], previous, default_cache_dir(), say)
    _prepare_dir(index_dir)
    with _build_lock(index_dir):
        _remove_leftovers(index_dir)
        tmp = index_dir / f".tmp-{uuid.uuid4().hex[:12]}"
        tmp.mkdir()
        try:
            _write(tmp, catalog, embedder, splitter, passages, keys, vectors, lexicon)
            final = index_dir / f"build-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
            os.rename(tmp, final)
            _swap_current(index_dir, final.name)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
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
    """Folders and links of builds that were killed part-way; only called while holding the build lock."""
    for child in index_dir.iterdir():
        if child.name.startswith(".tmp-") and child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        elif child.name.startswith(".current-") and child.is_symlink():
            with contextlib.suppress(OSError):
                child.unlink()


@contextlib.contextmanager
def _build_lock(index_dir: Path):
    import fcntl

    with open(index_dir / ".lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _embed_with_cache(embedder: Embedder, texts: list[str], keys: list[str], index_dir: Path, say: Progress) -> np.ndarray:
    """Embed only texts whose key the current index does not already hold."""
    cached = _cached_vectors(index_dir, embedder.checksum)
    todo: list[int] = []
    reused: list[int] = []
    for i, k in enumerate(keys):
        (reused if k in cached else todo).append(i)
    say(f"embedding {len(todo)} of {len(texts)} passages with {embedder.model_id} "
        f"({len(reused)} reused from the previous index)")
    fresh = embedder.embed_passages([texts[i] for i in todo],
                                    progress=lambda done, total: say(f"  embedded {done}/{total}")) if todo else None
    dim = fresh.shape[1] if fresh is not None else len(cached[keys[reused[0]]])
    vectors = np.zeros((len(texts), dim), dtype=np.float32)
    if todo:
        vectors[todo] = fresh
    for start in range(0, len(reused), _GATHER_ROWS):  # in slices: no second full-size copy in memory
        part = reused[start:start + _GATHER_ROWS]
        vectors[part] = _gather(cached, [keys[i] for i in part])
    return vectors


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
        keys = [json.loads(line)["embed_key"] for line in (path / PASSAGES).read_text(encoding="utf-8").splitlines()]
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
            and _sha256_file(path) == meta.get("sha256"))


def _write(folder: Path, catalog: Catalog, embedder: Embedder, splitter: SplitterSettings,
           passages: list[Passage], keys: list[str], vectors: np.ndarray, lexicon=None) -> None:
    import bm25s
    import faiss

    from .textnorm import tokens

    with (folder / PASSAGES).open("w", encoding="utf-8") as fh:
        for p, key in zip(passages, keys):
            fh.write(json.dumps({**p.to_dict(), "embed_key": key}, ensure_ascii=False) + "\n")
    # the exact vectors, for the next build's cache (dense.faiss may hold them quantised)
    np.save(folder / EMBEDDINGS, np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
    # --- dense index: kind chosen by corpus size (chatbot/ann.py; override with $CHATBOT_DENSE_INDEX) ---
    from .ann import describe, make_dense_index

    dense = make_dense_index(vectors)
    faiss.write_index(dense, str(folder / DENSE))
    # --- end dense index ---
    retriever = bm25s.BM25(method=BM25_SETTINGS["method"], k1=BM25_SETTINGS["k1"], b=BM25_SETTINGS["b"])
    retriever.index([tokens(p.text + " " + p.section) for p in passages], show_progress=False)
    retriever.save(str(folder / BM25_DIR))
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
        "dense": describe(dense),  # {"type": "IndexFlatIP", "kind": "flat"} for the real corpus; see chatbot/ann.py
        "files": _file_checksums(folder),
    }
    data = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
    with open(folder / MANIFEST, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _file_checksums(folder: Path) -> dict[str, dict]:
    out = {}
    for file in sorted(folder.rglob("*")):
        if file.is_file() and file.name != MANIFEST:
            out[file.relative_to(folder).as_posix()] = {"bytes": file.stat().st_size, "sha256": _sha256_file(file)}
    return out


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _swap_current(index_dir: Path, target: str) -> None:
    link = index_dir / f".current-{uuid.uuid4().hex[:8]}"
    os.symlink(target, link)
    current = index_dir / CURRENT
    if current.is_dir() and not current.is_symlink():  # a copied index: a folder, not our link
        os.rename(current, index_dir / f"build-replaced-{uuid.uuid4().hex[:6]}")  # removed with the old builds
    os.replace(link, index_dir / CURRENT)
    with contextlib.suppress(OSError):
        fd = os.open(index_dir, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)


def _remove_old_builds(index_dir: Path, keep: str) -> None:
    for child in index_dir.iterdir():
        if child.name.startswith("build-") and child.name != keep:
            shutil.rmtree(child, ignore_errors=True)


def read_manifest(index_dir: Path) -> dict:
    """The manifest of the current build; IndexError_ when there is none or it is unreadable."""
    path = index_dir / CURRENT
    if not path.exists():
        raise IndexError_(f"no index in {index_dir}; run `chatbot build`")
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexError_(f"the index manifest in {path.resolve()} is unreadable ({exc}); run `chatbot build`") from None
    if not isinstance(manifest, dict):
        raise IndexError_(f"the index manifest in {path.resolve()} is not a JSON object; run `chatbot build`")
    return manifest


def load(index_dir: Path, catalog: Catalog, embedder: Embedder, splitter: SplitterSettings = SplitterSettings()) -> Index:
    """Load and check the current index; StaleIndexError/IndexError_ say what is wrong and what to run."""
    manifest = read_manifest(index_dir)
    try:
        reasons = stale_reasons(manifest, catalog, embedder, splitter)
    except (AttributeError, KeyError, TypeError):  # fields of the wrong type: hand-edited or another program's
        raise IndexError_(f"the index manifest in {(index_dir / CURRENT).resolve()} is malformed; "
                          "run `chatbot build`") from None
    if reasons:
        raise StaleIndexError("the index is out of date: " + "; ".join(reasons) + "; run `chatbot build`")
    folder = (index_dir / CURRENT).resolve()
    _verify_files(folder, manifest)
    try:
        import bm25s
        import faiss

        passages = [Passage.from_dict({k: v for k, v in json.loads(line).items() if k != "embed_key"})
                    for line in (folder / PASSAGES).read_text(encoding="utf-8").splitlines()]
        dense = faiss.read_index(str(folder / DENSE))
        bm25 = bm25s.BM25.load(str(folder / BM25_DIR))
        lexicon = json.loads((folder / LEXICON).read_text(encoding="utf-8"))
        if not isinstance(lexicon, dict):
            raise ValueError("lexicon.json is not an object")
    except Exception as exc:
        raise IndexError_(f"the index in {folder} cannot be read ({type(exc).__name__}: {exc}); run `chatbot build`") from None
    try:
        consistent = dense.ntotal == len(passages) == manifest["counts"]["passages"] and dense.d == manifest["model"]["dim"]
    except (KeyError, TypeError):
        consistent = False
    if not consistent:
        raise IndexError_(f"the index in {folder} is inconsistent (counts differ); run `chatbot build`")
    documents = catalog.by_source()
    index = Index(path=folder, manifest=manifest, passages=passages, documents=documents, dense=dense, bm25=bm25,
                  lexicon=lexicon)
    rows: dict[str, list[int]] = {}
    for i, p in enumerate(passages):
        rows.setdefault(p.party, []).append(i)
    index.party_ids.update({party: np.array(ids, dtype=np.int64) for party, ids in rows.items()})
    return index


def _verify_files(folder: Path, manifest: dict) -> None:
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise IndexError_(f"the index manifest in {folder} lists no files; run `chatbot build`")
    for name, meta in files.items():
        if name in NOT_CHECKED_BY_LOAD:
            continue
        path = folder / name
        if not path.is_file():
            raise IndexError_(f"index file {name} is missing from {folder}; run `chatbot build`")
        if path.stat().st_size != meta.get("bytes") or _sha256_file(path) != meta.get("sha256"):
            raise IndexError_(f"index file {name} in {folder} is corrupted (checksum differs); run `chatbot build`")
