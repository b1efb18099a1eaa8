"""Query embedding shared by concurrent requests: questions that arrive together are embedded in one call.

:class:`BatchingEmbedder` wraps any :class:`~chatbot.models.protocol.Embedder`. ``embed_queries`` from many
threads is served by one worker thread, which takes every request waiting, embeds all their texts in
one call of the wrapped model, and hands each caller its rows. While the model runs, new requests
queue up and form the next batch, so a single user waits for nothing, and under load the batches grow
by themselves. A request that finds the model idle and nobody waiting is embedded in its own thread
(no hand-off to the worker and back, about a quarter of a millisecond); requests arriving meanwhile
queue for the worker, which starts when that call ends. After a batch of more than one request (that is, under load), the worker waits up to
``max_wait_ms`` for more before the next call, so that requests a few milliseconds apart share it.

Identical answers, whoever else is asking. The shipped ONNX embedder computes every distinct question
of a call alone, at its own length (a row computed in a padded batch differs in the last bits from the
same row computed alone), so a batch only lets two of them run side by side on the two cores, and it
runs a repeated text once. sentence-transformers (torch, or any other model) computes a call as one
padded batch; a lone text is sent beside a copy of itself, so that it is computed as a batch computes
it, but rows padded to other lengths can still differ in the last bits there: bit-identical answers
under load are guaranteed on the ONNX path. ``tests/models/test_batching.py`` checks the wrapper with the fake
embedder, and the load test checks every concurrent answer against the single user's.

Passages (``embed_passages``) and everything else go straight to the wrapped embedder.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np


@dataclass
class _Request:
    texts: list[str]
    future: Future = field(default_factory=Future)


@dataclass
class BatchStats:
    """Counts since start: calls of the model, requests and texts served through them."""

    calls: int = 0
    requests: int = 0
    texts: int = 0
    largest: int = 0

    def to_dict(self) -> dict:
        mean = self.requests / self.calls if self.calls else 0.0
        return {"model_calls": self.calls, "requests": self.requests, "texts": self.texts,
                "largest_batch": self.largest, "mean_requests_per_call": round(mean, 2)}


class BatchingEmbedder:
    """An embedder whose query side batches concurrent callers (see the module docstring)."""

    def __init__(self, inner, *, max_batch: int = 32, max_wait_ms: float = 3.0):
        if not isinstance(max_batch, int) or isinstance(max_batch, bool) or max_batch < 1:
            raise ValueError(f"max_batch must be a whole number ≥ 1, not {max_batch!r}")
        if not isinstance(max_wait_ms, (int, float)) or not 0 <= max_wait_ms <= 100:
            raise ValueError(f"max_wait_ms must be 0–100 ms, not {max_wait_ms!r}")
        self.inner = inner
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000
        self.stats = BatchStats()
        self._queue: deque[_Request] = deque()
        self._ready = threading.Condition()
        self._worker: threading.Thread | None = None
        self._busy = False  # a model call is running (the worker's or a lone caller's own)

    # ---- the Embedder protocol --------------------------------------------------------------

    def __getattr__(self, name):  # model_id, checksum, dim, backend, max_query_chars, ...
        if name == "inner":  # not yet set (during unpickling, copy): no recursion
            raise AttributeError(name)
        return getattr(self.inner, name)

    def warm_up(self) -> None:
        self.inner.warm_up()

    def embed_passages(self, texts: Sequence[str], progress=None) -> np.ndarray:
        return self.inner.embed_passages(texts, progress)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.inner.dim), np.float32)
        request = _Request(texts)
        with self._ready:
            alone = not self._busy and not self._queue
            if alone:
                self._busy = True
            else:
                self._start()
                self._queue.append(request)
                self._ready.notify()
        if not alone:
            return request.future.result()
        try:
            vectors = self._call([request])
        finally:
            with self._ready:
                self._busy = False
                if self._queue:  # arrived during the call: the worker takes them now
                    self._start()
                    self._ready.notify_all()
        return vectors[0]

    # ---- the worker -------------------------------------------------------------------------

    def _start(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._run, name="query-embedding", daemon=True)
            self._worker.start()

    def _take(self, busy: bool) -> list[_Request]:
        """The requests for the next call: all waiting (up to max_batch texts); under load, wait a little for more."""
        with self._ready:
            while not self._queue or self._busy:
                self._ready.wait()
            if busy and self.max_wait > 0:
                deadline = time.monotonic() + self.max_wait
                while sum(len(r.texts) for r in self._queue) < self.max_batch:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._ready.wait(left)
            taken, count = [], 0
            while self._queue and (not taken or count + len(self._queue[0].texts) <= self.max_batch):
                request = self._queue.popleft()
                taken.append(request)
                count += len(request.texts)
            self._busy = True
            return taken

    def _call(self, taken: list[_Request]) -> list[np.ndarray]:
        """One model call for ``taken``: each request's own rows (the model's error is raised)."""
        texts = [t for r in taken for t in r.texts]
        # a lone text beside a copy of itself: computed as every batch computes it (module docstring)
        vectors = self.inner.embed_queries(texts if len(texts) > 1 else texts * 2)
        self.stats.calls += 1
        self.stats.requests += len(taken)
        self.stats.texts += len(texts)
        self.stats.largest = max(self.stats.largest, len(taken))
        out, row = [], 0
        for r in taken:
            out.append(np.array(vectors[row:row + len(r.texts)], dtype=np.float32, copy=True))
            row += len(r.texts)
        return out

    def _run(self) -> None:
        busy = False
        while True:
            taken = self._take(busy)
            busy = len(taken) > 1
            try:
                rows = self._call(taken)
            except BaseException as exc:  # noqa: BLE001 - each caller gets the model's error
                rows = None
                for r in taken:
                    r.future.set_exception(exc)
            finally:
                with self._ready:
                    self._busy = False
                    self._ready.notify_all()
            if rows is not None:
                for r, v in zip(taken, rows):
                    r.future.set_result(v)
