"""Answer processes: the JSON API's questions answered by worker processes beside the server (``--workers N``).

One Python process holds the GIL for everything that is not ONNX Runtime's own work: HTTP parsing, the
query path (BM25, the features, the decision), JSON. Under load that keeps the two cores of this machine
only 1.5 busy (README, *Speed and scale*). With ``--workers N`` the server starts N processes that open
the same index read-only, each with its own model session and batching (``chatbot/models/batching.py``);
the server parses HTTP and hands ``/api/ask``, ``/api/compare`` and ``/api/chat`` to the least busy worker
over a pipe, unless no other request is in hand (``InFlight``: a lone question is quickest in the server,
on all cores). The page's Gradio events stay in the server process (Gradio's queue and event stream live
there), and so does everything else.

Correctness never depends on a worker:

* every request names the index it must be answered from (the served build's folder, its
  *generation*); a worker that has not loaded that index says so, and the server answers it itself;
* a live update (``chatbot/live.py``) tells every worker to load the new build before the server swaps
  it in; a worker that fails to load it keeps answering nothing from it (the server answers);
* a worker that dies, or does not answer within ``TIMEOUT_S``, is taken out; its requests are answered
  by the server.

So an answer is the same object whoever answers it: the same index, decision and model (a question's
vector is bit for bit the same however it is batched; ``tests/models/test_embedders_onnx.py``).
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..settings import MAX_WORKERS  # the bound --workers / CHATBOT_WORKERS are checked against

CALLS = ("ask", "compare", "chat")  # the chatbot.web.api functions a worker answers
TIMEOUT_S = 60.0  # an answer takes milliseconds; a worker silent this long is taken out
START_TIMEOUT_S = 300.0  # opening the index and the model (a first ONNX export can take a minute)
LOAD_TIMEOUT_S = 60.0  # opening a rebuilt index (a few seconds): how long a live swap waits for the workers
THREADS_PER_WORKER = 32  # requests a worker answers at once (they share its model calls)
KEEP_GENERATIONS = 2  # indexes a worker keeps open: the one served and the one before it


def generation(bot) -> str:
    """The served index, as requests and workers name it: its build folder (unique per build)."""
    return str(bot.answerer.index.path)


@dataclass(frozen=True)
class WorkerSpec:
    """What each worker opens: the same sources, index, settings and decision as the server, with
    ``threads`` ONNX Runtime threads (the cores shared out between the workers). Everything here is
    pickled to the child."""

    sources_dir: str
    index_dir: str
    config: Any  # chatbot.settings.Settings
    threads: int = 1
    settings: Any = None  # the server's AnswerSettings (None: the defaults)
    decision: Any = None  # the server's decision model when it was given one (None: the shipped file)
    embedder: str | None = None  # "module:callable" making the embedder (tests: the fake); None: the factory

    @classmethod
    def of(cls, bot, threads: int, embedder: str | None = None) -> "WorkerSpec":
        """The spec that opens what ``bot`` serves."""
        return cls(sources_dir=str(bot.sources_dir), index_dir=str(bot.index_dir), config=bot.config,
                   threads=threads, settings=bot.answerer.settings, decision=bot.answerer._decision,
                   embedder=embedder)

    def make_embedder(self):
        if self.embedder:
            import importlib

            module, _, name = self.embedder.partition(":")
            return getattr(importlib.import_module(module), name)()
        from ..models import factory

        c = self.config
        return factory.make_embedder(c.model, backend=c.backend, progress=None, cache_dir=c.cache_dir,
                                     offline=c.hub_offline, threads=self.threads)


class _Worker:
    """The server's end of one worker process."""

    def __init__(self, number: int, process, conn):
        self.number, self.process, self.conn = number, process, conn
        self.generations: set[str] = set()
        self.pending: dict[int, Future] = {}
        self.answered = 0
        self.alive = True
        self.error: str | None = None
        self.send_lock = threading.Lock()
        self.loads: dict[str, Future] = {}

    def send(self, message) -> bool:
        try:
            with self.send_lock:
                self.conn.send(message)
            return True
        except (OSError, ValueError, BrokenPipeError) as exc:
            self.fail(f"cannot reach the worker: {exc}")
            return False

    def fail(self, why: str) -> None:
        if not self.alive:
            return
        self.alive, self.error = False, why
        for future in list(self.pending.values()) + list(self.loads.values()):
            if not future.done():
                future.set_result(None)  # None: the server answers it itself
        self.pending.clear()


@dataclass
class AnswerPool:
    """``size`` worker processes answering the JSON API's questions (see the module docstring).

    Validated at construction; ``start()`` spawns the processes and waits until each has opened the
    index (the expensive step, as Haystack's warm-up)."""

    size: int
    spec: WorkerSpec
    log: Callable[[str], None] = field(default=lambda msg: print(msg, file=sys.stderr, flush=True))
    timeout_s: float = TIMEOUT_S
    _workers: list[_Worker] = field(default_factory=list, init=False, repr=False)
    _ids: Any = field(default_factory=itertools.count, init=False, repr=False)
    _lock: Any = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self):
        if isinstance(self.size, bool) or not isinstance(self.size, int) or not 1 <= self.size <= MAX_WORKERS:
            raise ValueError(f"workers must be a whole number from 1 to {MAX_WORKERS}, not {self.size!r}")
        if not isinstance(self.spec.threads, int) or self.spec.threads < 1:
            raise ValueError("each worker needs at least one thread")

    # ---- start and stop ----------------------------------------------------------------------

    def start(self, timeout: float = START_TIMEOUT_S) -> "AnswerPool":
        import multiprocessing as mp

        context = mp.get_context("spawn")  # never fork a process that runs threads and ONNX Runtime
        ready: list[Future] = []
        for number in range(self.size):
            ours, theirs = context.Pipe(duplex=True)
            process = context.Process(target=worker_main, args=(theirs, self.spec), name=f"answer-worker-{number}",
                                      daemon=True)
            process.start()
            theirs.close()
            worker = _Worker(number, process, ours)
            future: Future = Future()
            worker.loads["start"] = future
            self._workers.append(worker)
            threading.Thread(target=self._read, args=(worker,), name=f"answer-worker-{number}-reader",
                             daemon=True).start()
            ready.append(future)
        deadline = time.monotonic() + timeout
        for worker, future in zip(self._workers, ready):
            try:
                future.result(timeout=max(0.0, deadline - time.monotonic()))
            except Exception:  # noqa: BLE001 - a timeout: that worker is left out
                worker.fail(f"did not open the index within {timeout:.0f} s")
            if worker.alive:
                self.log(f"answer worker {worker.number} (pid {worker.process.pid}) is serving")
            else:
                self.log(f"answer worker {worker.number} is not serving: {worker.error}")
                self._end(worker)
        return self

    def close(self) -> None:
        for worker in self._workers:
            if worker.alive:
                worker.send(("stop",))
        for worker in self._workers:
            self._end(worker)

    def _end(self, worker: _Worker, wait: float = 5.0) -> None:
        worker.fail(worker.error or "stopped")
        worker.process.join(timeout=wait)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join(timeout=wait)
        try:
            worker.conn.close()
        except OSError:
            pass

    # ---- answering ---------------------------------------------------------------------------

    def call(self, generation: str, name: str, args: tuple) -> bytes | None:
        """The JSON bytes of ``chatbot.web.api.<name>(bot, *args)`` answered by a worker from the index
        ``generation``; None when no worker can (the caller answers it). A bad question raises the worker's
        ``QuestionError``, as the server's own call would."""
        if name not in CALLS:
            raise ValueError(f"workers answer {', '.join(CALLS)}, not {name!r}")
        worker = self._pick(generation)
        if worker is None:
            return None
        future: Future = Future()
        with self._lock:
            number = next(self._ids)
            worker.pending[number] = future
        if not worker.alive:  # it died between the pick and now: its pending list was already cleared
            worker.pending.pop(number, None)
            return None
        if not worker.send(("call", number, generation, name, args)):
            return None
        try:
            reply = future.result(timeout=self.timeout_s)
        except Exception:  # noqa: BLE001 - a timeout: take the worker out
            worker.fail(f"no answer within {self.timeout_s:.0f} s")
            self._end(worker, wait=0.5)
            return None
        if reply is None:
            return None
        kind, payload = reply
        if kind == "ok":
            worker.answered += 1
            return payload
        if kind == "question":
            from ..errors import QuestionError

            raise QuestionError(payload)
        if kind == "chatbot":
            from ..errors import ChatbotError

            raise ChatbotError(payload)
        return None  # "miss" (that index is not loaded there) or "fail": the server answers

    def _pick(self, generation: str) -> _Worker | None:
        """The live worker with the fewest questions in hand among those that have ``generation`` open."""
        able = [w for w in self._workers if w.alive and generation in w.generations]
        return min(able, key=lambda w: len(w.pending)) if able else None

    def load(self, generation: str, timeout: float = LOAD_TIMEOUT_S) -> int:
        """Ask every worker to open the index now at ``generation`` (a live update, before the swap);
        wait for them. Returns how many have it open."""
        waiting = []
        for worker in self._workers:
            if worker.alive and generation not in worker.generations:
                future: Future = Future()
                worker.loads[generation] = future
                if worker.send(("load", generation)):
                    waiting.append((worker, future))
        deadline = time.monotonic() + timeout
        for worker, future in waiting:
            try:
                future.result(timeout=max(0.0, deadline - time.monotonic()))
            except Exception:  # noqa: BLE001 - a timeout: the server answers from that index itself
                self.log(f"answer worker {worker.number} did not open the new index within {timeout:.0f} s")
        return sum(1 for w in self._workers if w.alive and generation in w.generations)

    def _read(self, worker: _Worker) -> None:
        """The replies of one worker, each resolving the future of its request."""
        while True:
            try:
                message = worker.conn.recv()
            except (EOFError, OSError):
                worker.fail(f"the worker process ended (exit code {worker.process.exitcode})")
                return
            kind = message[0]
            if kind in ("ok", "question", "chatbot", "miss", "fail"):
                future = worker.pending.pop(message[1], None)
                if kind == "fail":
                    self.log(f"answer worker {worker.number}: {message[2]}")
                if future is not None and not future.done():
                    future.set_result((kind, message[2] if len(message) > 2 else None))
            elif kind in ("ready", "loaded"):
                _, name, served, error = message
                if served:
                    worker.generations = set(served)
                key = "start" if kind == "ready" else name
                future = worker.loads.pop(key, None)
                if error:
                    if kind == "ready":
                        worker.fail(error)
                    else:
                        self.log(f"answer worker {worker.number} cannot open the new index: {error}")
                if future is not None and not future.done():
                    future.set_result(None)

    # ---- reporting ---------------------------------------------------------------------------

    def to_dict(self, generation: str | None = None) -> dict:
        """For ``/api/health``: each worker, whether it serves the current index, and what it answered."""
        return {"size": self.size, "threads_each": self.spec.threads,
                "serving": sum(1 for w in self._workers if w.alive and (generation is None or generation in w.generations)),
                "workers": [{"pid": w.process.pid, "alive": w.alive, "current": generation in w.generations,
                             "answered": w.answered, "in_hand": len(w.pending), "error": w.error}
                            for w in self._workers]}


class InFlight:
    """How many requests the server has in hand. A request that finds none beside it is answered by the server
    itself: a lone question embeds fastest there, on all cores (``chatbot/models/onnx_embedder.py``), where a
    worker has one core and a pipe between; under load every request goes to the workers."""

    def __init__(self):
        self._lock = threading.Lock()
        self.count = 0

    def __enter__(self) -> int:
        with self._lock:
            self.count += 1
            return self.count

    def __exit__(self, *exc) -> None:
        with self._lock:
            self.count -= 1


def threads_each(workers: int, cpus: int | None = None) -> int:
    """The cores shared out between the workers: at least one ONNX Runtime thread each."""
    return max(1, (cpus or os.cpu_count() or 1) // max(1, workers))


# --------------------------------------------------------------------------- the worker process

def worker_main(conn, spec: WorkerSpec) -> None:
    """A worker's whole life: open the index, then answer until told to stop or the server goes away."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the server stops us
    from .. import errors
    from . import api

    bots: dict[str, Any] = {}
    order: list[str] = []
    send_lock = threading.Lock()

    def send(message) -> None:
        try:
            with send_lock:
                conn.send(message)
        except (OSError, ValueError):
            pass

    def open_bot(shared=None):
        from ..service import Chatbot

        bot = Chatbot.open(sources_dir=Path(spec.sources_dir), index_dir=Path(spec.index_dir),
                           embedder=shared or spec.make_embedder(), rebuild=False, progress=None,
                           config=spec.config, settings=spec.settings, decision=spec.decision)
        bot.answerer.decision  # read now, not by the first request
        bot.answerer.warm_up()
        return bot

    def keep(bot) -> list[str]:
        name = generation(bot)
        bots[name] = bot
        if name in order:
            order.remove(name)
        order.append(name)
        while len(order) > KEEP_GENERATIONS:
            bots.pop(order.pop(0), None)
        return list(order)

    def describe(exc: BaseException) -> str:
        return str(exc) if isinstance(exc, errors.ChatbotError) else f"{type(exc).__name__}: {exc}"

    try:
        served = keep(open_bot())
    except BaseException as exc:  # noqa: BLE001 - said to the server, which answers without this worker
        send(("ready", "start", [], describe(exc)))
        return
    send(("ready", "start", served, None))

    def answer(number: int, name: str, bot, args: tuple) -> None:
        try:
            data = getattr(api, name)(bot, *args)
            send(("ok", number, json.dumps(data, ensure_ascii=False).encode("utf-8")))
        except errors.QuestionError as exc:
            send(("question", number, str(exc)))
        except errors.ChatbotError as exc:
            send(("chatbot", number, str(exc)))
        except Exception as exc:  # noqa: BLE001 - the server answers it instead, and logs why
            send(("fail", number, f"{type(exc).__name__}: {exc}"))

    def load(name: str) -> None:
        try:
            any_bot = bots[order[-1]]
            bot = open_bot(shared=any_bot.query_embedder)
            if generation(bot) != name:
                raise RuntimeError(f"the index now at {spec.index_dir} is {generation(bot)}, not {name}")
            send(("loaded", name, keep(bot), None))
        except BaseException as exc:  # noqa: BLE001
            send(("loaded", name, list(order), describe(exc)))

    pool = ThreadPoolExecutor(max_workers=THREADS_PER_WORKER, thread_name_prefix="answer")
    loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="load")
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            break  # the server is gone
        kind = message[0]
        if kind == "stop":
            break
        if kind == "call":
            _, number, name, fn, args = message
            bot = bots.get(name)
            if bot is None or fn not in CALLS:
                send(("miss", number))
            else:
                pool.submit(answer, number, fn, bot, args)
        elif kind == "load":
            loader.submit(load, message[1])
    pool.shutdown(wait=False, cancel_futures=True)
    loader.shutdown(wait=False, cancel_futures=True)


def start_pool(live, size: int, embedder: str | None = None) -> AnswerPool:
    """``size`` workers opening what ``live`` serves, told to open each rebuilt index before it is swapped in."""
    pool = AnswerPool(size, WorkerSpec.of(live.current, threads_each(size), embedder), log=live.log).start()
    live.before_swap = lambda new: pool.load(generation(new))
    return pool
