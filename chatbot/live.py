"""Serving while the sources change: notice an edited, added or removed programme and swap in a new index.

:class:`LiveChatbot` holds the :class:`~chatbot.service.Chatbot` being served. A watcher thread looks at
the sources folder every ``interval`` seconds (names, sizes and modification times of every file in it,
``catalog.toml`` and ``parties.toml`` included: cheap, no reading). When that changes and then holds
still for one more look (an editor's save is not read half-written), it reopens the chatbot with
:meth:`Chatbot.open`, which runs every check of ``chatbot build`` (catalog, parties, UTF-8, offsets) and
rebuilds the index when it is stale, reusing the cached vectors of unchanged passages. Only when that
succeeds is the new chatbot swapped in, by one assignment: a request holds the snapshot it started
with (``live.current``), so requests during the rebuild are answered from the old index, and none sees
half of each. A failed rebuild keeps the old chatbot, logs why on stderr and keeps the reason for
``/api/health`` until a later change succeeds.
"""

from __future__ import annotations

import datetime as dt
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from .errors import ChatbotError


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@dataclass
class LiveStatus:
    """What the watcher has done, for /api/health."""

    state: str = "serving"  # serving | rebuilding | failed (still serving the previous index)
    watching: bool = False
    interval_s: float = 0.0
    checks: int = 0
    swaps: int = 0
    failures: int = 0
    last_change: str | None = None
    last_swap: str | None = None
    last_error: str | None = None
    last_rebuild_s: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def fingerprint(folder: Path) -> tuple:
    """Names, sizes and mtimes of every file under ``folder`` (hidden and editor-temporary files aside)."""
    entries = []
    try:
        paths = sorted(folder.rglob("*"))
    except OSError:
        return ("unreadable",)
    for path in paths:
        name = path.name
        if name.startswith(".") or name.endswith("~") or name.endswith(".swp"):
            continue
        try:
            st = path.stat()
        except OSError:  # removed while we looked
            continue
        if path.is_file():
            entries.append((path.relative_to(folder).as_posix(), st.st_size, st.st_mtime_ns))
    return tuple(entries)


@dataclass
class LiveChatbot:
    """The chatbot being served, swapped for a new one when its sources change."""

    bot: object  # chatbot.service.Chatbot
    interval: float = 2.0
    log: Callable[[str], None] = field(default=lambda msg: print(msg, file=sys.stderr, flush=True))
    status: LiveStatus = field(default_factory=LiveStatus)
    # called with the new chatbot before it is swapped in (the answer workers open its index then;
    # chatbot/web/workers.py); an exception there is logged and the swap goes ahead
    before_swap: Callable[[object], None] | None = None

    def __post_init__(self):
        if not isinstance(self.interval, (int, float)) or not 0.05 <= self.interval <= 3600:
            raise ValueError(f"the watch interval must be 0.05–3600 s, not {self.interval!r}")
        self._seen = fingerprint(self.sources_dir)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._rebuild_lock = threading.Lock()
        self.status.interval_s = float(self.interval)

    def __getattr__(self, name):
        """Anything else is the current chatbot's (``catalog``, ``ask``, ``answerer``...): it stands in for one."""
        if name.startswith("_") or name in ("bot", "status", "interval", "log", "before_swap"):
            raise AttributeError(name)
        return getattr(self.bot, name)

    @property
    def current(self):
        """The chatbot to answer with; take it once per request."""
        return self.bot

    @property
    def sources_dir(self) -> Path:
        return Path(self.bot.sources_dir or self.bot.catalog.root)

    # ---- the watcher ------------------------------------------------------------------------

    def start(self) -> "LiveChatbot":
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="source-watcher", daemon=True)
            self.status.watching = True
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.status.watching = False

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception as exc:  # noqa: BLE001 - the watcher must outlive any one failure
                self.log(f"source watcher: {type(exc).__name__}: {exc}")

    def check(self, settle: float | None = None) -> bool:
        """Look once; when the sources changed (and then held still for ``settle`` s), reopen. True if swapped."""
        self.status.checks += 1
        now = fingerprint(self.sources_dir)
        if now == self._seen:
            return False
        time.sleep(self.interval if settle is None else settle)
        again = fingerprint(self.sources_dir)
        if again != now:  # still being written: look again next time
            return False
        return self.reload(again)

    def reload(self, seen: tuple | None = None) -> bool:
        """Reopen the chatbot on the sources as they are now; swap it in when that works."""
        from .service import Chatbot

        with self._rebuild_lock:
            seen = fingerprint(self.sources_dir) if seen is None else seen
            old = self.bot
            self.status.state = "rebuilding"
            self.status.last_change = _now()
            self.log(f"sources changed in {self.sources_dir}; checking and rebuilding the index in the background")
            t0 = time.perf_counter()
            try:
                new = Chatbot.open(sources_dir=old.sources_dir, index_dir=old.index_dir, embedder=old.query_embedder,
                                   settings=old.answerer.settings, decision=old.answerer._decision, progress=self.log,
                                   config=getattr(old, "config", None))
                new.answerer.decision  # read now, not by the first request
                new.answerer.warm_up()  # the new index's word table and passages, before it serves anyone
            except Exception as exc:  # noqa: BLE001 - any failure keeps the old index
                self._seen = seen  # don't retry the same broken sources every few seconds
                self.status.state = "failed"
                self.status.failures += 1
                self.status.last_error = str(exc) if isinstance(exc, ChatbotError) else f"{type(exc).__name__}: {exc}"
                self.log(f"rebuild failed, still serving the previous index: {self.status.last_error}")
                return False
            self._seen = seen
            if self.before_swap is not None:
                try:
                    self.before_swap(new)
                except Exception as exc:  # noqa: BLE001 - the server answers from the new index itself
                    self.log(f"before the swap: {type(exc).__name__}: {exc}")
            self.bot = new  # the swap: one assignment
            self.status.state = "serving"
            self.status.swaps += 1
            self.status.last_swap = _now()
            self.status.last_error = None
            self.status.last_rebuild_s = round(time.perf_counter() - t0, 3)
            self.log(f"now serving corpus {new.corpus_version} ({len(new.answerer.index.passages)} passages)")
            return True
