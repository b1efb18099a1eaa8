"""Build, publish and load the index: passages, a FAISS dense index and a BM25 index, with a manifest.

An index is a folder of named files (chatbot/index/layout.py) and a checked manifest
(chatbot/index/manifest.py), the bm25s idea. A build writes a fresh folder and then replaces the
``current`` link in one rename, so a reader sees the old index or the new one, never half of one.
``load`` checks the manifest against the sources, model, settings and dense index kind in use and
every file against its checksum (chatbot/index/checksums.py). The passages are read from disk row by
row (chatbot/index/passage_store.py), the party filters come from the manifest
(chatbot/index/party_rows.py) and a rebuild re-embeds only what changed (chatbot/index/embed_cache.py).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from .. import __version__, fsutil
from ..catalog import Catalog
from ..errors import BUILD_HINT, IndexError_, StaleIndexError
from ..models.protocol import Embedder
from ..passages import SplitterSettings, split_document
from ..records import Document, Passage
from .checksums import Integrity, check_in_background, file_checksums, verify_files
from .embed_cache import STAGING_PREFIX, embed_key, embed_with_cache, staging_file
from .layout import (BM25_DIR, CURRENT, DENSE, EMBEDDINGS, LEXICON, MANIFEST, NYNORSK_WORDS, VOCAB, VOCAB_VECTORS, WORD_TABLE,
                     WORD_TABLE_VECTORS)
from .manifest import (BM25_SETTINGS, FORMAT_VERSION, Counts, Manifest, ModelInfo, SourceInfo, dense_kind_asked,
                       expected_settings, read_manifest, stale_reasons)
from .party_rows import PartyRowCache, PartyRows, rows_of
from .passage_store import RecordedKeys, open_passages, read_passage_keys, write_passage_keys, write_passages

if TYPE_CHECKING:  # pragma: no cover (heavy: imported when an index is loaded)
    import bm25s
    import faiss

Progress = Callable[[str], None]


@dataclass
class Index:
    """A loaded index, ready to search."""

    path: Path
    manifest: Manifest
    passages: Sequence[Passage]  # a PassageStore (read from passages.jsonl on use) or a list
    documents: dict[str, Document]
    dense: faiss.Index
    bm25: bm25s.BM25
    lexicon: dict = field(default_factory=dict)  # English word -> Norwegian corpus words (chatbot/index/lexicon.py)
    nynorsk_words: dict = field(default_factory=dict)  # nynorsk form -> bokmål word (chatbot/index/nynorsk_words.py)
    party_ids: dict[str, np.ndarray] = field(default_factory=dict)  # each party's rows
    keys: RecordedKeys | None = field(default=None, repr=False, compare=False)  # each passage's BM25 keys
    integrity: Integrity | None = field(default=None, repr=False, compare=False)  # the full checksum check of large files
    _rows: PartyRowCache = field(init=False, repr=False, compare=False)
    _parties: tuple | None = field(default=None, init=False, repr=False, compare=False)
    _words: object | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        self._rows = PartyRowCache(self.party_ids, len(self.passages))  # reads party_ids as load fills it

    def word_table(self):
        """The query-time word table (``query/wordmatch.py``), read on first use."""
        table = self._words
        if table is None:
            with _WORDS_LOCK:
                table = self._words
                if table is None:
                    table = self._words = read_word_table(self.path)
        return table

    def passage_keys(self, row: int) -> frozenset[str] | None:
        """The BM25 keys of passage ``row`` as the build recorded them; None for an index without them."""
        return self.keys.of(row) if self.keys is not None else None

    @property
    def parties(self) -> tuple[str, ...]:
        """Every party with a document or a passage (computed once: the passages do not change)."""
        if self._parties is None:
            have = set(self.party_ids) if self.party_ids else {p.party for p in self.passages}
            self._parties = tuple(sorted(have | {d.party for d in self.documents.values()}))
        return self._parties

    def party_rows(self, parties) -> PartyRows:
        """The rows of ``parties``' passages and of all others, as ``ann.RowFilter``s made once per
        party set and reused."""
        return self._rows.get(parties)


def build(catalog: Catalog, embedder: Embedder, index_dir: Path, splitter: SplitterSettings = SplitterSettings(),
          progress: Progress | None = None, *, dense_kind: str | None = None, cache_dir: Path | None = None) -> Path:
    """Split, embed and index every catalogued document; swap the result in atomically.

    ``dense_kind``: the dense index kind (chatbot/index/ann.py; "auto": by size), ``cache_dir``: where the
    lexicon keeps its English vectors; both from the settings (None: the environment's)."""
    say = progress or (lambda _msg: None)
    dense_kind = dense_kind_asked(dense_kind)
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
    from . import standards

    # nynorsk passages are also embedded and indexed in bokmål (chatbot/index/standards.py)
    bokmal = standards.bokmal_forms(passages, {d.source: d.language for d in catalog.documents}, say=say)
    texts: list = [p.embedding_text() for p in passages]
    for i, form in bokmal.embedding.items():
        texts[i] = (texts[i], form)
    keys = [embed_key(checksum, t if isinstance(t, str) else "\0bokmål\0".join(t)) for t in texts]
    _prepare_dir(index_dir)
    with staging_file(index_dir) as staging:  # the vectors are written once, into the file the build keeps
        vectors = embed_with_cache(standards.BothForms(embedder) if len(bokmal) else embedder, texts, keys,
                                   index_dir, say, staging)
        del texts
        from . import lexicon as lexicon_mod

        if cache_dir is None:
            from ..settings import default_cache_dir

            cache_dir = default_cache_dir()
        previous = (index_dir / CURRENT).resolve() if _word_vectors_fit(index_dir) else None
        lexicon = lexicon_mod.build(embedder, [p.text for p in passages], previous, cache_dir, say)
        from . import nynorsk_words

        nynorsk = nynorsk_words.build(cache_dir, say)
        with fsutil.file_lock(index_dir / ".lock"):
            _remove_leftovers(index_dir)
            final = index_dir / f"build-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
            with fsutil.publishing(final, temp=index_dir / f".tmp-{uuid.uuid4().hex[:12]}") as tmp:
                _write(tmp, catalog, embedder, splitter, passages, keys, vectors, lexicon, dense_kind, bokmal.keys,
                       nynorsk)
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


def _word_vectors_fit(index_dir: Path) -> bool:
    """Whether the current build's lexicon word vectors were made as this version makes them (reusable)."""
    from . import lexicon as lexicon_mod

    try:
        return read_manifest(index_dir).settings.get("lexicon", {}).get("word_vectors") == lexicon_mod.WORD_VECTORS
    except IndexError_:  # no build yet, or a damaged or older one: nothing to reuse
        return False


def _write(folder: Path, catalog: Catalog, embedder: Embedder, splitter: SplitterSettings,
           passages: list[Passage], keys: list[str], vectors: np.ndarray, lexicon=None,
           dense_kind: str = "auto", also_keys: dict[int, str] | None = None,
           nynorsk_words: dict[str, str] | None = None) -> None:
    """Write an index folder. ``also_keys``: more text whose BM25 keys a passage gets, by row (the bokmål
    form of a nynorsk passage, chatbot/index/standards.py); ``nynorsk_words``: the question words' map
    (chatbot/index/nynorsk_words.py)."""
    import bm25s
    import faiss

    from ..textnorm import tokens

    write_passages(folder, passages, keys)
    # the exact vectors, for the next build's cache (dense.faiss may hold them quantised)
    if isinstance(vectors, np.memmap) and vectors.filename and Path(vectors.filename).resolve().parent == folder.resolve().parent:
        vectors.flush()  # written in place while embedding (see embed_cache): moved, not copied
        os.rename(vectors.filename, folder / EMBEDDINGS)
    else:
        np.save(folder / EMBEDDINGS, np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
    # --- dense index: kind chosen by corpus size (chatbot/index/ann.py; the settings' $CHATBOT_DENSE_INDEX overrides) ---
    from .ann import describe, make_dense_index

    dense = make_dense_index(vectors, dense_kind)
    faiss.write_index(dense, str(folder / DENSE))
    # --- end dense index ---
    retriever = bm25s.BM25(method=BM25_SETTINGS["method"], k1=BM25_SETTINGS["k1"], b=BM25_SETTINGS["b"])
    also_keys = also_keys or {}
    passage_tokens = [tokens(p.text + " " + p.section + (" " + also_keys[i] if i in also_keys else ""))
                      for i, p in enumerate(passages)]
    retriever.index(passage_tokens, show_progress=False)
    retriever.save(str(folder / BM25_DIR))
    write_passage_keys(folder, passage_tokens, retriever.vocab_dict)
    del passage_tokens
    if lexicon is None:
        from .lexicon import Built

        empty = np.zeros((0, vectors.shape[1]), np.float32)
        lexicon = Built({}, [], empty, [], empty)
    (folder / LEXICON).write_text(json.dumps(lexicon.pairs, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    (folder / VOCAB).write_text(json.dumps(lexicon.vocab, ensure_ascii=False), encoding="utf-8")
    np.save(folder / VOCAB_VECTORS, np.ascontiguousarray(lexicon.vocab_vectors, dtype=np.float32), allow_pickle=False)
    table_words, table_vectors = lexicon.word_table()
    (folder / WORD_TABLE).write_text(json.dumps(table_words, ensure_ascii=False), encoding="utf-8")
    np.save(folder / WORD_TABLE_VECTORS, table_vectors, allow_pickle=False)
    (folder / NYNORSK_WORDS).write_text(json.dumps(nynorsk_words or {}, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    counts: dict[str, int] = {}
    for p in passages:
        counts[p.source] = counts.get(p.source, 0) + 1
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        chatbot_version=__version__,
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        model=ModelInfo(embedder.model_id, embedder.checksum, int(vectors.shape[1])),
        settings=expected_settings(splitter),
        catalog_sha256=catalog.sha256,
        sources={d.source: SourceInfo(d.sha256, d.party, counts.get(d.source, 0)) for d in catalog.documents},
        counts=Counts(len(catalog.documents), len(passages)),
        dense=describe(dense),  # {"type": "IndexFlatIP", "kind": "flat"} for the real corpus; see chatbot/index/ann.py
        files=file_checksums(folder),
    )
    fsutil.write_json(folder / MANIFEST, manifest.to_dict(), sync=True)


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


def load(index_dir: Path, catalog: Catalog, embedder: Embedder, splitter: SplitterSettings = SplitterSettings(),
         verify: str = "auto", *, dense_kind: str | None = None) -> Index:
    """Load and check the current index; StaleIndexError/IndexError_ say what is wrong and what to run.

    ``verify="auto"``: every file listed in the manifest is checked by size, files up to
    ``checksums.FULL_CHECK_BYTES`` by sha256 and larger ones by sampled blocks now and in full in a
    background thread (``Index.integrity``); ``"full"``: every byte now.
    """
    if verify not in ("auto", "full"):
        raise ValueError("verify must be 'auto' or 'full'")
    manifest = read_manifest(index_dir)
    reasons = stale_reasons(manifest, catalog, embedder, splitter, dense_kind_asked(dense_kind))
    if reasons:
        raise StaleIndexError("the index is out of date: " + "; ".join(reasons), hint=BUILD_HINT)
    folder = (index_dir / CURRENT).resolve()
    deferred = verify_files(folder, manifest, full=verify == "full")
    try:
        import bm25s
        import faiss

        passages = open_passages(folder, manifest)
        dense = faiss.read_index(str(folder / DENSE))
        bm25 = bm25s.BM25.load(str(folder / BM25_DIR))
        lexicon = json.loads((folder / LEXICON).read_text(encoding="utf-8"))
        if not isinstance(lexicon, dict):
            raise ValueError("lexicon.json is not an object")
        nynorsk = json.loads((folder / NYNORSK_WORDS).read_text(encoding="utf-8"))
        if not isinstance(nynorsk, dict) or not all(isinstance(v, str) for v in nynorsk.values()):
            raise ValueError(f"{NYNORSK_WORDS} is not an object of words")
    except IndexError_:
        raise
    except Exception as exc:
        raise IndexError_(f"the index in {folder} cannot be read ({type(exc).__name__}: {exc})", hint=BUILD_HINT) from None
    rows = None
    if passages is not None and dense.ntotal == len(passages) == manifest.counts.passages \
            and dense.d == manifest.model.dim:
        rows = rows_of(manifest, len(passages))
    if rows is None or not _ends_where_listed(passages, manifest):
        raise IndexError_(f"the index in {folder} is inconsistent (counts differ)", hint=BUILD_HINT)
    index = Index(path=folder, manifest=manifest, passages=passages, documents=catalog.by_source(), dense=dense,
                  bm25=bm25, lexicon=lexicon, nynorsk_words=nynorsk, party_ids=rows,
                  keys=read_passage_keys(folder, manifest, bm25.vocab_dict, len(passages)))
    if deferred:
        index.integrity = check_in_background(folder, manifest, deferred)
    return index


_WORDS_LOCK = threading.Lock()


def read_word_table(folder: Path):
    """The word table of a build folder (``wordmatch.WordTable``); IndexError_ when it is unreadable."""
    from ..query.wordmatch import WordTable

    try:
        table_words = json.loads((folder / WORD_TABLE).read_text(encoding="utf-8"))
        table_vectors = np.load(folder / WORD_TABLE_VECTORS, allow_pickle=False)
        if not isinstance(table_words, list) or table_vectors.ndim != 2:
            raise ValueError("not a word list and a matrix")
        # float16 on disk, float32 in memory: gathering a question's candidates' words is 6x faster
        # (70k words at most, 107 MB: the vocabulary is capped at lexicon.MAX_VOCAB)
        return WordTable(table_words, np.asarray(table_vectors, dtype=np.float32))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise IndexError_(f"the word table in {folder} cannot be read ({type(exc).__name__}: {exc})",
                          hint=BUILD_HINT) from None


def _ends_where_listed(passages: Sequence[Passage], manifest: Manifest) -> bool:
    """Whether the first and last passage come from the first and last source with passages (cheap: two rows)."""
    if not len(passages):
        return True
    listed = [name for name, meta in manifest.sources.items() if meta.passages]
    try:
        return passages[0].source == listed[0] and passages[len(passages) - 1].source == listed[-1]
    except IndexError_:
        return False


def verify(index_dir: Path) -> None:
    """Check every byte of every file of the current build against the manifest (what ``load`` does
    for small files only); IndexError_ names the first file that differs."""
    folder = (index_dir / CURRENT).resolve()
    verify_files(folder, read_manifest(index_dir), full=True)
