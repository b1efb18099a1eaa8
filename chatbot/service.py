"""The chatbot as one object: sources + model + index + answerer, opened once and reused.

``Chatbot.open()`` checks the index against the sources, model and settings, and rebuilds
it (saying why) when it is missing or out of date, unless told not to.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import index as index_mod
from .answer import AnswerSettings, Answerer
from .catalog import Catalog, load_catalog
from . import embedders as embedders_mod
from .embedders import Embedder
from .errors import CatalogError, IndexError_, QuestionError, StaleIndexError
from .parties import load_parties
from .querylang import load_glossary
from .passages import SplitterSettings
from .records import Answer

SOURCES_ENV = "CHATBOT_SOURCES"
INDEX_ENV = "CHATBOT_INDEX"


def project_root() -> Path:
    return Path(__file__).resolve().parents[1]


def default_sources_dir() -> Path:
    return Path(os.environ.get(SOURCES_ENV) or project_root() / "sources")


def default_index_dir() -> Path:
    return Path(os.environ.get(INDEX_ENV) or project_root() / "index")


def corpus_version(manifest: dict) -> str:
    """12 hex digits naming the corpus an index was built from (catalog + sources), for links and /api/health."""
    import hashlib

    sources = manifest.get("sources") or {}
    key = "\n".join([str(manifest.get("catalog_sha256", ""))]
                    + [f"{name}\0{meta.get('sha256', '')}" for name, meta in sorted(sources.items())])
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def stderr_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Chatbot:
    catalog: Catalog
    embedder: Embedder
    answerer: Answerer
    rebuilt_because: str | None = None
    sources_dir: Path | None = None
    index_dir: Path | None = None
    _texts: dict | None = field(default=None, init=False, repr=False, compare=False)
    _quote_corpus: object = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def open(cls, *, sources_dir: Path | None = None, index_dir: Path | None = None, model: str | None = None,
             backend: str | None = None, embedder: Embedder | None = None, rebuild: bool = True, splitter: SplitterSettings = SplitterSettings(),
             settings: AnswerSettings | None = None, decision=None, progress: Callable[[str], None] | None = stderr_progress) -> "Chatbot":
        sources_dir = sources_dir or default_sources_dir()
        index_dir = index_dir or default_index_dir()
        catalog = load_catalog(sources_dir)
        parties = load_parties(sources_dir)
        from .batching import BatchingEmbedder

        embedder = embedder or embedders_mod.make_embedder(model, backend=backend, progress=progress)
        # questions go through one batching wrapper (concurrent callers share model calls; chatbot/batching.py)
        queries = embedder if isinstance(embedder, BatchingEmbedder) else BatchingEmbedder(embedder)
        embedder = queries.inner
        embedder.warm_up()
        reason = None
        try:
            loaded = index_mod.load(index_dir, catalog, embedder, splitter)
        except IndexError_ as exc:
            if not rebuild:
                raise
            reason = str(exc).removesuffix("; run `chatbot build`")
            if progress:
                kind = "out of date" if isinstance(exc, StaleIndexError) else "not usable"
                progress(f"The index is {kind} ({reason}); rebuilding it now.")
            index_mod.build(catalog, embedder, index_dir, splitter, progress=progress)
            loaded = index_mod.load(index_dir, catalog, embedder, splitter)
        answerer = Answerer(loaded, queries, parties, settings or AnswerSettings(), load_glossary(sources_dir),
                            decision=decision)
        return cls(catalog=catalog, embedder=embedder, answerer=answerer, rebuilt_because=reason,
                   sources_dir=sources_dir, index_dir=index_dir)

    @property
    def query_embedder(self):
        """The batching wrapper the answerer embeds questions with (share it when reopening)."""
        return self.answerer.embedder

    def source_texts(self) -> dict[str, str]:
        """Each catalogued file's text as the catalog read it when the chatbot opened (read from the file only
        for a document that kept none). A file deleted since and not kept is left out: answers come from the
        index, and the page's source view says the file is missing."""
        if self._texts is None:
            texts = {}
            for d in self.catalog.documents:
                if isinstance(d.text, str):
                    texts[d.source] = d.text
                    continue
                try:
                    texts[d.source] = self.catalog.text(d.source)
                except CatalogError:
                    continue
            self._texts = texts
        return self._texts

    def quote_corpus(self):
        """The sources as the quote check reads them (chatbot.quotecheck), built on first use."""
        if self._quote_corpus is None:
            from . import quotecheck

            texts = self.source_texts()
            self._quote_corpus = quotecheck.build_corpus((d, texts[d.source]) for d in self.catalog.documents
                                                         if d.source in texts)
        return self._quote_corpus

    @property
    def corpus_version(self) -> str:
        """A short hash of what is being served: the catalog and every source file's content."""
        return corpus_version(self.answerer.index.manifest)

    def ask(self, question: str, k: int = 5, party=None, mode: str = "hybrid", decision=None) -> Answer:
        return self.answerer.ask(question, k=k, party=self.resolve_parties(party), mode=mode, decision=decision)

    def resolve_parties(self, party) -> tuple[str, ...] | None:
        """Map filter names case-insensitively (and by alias) to the parties' own names."""
        if party is None:
            return None
        if not isinstance(party, (str, list, tuple)) or not all(isinstance(p, str) for p in ([party] if isinstance(party, str) else party)):
            raise QuestionError("party must be a party name or a list of party names")
        names = [party] if isinstance(party, str) else list(party)
        available = {p.casefold(): p for p in self.answerer.available_parties}
        out = []
        for name in names:
            name = (name or "").strip()
            if not name:
                continue
            if name.casefold() in available:
                out.append(available[name.casefold()])
                continue
            found = self.answerer.parties.find(name[:1].upper() + name[1:])
            out.append(found[0].party if found else name)
        return tuple(dict.fromkeys(out))

    def to_dict(self, answer: Answer) -> dict:
        return answer.to_dict(self.catalog.by_source())
