"""The JSON API (chatbot/web/server.py) in process, with the fake embedder: same objects as the CLI, clean 4xx."""

from __future__ import annotations

import json

import pytest

from chatbot.live import LiveChatbot

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture()
def client(fake_bot):
    from fastapi.testclient import TestClient

    from chatbot.web.server import create_app

    return TestClient(create_app(LiveChatbot(fake_bot), page=False))


def test_get_and_post_ask_return_the_cli_json_object(client, fake_bot):
    expected = fake_bot.to_dict(fake_bot.ask("Hva vil Venstre med LAR?", k=3))
    got = client.get("/api/ask", params={"q": "Hva vil Venstre med LAR?", "k": 3})
    posted = client.post("/api/ask", json={"question": "Hva vil Venstre med LAR?", "k": 3})
    for response in (got, posted):
        assert response.status_code == 200
        body = response.json()
        body.pop("timings_ms", None)
        assert body == {k: v for k, v in expected.items() if k != "timings_ms"}


def test_party_filter_as_repeated_parameter_comma_list_or_json_list(client, fake_bot):
    one = fake_bot.to_dict(fake_bot.ask("sprøyterom", k=2, party=["Venstre"]))
    for response in (client.get("/api/ask", params={"q": "sprøyterom", "k": 2, "party": "venstre"}),
                     client.post("/api/ask", json={"question": "sprøyterom", "k": 2, "party": ["Venstre"]}),
                     client.post("/api/ask", json={"question": "sprøyterom", "k": 2, "party": "Venstre"})):
        assert response.status_code == 200
        assert [p["party"] for p in response.json()["passages"]] == [p["party"] for p in one["passages"]]


@pytest.mark.parametrize("request_args, status, error", [
    (("get", "/api/ask", {"params": {"q": "x", "k": 0}}), 400, "k must be a whole number from 1 to 50"),
    (("get", "/api/ask", {"params": {"q": "x", "k": "abc"}}), 400,
     "k: Input should be a valid integer, unable to parse string as an integer"),
    (("get", "/api/ask", {"params": {"q": "x", "mode": "foo"}}), 400, "mode: Input should be 'hybrid', 'dense' or 'bm25'"),
    (("get", "/api/ask", {}), 400, "q: Field required"),
    (("post", "/api/ask", {"content": b"{bad", "headers": {"content-type": "application/json"}}), 400,
     "the request body is not valid JSON"),
    (("post", "/api/ask", {"json": {"q": "x"}}), 400, "question: Field required"),
    (("post", "/api/ask", {"json": {"question": 5}}), 400, "question: Input should be a valid string"),
    (("post", "/api/ask", {"json": ["x"]}), 400, "the request body must be a JSON object"),
    (("post", "/api/ask", {"json": {"question": "x", "party": 3}}), 400, None),
    (("post", "/api/chat", {"json": {"question": "x", "history": "nope"}}), 400, None),
    (("get", "/api/nope", {}), 404, "no such endpoint: /api/nope; see /api/docs"),
    (("post", "/api/ask", {"content": b"x" * 1_000_001, "headers": {"content-type": "application/json"}}), 413,
     "the request body is larger than 1000000 bytes"),
])
def test_bad_input_is_a_4xx_with_a_one_line_error(client, request_args, status, error):
    method, path, kwargs = request_args
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error"} and "\n" not in body["error"]
    if error is not None:
        assert body["error"] == error


def test_an_empty_or_html_question_is_answered_with_a_notice_not_an_error(client):
    empty = client.get("/api/ask", params={"q": "   "})
    assert empty.status_code == 200 and empty.json()["answered"] is False and empty.json()["notice"]
    html = client.post("/api/ask", json={"question": "<script>alert(1)</script> sprøyterom"})
    assert html.status_code == 200
    assert html.json()["question"] == "<script>alert(1)</script> sprøyterom"


def test_chat_reads_a_follow_up_from_the_history(client):
    first = client.post("/api/chat", json={"question": "Hva mener Venstre om bolig?"}).json()
    second = client.post("/api/chat", json={"question": "Og Helsepartiet?", "history": first["history"]}).json()
    assert second["context_used"] is True
    assert "Helsepartiet" in second["interpreted"]
    assert {p["party"] for p in second["passages"]} <= {"Helsepartiet"}
    assert len(second["history"]) == 2


def test_verify_finds_an_exact_quote_with_offsets_into_the_source(client, fake_bot):
    passage = fake_bot.answerer.index.passages[3]
    quote = passage.text[:80].rsplit(" ", 1)[0]
    for response in (client.get("/api/verify", params={"quote": quote}),
                     client.post("/api/verify", json={"quote": quote, "party": passage.party})):
        assert response.status_code == 200
        body = response.json()
        assert body["found"] == "exact"
        match = body["matches"][0]
        assert match["party"] == passage.party and match["source"] == passage.source
        assert fake_bot.catalog.text(match["source"])[match["start"]:match["end"]] == quote


def test_verify_with_an_unknown_party_is_a_400(client):
    response = client.get("/api/verify", params={"quote": "noe", "party": "Piratpartiet"})
    assert response.status_code == 400
    assert response.json()["error"].startswith("unknown party 'Piratpartiet'")


def test_compare_has_every_party_in_alphabetical_order(client):
    body = client.get("/api/compare", params={"q": "sprøyterom"}).json()
    assert list(body) == ["Helsepartiet", "Venstre"]


def test_health_names_the_corpus_and_index_served(client, fake_bot):
    body = client.get("/api/health").json()
    assert body["status"] == "ok"
    assert body["corpus_version"] == fake_bot.corpus_version and len(body["corpus_version"]) == 12
    assert body["index"]["passages"] == len(fake_bot.answerer.index.passages)
    assert body["parties"] == ["Helsepartiet", "Venstre"]
    assert body["live_updates"]["state"] == "serving"


def test_openapi_describes_the_api(client):
    spec = client.get("/api/openapi.json").json()
    assert {"/api/ask", "/api/chat", "/api/verify", "/api/health", "/api/compare"} <= set(spec["paths"])
    assert set(spec["paths"]["/api/ask"]) == {"get", "post"}
    assert client.get("/api/docs").status_code == 200


def test_the_page_and_the_api_share_one_server(fake_bot):
    from fastapi.testclient import TestClient

    from chatbot.web.server import create_app

    with TestClient(create_app(LiveChatbot(fake_bot), page=True)) as client:
        assert client.get("/").status_code == 200
        assert "text/html" in client.get("/").headers["content-type"]
        assert client.get("/api/ask", params={"q": "LAR"}).status_code == 200
        assert json.loads(client.get("/gradio_api/info").text)["named_endpoints"]["/ask"]


def test_the_query_path_is_warmed_up_before_the_first_request(fake_bot, monkeypatch):
    from fastapi.testclient import TestClient

    from chatbot.web.server import create_app

    asked = []
    real = fake_bot.answerer.ask
    monkeypatch.setattr(fake_bot.answerer, "ask", lambda q, *a, **kw: asked.append(q) or real(q, *a, **kw))
    with TestClient(create_app(LiveChatbot(fake_bot), page=False)) as client:
        assert asked == list(fake_bot.answerer.WARM_UP_QUESTIONS)  # during startup, before any request
        assert client.get("/api/health").status_code == 200
