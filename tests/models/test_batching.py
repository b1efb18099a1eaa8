"""chatbot.models.batching: concurrent callers share model calls and get exactly their own rows."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from chatbot.models.batching import BatchingEmbedder
from chatbot.models.fake import FakeEmbedder


class Recording(FakeEmbedder):
    """The fake embedder, remembering each call's texts, and optionally slow (to let requests pile up)."""

    def __init__(self, gate: threading.Event | None = None):
        super().__init__()
        self.calls: list[list[str]] = []
        self.gate = gate
        self.entered = threading.Event()

    def embed_queries(self, texts):
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(5)
        self.calls.append(list(texts))
        return super().embed_queries(texts)


def test_a_lone_question_is_embedded_beside_a_copy_and_gets_one_row():
    inner = Recording()
    batcher = BatchingEmbedder(inner)
    out = batcher.embed_queries(["hva vil venstre med lar"])
    assert inner.calls == [["hva vil venstre med lar", "hva vil venstre med lar"]]
    assert out.shape == (1, inner.dim)
    assert np.array_equal(out[0], FakeEmbedder().embed_queries(["hva vil venstre med lar"])[0])


def test_requests_waiting_together_share_one_call_and_get_their_own_rows():
    gate = threading.Event()
    inner = Recording(gate)
    batcher = BatchingEmbedder(inner, max_wait_ms=0)
    results: dict[str, np.ndarray] = {}
    first = threading.Thread(target=lambda: results.__setitem__("first", batcher.embed_queries(["first"])))
    first.start()
    assert inner.entered.wait(5)  # "first" is in the model, held by the gate; the next ones queue meanwhile
    questions = [f"spørsmål {i}" for i in range(6)]
    threads = [threading.Thread(target=lambda q=q: results.__setitem__(q, batcher.embed_queries([q]))) for q in questions]
    for t in threads:
        t.start()
    while len(batcher._queue) < len(questions):
        threading.Event().wait(0.005)
    gate.set()
    for t in [first, *threads]:
        t.join(5)
    assert inner.calls[0] == ["first", "first"]
    assert sorted(inner.calls[1]) == sorted(questions)  # the six waiting questions in one call
    assert len(inner.calls) == 2
    expected = FakeEmbedder()
    for q in ["first", *questions]:
        assert np.array_equal(results[q][0], expected.embed_queries([q])[0])
    assert batcher.stats.to_dict() == {"model_calls": 2, "requests": 7, "texts": 7, "largest_batch": 6,
                                       "mean_requests_per_call": 3.5}


def test_a_batch_never_exceeds_max_batch_texts():
    gate = threading.Event()
    inner = Recording(gate)
    batcher = BatchingEmbedder(inner, max_batch=4, max_wait_ms=0)
    first = threading.Thread(target=batcher.embed_queries, args=(["q0"],))
    first.start()
    assert inner.entered.wait(5)
    threads = [threading.Thread(target=batcher.embed_queries, args=([f"q{i}"],)) for i in range(1, 9)]
    for t in threads:
        t.start()
    while len(batcher._queue) < 8:
        threading.Event().wait(0.005)
    gate.set()
    for t in [first, *threads]:
        t.join(5)
    assert [len(c) for c in inner.calls] == [2, 4, 4]
    assert sorted(t for c in inner.calls[1:] for t in c) == [f"q{i}" for i in range(1, 9)]


def test_a_model_error_reaches_every_caller_and_the_worker_goes_on():
    class Failing(FakeEmbedder):
        fail = True

        def embed_queries(self, texts):
            if self.fail:
                raise RuntimeError("model broke")
            return super().embed_queries(texts)

    inner = Failing()
    batcher = BatchingEmbedder(inner)
    with pytest.raises(RuntimeError, match="model broke"):
        batcher.embed_queries(["x"])
    inner.fail = False
    assert batcher.embed_queries(["x"]).shape == (1, inner.dim)


def test_the_rest_of_the_embedder_passes_through():
    inner = FakeEmbedder()
    batcher = BatchingEmbedder(inner)
    assert batcher.checksum == inner.checksum and batcher.dim == inner.dim and batcher.model_id == inner.model_id
    assert np.array_equal(batcher.embed_passages(["a b"]), inner.embed_passages(["a b"]))
    assert batcher.embed_queries([]).shape == (0, inner.dim)


@pytest.mark.parametrize("kwargs, message", [({"max_batch": 0}, "max_batch"), ({"max_wait_ms": -1}, "max_wait_ms"),
                                             ({"max_wait_ms": 1000}, "max_wait_ms")])
def test_bad_settings_are_refused_up_front(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BatchingEmbedder(FakeEmbedder(), **kwargs)


def test_a_lone_question_with_the_model_idle_runs_in_the_callers_thread():
    seen = []

    class Where(FakeEmbedder):
        def embed_queries(self, texts):
            seen.append(threading.current_thread().name)
            return super().embed_queries(texts)

    batcher = BatchingEmbedder(Where())
    batcher.embed_queries(["bolig"])
    batcher.embed_queries(["lar", "rus"])
    assert seen == [threading.current_thread().name] * 2
    assert batcher._worker is None  # no hand-off: the worker was never needed
    assert batcher.stats.to_dict() == {"model_calls": 2, "requests": 2, "texts": 3, "largest_batch": 1,
                                       "mean_requests_per_call": 1.0}
