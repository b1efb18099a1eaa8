"""The chatbot as one object: sources + model + index + answerer, opened once and reused.

``Chatbot.open()`` checks the index against the sources, model and settings, and rebuilds
it (saying why) when it is missing or out of date, unless told not to. Its folders, model, backend,
cache folder and dense index kind come from a ``chatbot.settings.Settings`` (``config``; the
environment's when none is given), and explicit arguments override them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .index import store as index_mod
from .answer import AnswerSettings, Answerer
from .catalog import Catalog, load_catalog
from .models import factory
from .models.protocol import Embedder
from .errors import CatalogError, IndexError_, QuestionError, StaleIndexError
from .parties import load_parties
from .querylang import load_glossary
from .passages import SplitterSettings
from .records import Answer
from . import settings as settings_mod
from .settings import Settings

# what Chatbot.open takes from the settings (and so checks) when it is given none
OPEN_SETTINGS = ("model", "backend", "index_dir", "sources_dir", "cache_dir", "dense_index", "hub_offline")


def project_root() -> Path:
    return settings_mod.PROJECT_ROOT


def default_sources_dir() -> Path:
    """The environment's sources folder ($CHATBOT_SOURCES, else ./sources)."""
    return settings_mod.from_env(("sources_dir",)).sources_dir


def default_index_dir() -> Path:
    """The environment's index folder ($CHATBOT_INDEX, else ./index)."""
    return settings_mod.from_env(("index_dir",)).index_dir


def corpus_version(manifest) -> str:
    """12 hex digits naming the corpus an index was built from (catalog + sources), for links and /api/health;
    ``manifest``: a chatbot.index.manifest.Manifest."""
    import hashlib

    key = "\n".join([manifest.catalog_sha256]
                    + [f"{name}\0{meta.sha256}" for name, meta in sorted(manifest.sources.items())])
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
    config: Settings | None = None
    _texts: dict | None = field(default=None, init=False, repr=False, compare=False)
    _quote_corpus: object = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def open(cls, *, sources_dir: Path | None = None, index_dir: Path | None = None, model: str | None = None,
             backend: str | None = None, embedder: Embedder | None = None, rebuild: bool = True, splitter: SplitterSettings = SplitterSettings(),
             settings: AnswerSettings | None = None, decision=None, progress: Callable[[str], None] | None = stderr_progress,
             config: Settings | None = None) -> "Chatbot":
        """``config``: the run's settings (None: the environment's, checked now); ``settings``: the answerer's."""
        config = config if config is not None else settings_mod.from_env(OPEN_SETTINGS)
        sources_dir = sources_dir or config.sources_dir
        index_dir = index_dir or config.index_dir
        config = config.replace(sources_dir=Path(sources_dir), index_dir=Path(index_dir),
                                model=model or config.model, backend=backend or config.backend)
        catalog = load_catalog(sources_dir)
        parties = load_parties(sources_dir)
        from .models.batching import BatchingEmbedder

        embedder = embedder or factory.make_embedder(config.model, backend=config.backend, progress=progress,
                                                           cache_dir=config.cache_dir, offline=config.hub_offline)
        # questions go through one batching wrapper (concurrent callers share model calls; chatbot/models/batching.py)
        queries = embedder if isinstance(embedder, BatchingEmbedder) else BatchingEmbedder(embedder)
        embedder = queries.inner
        embedder.warm_up()
        reason = None
        kind = config.dense_index
        try:
            loaded = index_mod.load(index_dir, catalog, embedder, splitter, dense_kind=kind)
        except IndexError_ as exc:
            if not rebuild:
                raise
            reason = exc.message  # what is wrong, without the hint to run `chatbot build`: we do that now
            if progress:
                state = "out of date" if isinstance(exc, StaleIndexError) else "not usable"
                progress(f"The index is {state} ({reason}); rebuilding it now.")
            index_mod.build(catalog, embedder, index_dir, splitter, progress=progress, dense_kind=kind,
                            cache_dir=config.cache_dir)
            loaded = index_mod.load(index_dir, catalog, embedder, splitter, dense_kind=kind)
        answerer = Answerer(loaded, queries, parties, settings or AnswerSettings(), load_glossary(sources_dir),
                            decision=decision)
        return cls(catalog=catalog, embedder=embedder, answerer=answerer, rebuilt_because=reason,
                   sources_dir=sources_dir, index_dir=index_dir, config=config)

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
