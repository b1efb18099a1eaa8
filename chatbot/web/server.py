"""One HTTP server for the page and the JSON API: FastAPI with the Gradio page mounted at ``/``.

    GET  /api/ask?q=…&k=5&party=Venstre&mode=hybrid     POST /api/ask      {"question", "k", "party", "mode"}
    GET  /api/compare?q=…                              POST /api/chat     {"question", "history", ...}
    GET  /api/verify?quote=…&party=…                   POST /api/verify   {"quote", "party"}
    GET  /api/health                                   GET  /api/openapi.json, /api/docs

``/api/ask`` returns exactly the ``chatbot ask --json`` object (:mod:`chatbot.web.api`). Bad input is a 4xx
with ``{"error": "one line"}``; so are unknown ``/api/`` paths. Every request takes the chatbot being
served once (:class:`~chatbot.live.LiveChatbot`), so a source change swapped in mid-request never mixes
two indexes. Endpoints are plain functions run in the server's thread pool: questions that arrive
together share one model call (:mod:`chatbot.models.batching`), and nothing else in answering takes a lock.
With ``--workers N`` the questions of /api/ask, /api/compare and /api/chat are answered by N worker processes
under load (:mod:`chatbot.web.workers`).
"""


import contextlib
import json
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Union

from .. import __version__

if TYPE_CHECKING:  # pragma: no cover
    from fastapi import FastAPI

    from ..live import LiveChatbot
    from .workers import AnswerPool

from ..settings import disable_gradio_analytics  # noqa: E402

disable_gradio_analytics()  # before gradio is imported anywhere through us

MAX_BODY_BYTES = 1_000_000  # a question is cut at a few thousand characters; a megabyte is never a question
THREADS = 64  # request threads: more than the 50 clients of the load test, so none waits for a thread
GRADIO_CONCURRENCY = 32  # page events answered at once; they share model calls like the API's requests


def create_app(live: "LiveChatbot", *, page: bool = True, pool: "AnswerPool | None" = None,
               lone_here: bool = True) -> "FastAPI":
    """The FastAPI app: the JSON API under /api, and (``page``) the Gradio page at /. With ``pool``
    (``--workers``), /api/ask, /api/compare and /api/chat are answered by its worker processes, and by
    this process when no worker has the served index open (chatbot/web/workers.py); with ``lone_here``, a
    request with no other in hand is answered here too (quicker alone: ``workers.InFlight``)."""
    from fastapi import Body, FastAPI, Query, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, Response
    from pydantic import BaseModel, ConfigDict, Field
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from . import api
    from ..errors import ChatbotError, QuestionError

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        import anyio.to_thread

        # the thread pool the plain (def) endpoints run in: one thread per concurrent request
        anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
        await anyio.to_thread.run_sync(live.current.answerer.warm_up)  # before the first request
        yield

    app = FastAPI(title="Partiprogram-chatbot API", version=__version__, lifespan=lifespan,
                  description="Answers questions with exact, cited passages from party programmes. "
                              "`/api/ask` returns the same object as `chatbot ask --json`.",
                  openapi_url="/api/openapi.json", docs_url="/api/docs", redoc_url=None)

    Mode = Literal["hybrid", "dense", "bm25"]
    PartyArg = Union[str, list[str], None]

    class AskBody(BaseModel):
        model_config = ConfigDict(extra="forbid")
        question: str = Field(description="the question, in bokmål, nynorsk or English")
        k: int | None = Field(None, description="passages to return, 1–50 (default 5)")
        party: PartyArg = Field(None, description="only these parties: a name, names separated by commas, or a list")
        mode: Mode | None = Field(None, description="hybrid (default), dense or bm25")

    class ChatBody(AskBody):
        history: list[Union[str, dict]] | None = Field(
            None, description="the earlier turns: the user's texts, or the \"history\" the previous call returned")
        literal: bool = Field(False, description="search the words as typed, without reading them as a follow-up")

    class VerifyBody(BaseModel):
        model_config = ConfigDict(extra="forbid")
        quote: str = Field(description="the quote to look for in the sources")
        party: str | None = Field(None, description="the party the quote is attributed to")

    def as_json(data) -> Response:
        # the ask --json bytes as the CLI prints them; no jsonable_encoder pass over every passage
        return Response(json.dumps(data, ensure_ascii=False).encode("utf-8"), media_type="application/json")

    from .workers import InFlight, generation

    in_flight = InFlight()

    def answered(name: str, *args) -> Response:
        """``api.<name>(bot, *args)`` from the chatbot served now: by a worker when one has its index open and
        other requests are in hand (a lone request is quickest here)."""
        bot = live.current
        with in_flight as now:
            if pool is not None and (now > 1 or not lone_here):
                payload = pool.call(generation(bot), name, args)
                if payload is not None:
                    return Response(payload, media_type="application/json")
            return as_json(getattr(api, name)(bot, *args))

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    @app.exception_handler(QuestionError)
    def _bad_question(_request: Request, exc: QuestionError):
        return error(400, str(exc))

    @app.exception_handler(ChatbotError)
    def _not_served(_request: Request, exc: ChatbotError):
        return error(503, str(exc))

    @app.exception_handler(RequestValidationError)
    def _invalid(_request: Request, exc: RequestValidationError):
        first = (exc.errors() or [{}])[0]
        where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("body", "query"))
        if first.get("type") == "json_invalid":
            return error(400, "the request body is not valid JSON")
        if tuple(first.get("loc", ())) == ("body",) and first.get("type") in ("model_attributes_type", "dict_type"):
            return error(400, "the request body must be a JSON object")
        message = first.get("msg", "invalid request")
        return error(400, f"{where}: {message}" if where else message)

    @app.exception_handler(StarletteHTTPException)
    def _http(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 404:
            return error(404, f"no such endpoint: {request.url.path}; see /api/docs")
        if exc.status_code == 405:
            return error(405, f"{request.method} is not allowed on {request.url.path}; see /api/docs")
        return error(exc.status_code, str(exc.detail))

    app.add_middleware(_BodyLimit, limit=MAX_BODY_BYTES)

    q_doc = "the question"

    @app.get("/api/ask", summary="Answer a question with quoted passages")
    def ask_get(q: str = Query(..., description=q_doc), k: int | None = Query(None, description="1–50, default 5"),
                party: list[str] | None = Query(None, description="party name; repeat or separate by commas"),
                mode: Mode | None = Query(None)):
        return answered("ask", q, k, party, mode)

    @app.post("/api/ask", summary="Answer a question with quoted passages")
    def ask_post(body: AskBody = Body(...)):
        return answered("ask", body.question, body.k, body.party, body.mode)

    @app.get("/api/compare", summary="Each party's best passages for the same question")
    def compare_get(q: str = Query(..., description=q_doc), k: int | None = Query(None, description="1–50, default 3"),
                    mode: Mode | None = Query(None)):
        return answered("compare", q, k, mode)

    @app.post("/api/chat", summary="One turn of a conversation (follow-up questions)")
    def chat_post(body: ChatBody = Body(...)):
        return answered("chat", body.question, body.history, body.k, body.party, body.mode, body.literal)

    @app.get("/api/verify", summary="Is this quote in the sources, and under which party?")
    def verify_get(quote: str = Query(...), party: str | None = Query(None)):
        return as_json(api.verify(live.current, quote, party))

    @app.post("/api/verify", summary="Is this quote in the sources, and under which party?")
    def verify_post(body: VerifyBody = Body(...)):
        return as_json(api.verify(live.current, body.quote, body.party))

    @app.get("/api/health", summary="The corpus and index being served, and the source watcher's state")
    def health():
        report = api.health(live)
        if pool is not None:
            report["workers"] = pool.to_dict(generation(live.current))
        return as_json(report)

    @app.api_route("/api/{rest:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"], include_in_schema=False)
    def unknown(rest: str, request: Request):
        return error(404, f"no such endpoint: {request.url.path}; see /api/docs")

    if page:
        _mount_page(app, live)
    return app


class _BodyLimit:
    """Plain ASGI middleware (cheaper than Starlette's BaseHTTPMiddleware on every request): a body whose
    Content-Length is over ``limit`` gets 413 before anything reads it."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            for name, value in scope.get("headers", ()):
                if name == b"content-length" and (not value.isdigit() or int(value) > self.limit):
                    body = json.dumps({"error": f"the request body is larger than {self.limit} bytes"}).encode()
                    await send({"type": "http.response.start", "status": 413,
                                "headers": [(b"content-type", b"application/json"),
                                            (b"content-length", str(len(body)).encode())]})
                    await send({"type": "http.response.body", "body": body})
                    return
        await self.app(scope, receive, send)


def _mount_page(app, live) -> None:
    import gradio as gr

    from . import webui

    demo = webui.build_ui(live)
    demo.queue(default_concurrency_limit=GRADIO_CONCURRENCY, max_size=webui.QUEUE_SIZE)
    gr.mount_gradio_app(app, demo, path="/", **page_options())
    app.state.demo = demo


def page_options():
    """How the page is served (``gr.mount_gradio_app``'s options): no analytics, no web fonts, no share link."""
    from . import cards, webui

    options = dict(footer_links=["api"], ssr_mode=False, mcp_server=False, pwa=False, enable_monitoring=False,
                   run_history=False, show_error=True, theme=webui.theme(), css=cards.CSS)
    options.update(getattr(webui, "PAGE_OPTIONS", {}))  # the page's own additions (e.g. head)
    return options


@dataclass
class Served:
    """A running server (``launch(..., prevent_thread_lock=True)``): its URL, and ``close()``."""

    url: str
    live: "LiveChatbot"
    _server: Any
    _thread: threading.Thread
    pool: "AnswerPool | None" = None

    def close(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self.live.stop()
        if self.pool is not None:
            self.pool.close()


def serve(live: "LiveChatbot", host: str = "127.0.0.1", port: int = 7860, *, prevent_thread_lock: bool = False,
          quiet: bool = False, page: bool = True, watch: bool = True, workers: int = 0,
          worker_embedder: str | None = None) -> "Served | None":
    """Serve the app with uvicorn. Blocks until stopped, unless ``prevent_thread_lock`` (then returns ``Served``).
    ``workers``: answer processes for the JSON API, started before the port is bound (they take a few seconds)
    and closed when the server stops (chatbot/web/workers.py); ``worker_embedder``: how they make their
    embedder ("module:callable"; None: as the settings say)."""
    import socket

    import uvicorn

    pool = None
    if workers:
        from .workers import start_pool

        pool = start_pool(live, workers, worker_embedder)
    app = create_app(live, page=page, pool=pool)
    # bind first, so that a taken port is an OSError here and not a log line in a thread
    # proto=IPPROTO_TCP, or asyncio leaves Nagle on for the accepted connections (its _set_nodelay checks the
    # proto), and every response's body waits ~40 ms for the client's delayed ACK of the headers
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        if pool is not None:
            pool.close()
        raise
    sock.listen(2048)
    sock.set_inheritable(True)
    bound = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning" if quiet else "info", access_log=False, lifespan="on",
                            timeout_keep_alive=30, backlog=2048)
    server = uvicorn.Server(config)

    if watch:
        live.start()
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    url = f"http://{shown if ':' not in shown else '[' + shown + ']'}:{bound}/"
    if not quiet:
        print(f"Serving on {url} (the page), {url}api/docs (the JSON API)", flush=True)
    if not prevent_thread_lock:
        try:
            server.run(sockets=[sock])
        finally:
            live.stop()
            if pool is not None:
                pool.close()
        return None
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="http-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    if not server.started:
        server.should_exit = True
        raise OSError(f"the server did not start on {host}:{bound}")
    return Served(url=url, live=live, _server=server, _thread=thread, pool=pool)


def launch(bot: "Chatbot | LiveChatbot", host: str = "127.0.0.1", port: int = 7860, *,
           prevent_thread_lock: bool = False, quiet: bool = False, watch: bool = False, workers: int = 0,
           worker_embedder: str | None = None):
    """Serve the page and the JSON API on one server (chatbot/web/server.py). Returns (handle with close(), URL).
    ``workers``, ``worker_embedder``: as ``serve``'s."""
    from ..live import LiveChatbot

    live = bot if isinstance(bot, LiveChatbot) else LiveChatbot(bot)
    served = serve(live, host=host, port=port, prevent_thread_lock=prevent_thread_lock, quiet=quiet, watch=watch,
                   workers=workers, worker_embedder=worker_embedder)
    return served, (served.url if served is not None else None)
