"""The manifest of a build: a typed record of what the index was made from and of its files.

``Manifest.from_dict`` checks every field's type, so that code reading a loaded index never meets a
hand-edited or foreign manifest; ``to_dict`` writes the JSON ``manifest.json`` holds (same keys, same
order). ``stale_reasons`` says why a build no longer fits the sources, model and settings in use.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import BUILD_HINT, IndexError_, StaleIndexError
from .layout import CURRENT, MANIFEST

if TYPE_CHECKING:  # pragma: no cover
    from ..catalog import Catalog
    from ..models.protocol import Embedder
    from ..passages import SplitterSettings

FORMAT_VERSION = 1
BM25_SETTINGS = {"library": "bm25s", "method": "lucene", "k1": 1.2, "b": 0.75,
                 "stemmer": "snowball-norwegian", "stopwords": "bm25s-norwegian", "folding": "æøå",
                 "tokens": 3}  # bump when textnorm.tokens changes


class ManifestError(ValueError):
    """A manifest whose fields do not have the shape a build writes."""


def _need(value, kind, what: str):
    if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
        raise ManifestError(f"{what} is not {getattr(kind, '__name__', kind)}")
    return value


def _count(value, what: str) -> int:
    if _need(value, int, what) < 0:
        raise ManifestError(f"{what} is negative")
    return value


@dataclass(frozen=True)
class ModelInfo:
    id: str
    checksum: str
    dim: int

    @classmethod
    def from_dict(cls, d) -> ModelInfo:
        _need(d, dict, "model")
        return cls(_need(d.get("id"), str, "model.id"), _need(d.get("checksum"), str, "model.checksum"),
                   _count(d.get("dim"), "model.dim"))

    def to_dict(self) -> dict:
        return {"id": self.id, "checksum": self.checksum, "dim": self.dim}


@dataclass(frozen=True)
class SourceInfo:
    sha256: str
    party: str
    passages: int  # the source's passages are rows [start, start + passages) in the manifest's order

    @classmethod
    def from_dict(cls, name: str, d) -> SourceInfo:
        _need(d, dict, f"sources.{name}")
        return cls(_need(d.get("sha256"), str, f"sources.{name}.sha256"), _need(d.get("party"), str, f"sources.{name}.party"),
                   _count(d.get("passages"), f"sources.{name}.passages"))

    def to_dict(self) -> dict:
        return {"sha256": self.sha256, "party": self.party, "passages": self.passages}


@dataclass(frozen=True)
class FileInfo:
    bytes: int
    sha256: str
    sample_sha256: str | None = None  # of evenly spaced blocks, for files too large to hash at every load

    @classmethod
    def from_dict(cls, name: str, d) -> FileInfo:
        _need(d, dict, f"files.{name}")
        sample = d.get("sample_sha256")
        return cls(_count(d.get("bytes"), f"files.{name}.bytes"), _need(d.get("sha256"), str, f"files.{name}.sha256"),
                   None if sample is None else _need(sample, str, f"files.{name}.sample_sha256"))

    def to_dict(self) -> dict:
        out: dict = {"bytes": self.bytes, "sha256": self.sha256}
        if self.sample_sha256 is not None:
            out["sample_sha256"] = self.sample_sha256
        return out


@dataclass(frozen=True)
class Counts:
    documents: int
    passages: int

    def to_dict(self) -> dict:
        return {"documents": self.documents, "passages": self.passages}


@dataclass(frozen=True)
class Manifest:
    format_version: int
    model: ModelInfo
    settings: dict  # splitter, BM25 and lexicon settings (``expected_settings``), compared as a whole
    catalog_sha256: str
    sources: dict[str, SourceInfo]  # in build order: each source's passages are written together
    counts: Counts
    files: dict[str, FileInfo]  # every file of the build but the manifest, by path inside the folder
    dense: dict = field(default_factory=dict)  # chatbot/index/ann.py ``describe``; {} in older manifests
    chatbot_version: str = ""
    created: str = ""

    @classmethod
    def from_dict(cls, d) -> Manifest:
        """The typed manifest; ManifestError names the first field of the wrong shape."""
        _need(d, dict, "the manifest")
        sources = _need(d.get("sources"), dict, "sources")
        files = _need(d.get("files"), dict, "files")
        counts = _need(d.get("counts"), dict, "counts")
        return cls(
            format_version=_need(d.get("format_version"), int, "format_version"),
            model=ModelInfo.from_dict(d.get("model")),
            settings=_need(d.get("settings"), dict, "settings"),
            catalog_sha256=_need(d.get("catalog_sha256"), str, "catalog_sha256"),
            sources={_need(n, str, "a source name"): SourceInfo.from_dict(n, m) for n, m in sources.items()},
            counts=Counts(_count(counts.get("documents"), "counts.documents"),
                          _count(counts.get("passages"), "counts.passages")),
            files={n: FileInfo.from_dict(n, m) for n, m in files.items()},
            dense=_need(d.get("dense", {}), dict, "dense"),
            chatbot_version=_need(d.get("chatbot_version", ""), str, "chatbot_version"),
            created=_need(d.get("created", ""), str, "created"),
        )

    def to_dict(self) -> dict:
        return {
            "format_version": self.format_version,
            "chatbot_version": self.chatbot_version,
            "created": self.created,
            "model": self.model.to_dict(),
            "settings": self.settings,
            "catalog_sha256": self.catalog_sha256,
            "sources": {n: s.to_dict() for n, s in self.sources.items()},
            "counts": self.counts.to_dict(),
            "dense": self.dense,
            "files": {n: f.to_dict() for n, f in self.files.items()},
        }


def parse(raw, where: Path) -> Manifest:
    """``raw`` (parsed JSON) as a Manifest: StaleIndexError for another format version, IndexError_
    for anything of the wrong shape; ``where``: the folder, for the message."""
    if not isinstance(raw, dict):
        raise IndexError_(f"the index manifest in {where} is not a JSON object", hint=BUILD_HINT)
    version = raw.get("format_version")
    if isinstance(version, bool) or version != FORMAT_VERSION:
        raise StaleIndexError(f"the index is out of date: index format {version} is not the current format "
                              f"{FORMAT_VERSION}", hint=BUILD_HINT)
    try:
        manifest = Manifest.from_dict(raw)
    except ManifestError as exc:
        raise IndexError_(f"the index manifest in {where} is malformed ({exc})", hint=BUILD_HINT) from None
    if not manifest.files:
        raise IndexError_(f"the index manifest in {where} lists no files", hint=BUILD_HINT)
    return manifest


def read_manifest(index_dir: Path) -> Manifest:
    """The manifest of the current build; IndexError_ when there is none or it is unreadable or malformed,
    StaleIndexError when it is of another format."""
    path = index_dir / CURRENT
    if not path.exists():
        raise IndexError_(f"no index in {index_dir}", hint=BUILD_HINT)
    try:
        raw = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexError_(f"the index manifest in {path.resolve()} is unreadable ({exc})", hint=BUILD_HINT) from None
    return parse(raw, path.resolve())


def expected_settings(splitter: SplitterSettings) -> dict:
    from . import lexicon as lx
    from . import nynorsk_words, standards

    # Apertium's part: the nynorsk passages' bokmål form and the nynorsk question words' map
    apertium = {**standards.setting(), "question_words": nynorsk_words.setting()}
    return {"splitter": splitter.to_dict(), "bm25": BM25_SETTINGS, "standards": apertium,
            "lexicon": {"english_words": lx.ENGLISH_WORDS, "max_vocab": lx.MAX_VOCAB, "hub": lx.HUB_NEIGHBOURS,
                        "mutual_top": lx.MUTUAL_TOP, "min_cosine": lx.MIN_COSINE,
                        "vocabulary": 2,  # bump when corpus_vocabulary changes
                        "word_vectors": lx.WORD_VECTORS,
                        "word_table": 1}}  # words.json + words.npy (query/wordmatch.py): bump when it changes


def stale_reasons(manifest: Manifest, catalog: Catalog, embedder: Embedder, splitter: SplitterSettings,
                  dense_kind: str | None = None) -> list[str]:
    """Why an index built with ``manifest`` does not fit these inputs (empty when it does); ``dense_kind``:
    the dense index kind asked for (the settings' ``dense_index``; None: the environment's)."""
    reasons = []
    if manifest.format_version != FORMAT_VERSION:
        return [f"index format {manifest.format_version} is not the current format {FORMAT_VERSION}"]
    if manifest.model.id != embedder.model_id:
        reasons.append(f"it was built with model {manifest.model.id!r}, not {embedder.model_id!r}")
    elif manifest.model.checksum != embedder.checksum:
        reasons.append(f"the weights of model {embedder.model_id!r} changed")
    expected = expected_settings(splitter)
    if manifest.settings != expected:
        def others(settings: dict) -> dict:
            return {key: value for key, value in settings.items() if key != "standards"}

        if "standards" in manifest.settings and others(manifest.settings) == others(expected):
            reasons.append("the nynorsk-bokmål translation (apertium-nno-nob) was installed, removed or changed since the build")
        else:
            reasons.append("passage or BM25 settings changed")
    reason = _dense_kind_reason(manifest, dense_kind_asked(dense_kind))
    if reason:
        reasons.append(reason)
    built = manifest.sources
    current = {d.source: d.sha256 for d in catalog.documents}
    for name in sorted(set(built) | set(current)):
        if name not in current:
            reasons.append(f"source {name} was removed from the catalog")
        elif name not in built:
            reasons.append(f"source {name} is new")
        elif built[name].sha256 != current[name]:
            reasons.append(f"source {name} changed since the index was built")
    if not reasons and manifest.catalog_sha256 != catalog.sha256:
        reasons.append("the catalog (sources/catalog.toml) changed")
    return reasons


def dense_kind_asked(kind: str | None) -> str:
    """The dense index kind asked for: ``kind``, or for callers given none, the environment's (chatbot/settings.py)."""
    if kind is not None:
        return kind
    from ..settings import from_env

    return from_env(("dense_index",)).dense_index


def _dense_kind_reason(manifest: Manifest, kind: str) -> str | None:
    """Why the dense index's kind is not the one a build would make now (``kind``, from the settings'
    ``$CHATBOT_DENSE_INDEX``, or the size rule), or None; DenseKindError (a ChatbotError) when ``kind`` is invalid."""
    from .ann import manifest_kind, requested_kind

    wanted, who = requested_kind(manifest.counts.passages, kind)
    built = manifest_kind(manifest.dense)
    if built != wanted:
        return f"dense index kind is {built!r} but {who}" if built else f"dense index kind is not recorded but {who}"
    return None
