"""Answer workers (chatbot/web/workers.py): real worker processes with the fake embedder answer exactly what the
server would, refuse bad questions the same way, follow a live swap, and fail over to the server."""

from __future__ import annotations

import json
import threading

import pytest

from chatbot.errors import QuestionError
from chatbot.web import api
from chatbot.web.workers import AnswerPool, InFlight, WorkerSpec, generation, start_pool, threads_each

FAKE = "chatbot.models.fake:FakeEmbedder"
QUESTIONS = ["Hva vil Venstre med LAR?", "sprøyterom", "What does the Health Party want for drug users?",
             "<b>heroin</b> assistert behandling", "skolemat"]


def without_timings(data: dict) -> dict:
    return {k: v for k, v in data.items() if k != "timings_ms"}


@pytest.fixture()
def pool(live):
    live, _, _ = live
    started = start_pool(live, 1, embedder=FAKE)
    yield started
    started.close()


def test_a_worker_answers_exactly_what_the_server_would(live, pool):
    live, _, _ = live
    bot = live.current
    for q in QUESTIONS:
        for args in ((q, 3, None, None), (q, None, "Venstre", "dense")):
            payload = pool.call(generation(bot), "ask", args)
            assert payload is not None
            assert without_timings(json.loads(payload)) == without_timings(api.ask(bot, *args))
    compared = json.loads(pool.call(generation(bot), "compare", ("sprøyterom", None, None)))
    assert {p: without_timings(d) for p, d in compared.items()} == \
        {p: without_timings(d) for p, d in api.compare(bot, "sprøyterom").items()}
    turn = json.loads(pool.call(generation(bot), "chat", ("og Helsepartiet?", ["Hva vil Venstre med LAR?"],
                                                          None, None, None, False)))
    expected = api.chat(bot, "og Helsepartiet?", ["Hva vil Venstre med LAR?"])
    assert turn["interpreted"] == expected["interpreted"]
    assert [p["id"] for p in turn["passages"]] == [p["id"] for p in expected["passages"]]
    assert pool.to_dict(generation(bot))["workers"][0]["answered"] == 12


def test_a_bad_question_is_the_same_question_error(live, pool):
    live, _, _ = live
    with pytest.raises(QuestionError, match="^k must be a whole number from 1 to 50$"):
        pool.call(generation(live.current), "ask", ("LAR", 99, None, None))
    with pytest.raises(QuestionError, match="^unknown mode 'x'; use one of hybrid, dense, bm25$"):
        pool.call(generation(live.current), "ask", ("LAR", None, None, "x"))


def test_an_index_the_worker_has_not_opened_is_left_to_the_server(live, pool):
    assert pool.call("/no/such/build", "ask", ("LAR", None, None, None)) is None
    with pytest.raises(ValueError, match="workers answer ask, compare, chat, not 'verify'"):
        pool.call(generation(live[0].current), "verify", ("LAR",))


def test_a_live_swap_is_opened_by_the_workers_before_it_is_served(live, pool):
    live, sources, _ = live
    old = generation(live.current)
    with open(sources / "venstre-rusomsorg.txt", "a", encoding="utf-8") as fh:
        fh.write("\nVenstre vil gi hver kommune en sjiraffvakt for ettervern.\n")
    assert live.reload() is True
    new = generation(live.current)
    assert new != old
    report = pool.to_dict(new)
    assert report["serving"] == 1 and report["workers"][0]["current"] is True
    payload = json.loads(pool.call(new, "ask", ("sjiraffvakt for ettervern", 1, None, None)))
    assert payload["passages"][0]["text"] == "Venstre vil gi hver kommune en sjiraffvakt for ettervern."
    assert pool.call(old, "ask", ("LAR", None, None, None)) is not None  # the index before stays open meanwhile


def test_a_dead_worker_is_taken_out_and_the_server_answers(live):
    live, _, _ = live
    pool = start_pool(live, 1, embedder=FAKE)
    try:
        worker = pool._workers[0]
        worker.process.kill()
        worker.process.join(timeout=10)
        for _ in range(100):  # its reader sees the pipe close
            if not worker.alive:
                break
            threading.Event().wait(0.05)
        assert pool.call(generation(live.current), "ask", ("LAR", None, None, None)) is None
        report = pool.to_dict(generation(live.current))
        assert report["serving"] == 0 and report["workers"][0]["alive"] is False
        assert report["workers"][0]["error"].startswith("the worker process ended")
    finally:
        pool.close()


def test_a_worker_that_cannot_open_the_index_is_not_used(live, tmp_path):
    live, _, _ = live
    spec = WorkerSpec.of(live.current, 1, FAKE)
    broken = WorkerSpec(sources_dir=spec.sources_dir, index_dir=str(tmp_path / "no-index"), config=spec.config,
                        threads=1, settings=spec.settings, decision=spec.decision, embedder=FAKE)
    logged: list[str] = []
    pool = AnswerPool(1, broken, log=logged.append).start(timeout=120)
    try:
        assert pool.call(generation(live.current), "ask", ("LAR", None, None, None)) is None
        assert pool.to_dict()["workers"][0]["alive"] is False
        assert logged and logged[0].startswith("answer worker 0 is not serving: ")
    finally:
        pool.close()


@pytest.mark.parametrize("size", [0, 17, True, 1.5, "2"])
def test_a_bad_pool_size_is_refused_before_anything_starts(live, size):
    with pytest.raises(ValueError, match="^workers must be a whole number from 1 to 16"):
        AnswerPool(size, WorkerSpec.of(live[0].current, 1, FAKE))


def test_threads_are_shared_out_between_workers():
    assert [threads_each(n, cpus=2) for n in (1, 2, 3)] == [2, 1, 1]
    assert threads_each(2, cpus=8) == 4


def test_in_flight_counts_requests_in_hand():
    counter = InFlight()
    with counter as first:
        with counter as second:
            assert (first, second, counter.count) == (1, 2, 2)
    assert counter.count == 0


def test_the_server_answers_through_its_workers_and_says_so_in_health(live, pool):
    from fastapi.testclient import TestClient

    from chatbot.web.server import create_app

    live, _, _ = live
    for lone_here, answered in ((True, 0), (False, 3)):  # a lone request is answered here unless told otherwise
        client = TestClient(create_app(live, page=False, pool=pool, lone_here=lone_here))
        before = pool.to_dict()["workers"][0]["answered"]
        got = client.get("/api/ask", params={"q": "sprøyterom", "k": 2})
        assert got.status_code == 200
        assert without_timings(got.json()) == without_timings(api.ask(live.current, "sprøyterom", 2))
        posted = client.post("/api/chat", json={"question": "og Venstre?", "history": ["sprøyterom"]})
        assert posted.json()["interpreted"] == api.chat(live.current, "og Venstre?", ["sprøyterom"])["interpreted"]
        compared = client.get("/api/compare", params={"q": "LAR"}).json()
        assert list(compared) == list(api.compare(live.current, "LAR"))
        assert client.get("/api/ask", params={"q": "x", "k": 0}).json() == {"error": "k must be a whole number from 1 to 50"}
        workers = client.get("/api/health").json()["workers"]
        assert (workers["size"], workers["serving"], workers["workers"][0]["alive"]) == (1, 1, True)
        assert workers["workers"][0]["answered"] - before == answered
