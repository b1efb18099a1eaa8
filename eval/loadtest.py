"""Many users at once, over HTTP: our server (JSON API and Gradio path) beside the textbook pipeline served the same way.

    .venv/bin/python eval/loadtest.py                    # 50 clients, 20 s per phase, real model
    .venv/bin/python eval/loadtest.py --clients 10 --seconds 5 --json
    .venv/bin/python eval/loadtest.py --no-gradio --no-live --no-textbook   # the JSON API only

Everything runs in this one call, on loopback, so the figures can be compared side by side:

1. **Bare model** (in this process, before any server starts): the ONNX model the server uses embeds the
   distinct questions in batches of 16, the most the CPU can embed (questions/s); and the whole in-process
   query (``Chatbot.ask``), one question at a time (p50).
2. **Our server**: ``python app.py`` on a copy of the sources and index (so that phase 5 can edit them).
   - single user: every distinct question once, one after the other, over ``GET /api/ask``: p50, and the
     reference answers;
   - ``--clients`` concurrent clients (threads with keep-alive connections) ask the questions, cycled, as
     fast as they are answered for ``--seconds``: questions/s, p50/p95/p99, errors, and whether every
     answer equals the single user's (the JSON object without ``timings_ms``).
3. **Gradio path**: the same clients through Gradio's queue (``POST /gradio_api/call/ask`` + its event stream).
4. **Textbook**: ``python -m chatbot.evaluation.textbook_server`` (chunks → e5 → FAISS behind FastAPI, one
   encode per request), single user and the same concurrent phase.
5. **Live update**: under the same concurrent load, a paragraph is appended to a source file; the time until
   ``/api/ask`` answers with it, and the errors meanwhile.
6. **With answer workers** (``--workers N``, default 2; 0 skips it): our server again, as ``app.py --workers N``
   (``chatbot/web/workers.py``) on fresh copies of the sources: single user (its answers compared with the
   one-process server's), the concurrent JSON phase (compared with the same reference), wrk, and a live edit.
   Its CPU and RSS include the workers'.

After each server's concurrent JSON phase (ours and the textbook's), with wrk installed (``apt-get install
wrk``; ``--no-wrk`` skips it), the same questions come from wrk's ``--clients`` connections: a client in C that
leaves the two cores to the server, where the Python clients take a share (``chatbot/bench/wrk.py``; wrk does
not read the answers, so identity is the Python phase's). Every concurrent phase reports the server's CPU use:
the cores it kept busy and its core-milliseconds per question.

The server's RSS is sampled every half second throughout (``rss_timeline`` in ``--json``). Exit status 0
when no request failed and every concurrent answer was identical, else 1; 2 when a server did not start.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

from chatbot.bench import wrk
from chatbot.bench.procs import CpuMeter, RssSampler, Server, free_port
from chatbot.bench.stats import percentile

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "eval" / "questions.jsonl"
LIVE_PHRASE = "Vi vil gi hver kommune et fyrtårn for ettervern med gratis kajakkurs"
LIVE_QUESTION = "fyrtårn for ettervern og kajakkurs"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="eval/loadtest.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=50, help="concurrent clients (default 50)")
    p.add_argument("--seconds", type=float, default=20.0, help="length of each concurrent phase (default 20)")
    p.add_argument("--questions", type=Path, default=QUESTIONS, help="JSON lines with a 'q' field (default eval/questions.jsonl)")
    p.add_argument("--limit", type=int, default=120, help="distinct questions taken from the file (default 120)")
    p.add_argument("--index", type=Path, default=ROOT / "index", help="index folder copied for the server (default ./index)")
    p.add_argument("--sources", type=Path, default=ROOT / "sources", help="sources folder copied for the server")
    p.add_argument("--startup-timeout", type=float, default=300.0, help="seconds a server may take to start (default 300)")
    p.add_argument("--no-gradio", action="store_true", help="skip the Gradio path")
    p.add_argument("--no-textbook", action="store_true", help="skip the textbook reference")
    p.add_argument("--no-live", action="store_true", help="skip the live-update phase")
    p.add_argument("--no-wrk", action="store_true", help="skip the phases driven by wrk (a C load generator)")
    p.add_argument("--workers", type=int, default=2,
                   help="answer workers of the second run of our server (app.py --workers N; default 2; 0 skips it)")
    p.add_argument("--live-source", default="venstre-rusomsorg.txt",
                   help="the source file the live-update phase appends a paragraph to (default venstre-rusomsorg.txt; "
                        "not one whose catalog entry excludes its last lines)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the tables")
    return p


# ---- HTTP clients (keep-alive, standard library: light enough to leave the CPU to the servers) -----------

def Connection(port: int) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", port, timeout=60)


def get(conn: http.client.HTTPConnection, path: str) -> tuple[int, bytes]:
    conn.request("GET", path)
    response = conn.getresponse()
    return response.status, response.read()


def ask_path(question: str) -> str:
    return "/api/ask?" + urllib.parse.urlencode({"q": question})


def comparable(body: bytes) -> dict:
    data = json.loads(body)
    data.pop("timings_ms", None)
    return data


class JsonApi:
    """GET /api/ask: the answer object."""

    def __init__(self, port: int):
        self.port = port

    def connect(self):
        return Connection(self.port)

    def ask(self, conn, question: str) -> dict:
        status, body = get(conn, ask_path(question))
        if status != 200:
            raise RuntimeError(f"HTTP {status}: {body[:200]!r}")
        return comparable(body)


class GradioApi(JsonApi):
    """Gradio's queue: POST /gradio_api/call/ask, then its event stream for the result."""

    def ask(self, conn, question: str) -> dict:
        payload = json.dumps({"data": [question, 5, None, "hybrid"]}).encode()
        conn.request("POST", "/gradio_api/call/ask", body=payload, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {body[:200]!r}")
        event = json.loads(body)["event_id"]
        status, stream = get(conn, f"/gradio_api/call/ask/{event}")
        if status != 200:
            raise RuntimeError(f"HTTP {status} on the event stream")
        kind, data = None, None
        for line in stream.decode("utf-8").splitlines():
            if line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:") and kind == "complete":
                data = json.loads(line[5:].strip())[0]
            elif line.startswith("data:") and kind == "error":
                raise RuntimeError(f"gradio error: {line[5:].strip()[:200]}")
        if data is None:
            raise RuntimeError("the event stream ended without a result")
        data.pop("timings_ms", None)
        return data


def latency_figures(latencies: list[float], seconds: float, errors: int) -> dict:
    return {"questions": len(latencies), "errors": errors,
            "questions_per_s": round(len(latencies) / seconds, 1) if seconds else None,
            **{f"p{q}_ms": None if percentile(latencies, q) is None else round(percentile(latencies, q) * 1000, 1)
               for q in (50, 95, 99)}}


def single_user(api, questions: list[str], beside=None) -> tuple[dict, dict]:
    """Each question once, one after the other: (figures, answers by question). ``beside``: a function asking
    the same question in this process, timed right after each HTTP request, so the two p50s come from the same
    minutes of this noisy machine (``in_process_beside_p50_ms``)."""
    conn, answers, latencies, errors, local = api.connect(), {}, [], 0, []
    api.ask(conn, questions[0])  # a first request warms the connection and the server's caches
    if beside is not None:  # the in-process chatbot has asked every question once already: so has the server
        for q in questions:
            api.ask(conn, q)
    t0 = time.perf_counter()
    for q in questions:
        t = time.perf_counter()
        try:
            answers[q] = api.ask(conn, q)
            latencies.append(time.perf_counter() - t)
        except Exception:  # noqa: BLE001 - counted, not fatal
            errors += 1
            conn = api.connect()
        if beside is not None:
            t = time.perf_counter()
            beside(q)
            local.append(time.perf_counter() - t)
    figures = latency_figures(latencies, time.perf_counter() - t0 - sum(local), errors)
    if beside is not None:
        figures["in_process_beside_p50_ms"] = round(percentile(local, 50) * 1000, 2)
    return figures, answers


def concurrent(api, questions: list[str], clients: int, seconds: float, reference: dict | None,
               during=None, pid: int | None = None) -> dict:
    """``clients`` threads ask as fast as they are answered for ``seconds``; ``during`` runs meanwhile.
    ``pid``: the server's process, whose CPU use over the phase is reported beside the figures."""
    stop = threading.Event()
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []
    differ: list[str] = []

    def client(number: int) -> None:
        conn = api.connect()
        i = number * 7
        while not stop.is_set():
            q = questions[i % len(questions)]
            i += 1
            t = time.perf_counter()
            try:
                answer = api.ask(conn, q)
            except Exception as exc:  # noqa: BLE001
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])
                conn.close()
                conn = api.connect()
                continue
            elapsed = time.perf_counter() - t
            with lock:
                latencies.append(elapsed)
                if reference is not None and q in reference and answer != reference[q]:
                    differ.append(q)
        conn.close()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    meter = CpuMeter(pid)
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    extra = during() if during is not None else None
    rest = seconds - (time.perf_counter() - t0)
    if rest > 0:
        time.sleep(rest)
    stop.set()
    for t in threads:
        t.join(timeout=120)
    out = latency_figures(latencies, time.perf_counter() - t0, len(errors))
    out.update(meter.stop(len(latencies)))
    out["identical"] = None if reference is None else len(latencies) - len(differ)
    out["different"] = sorted(set(differ))[:10]
    out["first_errors"] = errors[:5]
    if extra is not None:
        out["live_update"] = extra
    return out


# ---- in process ------------------------------------------------------------------------------------

def bare_batched(embedder, prompts: list[str], seconds: float = 3.0) -> float:
    """Questions/s the bare model embeds in calls of 16 (the most the CPU can embed), the questions cycled for
    at least ``seconds`` (one pass over 120 questions is a quarter of a second: too short to trust)."""
    done, t0 = 0, time.perf_counter()
    while True:
        for start in range(0, len(prompts), 16):
            embedder.embed_queries(prompts[start:start + 16])
            done += len(prompts[start:start + 16])
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds:
            return done / elapsed


def bare_beside(bot, prompts: list[str]) -> float:
    """The bare model's batched rate again, with the server idle, just before a concurrent phase: the machine's
    speed drifts by a third over a run, so each phase's ratio is taken to the rate measured beside it."""
    return round(bare_batched(bot.query_embedder.inner, prompts), 1)


def bare_model_and_in_process(questions: list[str], sources: Path, index: Path) -> tuple[dict, object]:
    """The model's batched throughput, and the in-process query p50, before any server runs; and the chatbot,
    kept to ask beside the single-user HTTP phases."""
    import numpy as np

    from chatbot.models.factory import make_embedder
    from chatbot.service import Chatbot

    embedder = make_embedder(None)
    embedder.warm_up()
    prompts = list(questions)
    embedder.embed_queries(prompts[:16])
    batched = bare_batched(embedder, prompts)
    t0 = time.perf_counter()
    for q in prompts:
        embedder.embed_queries([q])
    one = len(prompts) / (time.perf_counter() - t0)
    bot = Chatbot.open(sources_dir=sources, index_dir=index, embedder=embedder, progress=None)
    bot.ask(questions[0])
    times = []
    for q in questions:
        t = time.perf_counter()
        bot.ask(q)
        times.append(time.perf_counter() - t)
    return {"model_batched_16_per_s": round(batched, 1), "model_one_at_a_time_per_s": round(one, 1),
            "in_process_p50_ms": round(float(np.median(times)) * 1000, 2)}, bot


# ---- the run -------------------------------------------------------------------------------------

def wrk_phase(port: int, pid: int, questions: list[str], args) -> dict:
    """The same questions from wrk's ``--clients`` connections (``chatbot/bench/wrk.py``), the server's CPU beside."""
    if not wrk.available():
        print(f"loadtest: {wrk.HINT}", file=sys.stderr)
        return {"skipped": wrk.HINT}
    meter = CpuMeter(pid)
    figures = wrk.run(port, [ask_path(q) for q in questions], args.clients, args.seconds)
    return {**figures, **meter.stop(figures["questions"])}


def live_edit(port: int, source: Path, timeout: float = 60.0):
    """Append a paragraph to a source file; return a function that waits until it is served."""
    def run() -> dict:
        conn = Connection(port)
        before = json.loads(get(conn, "/api/health")[1])["corpus_version"]
        with open(source, "a", encoding="utf-8") as fh:
            fh.write(f"\n{LIVE_PHRASE}, skriver lasttesten {time.time():.0f}.\n")
        t0 = time.perf_counter()
        swapped = None
        while time.perf_counter() - t0 < timeout:
            try:
                if swapped is None and json.loads(get(conn, "/api/health")[1])["corpus_version"] != before:
                    swapped = round(time.perf_counter() - t0, 2)
                if swapped is not None:
                    status, body = get(conn, ask_path(LIVE_QUESTION))
                    found = status == 200 and any(LIVE_PHRASE in p["text"] for p in json.loads(body)["passages"])
                    return {"swapped_after_s": swapped, "served_after_s": round(time.perf_counter() - t0, 2),
                            "new_text_answered": found}
            except OSError:
                conn = Connection(port)
            time.sleep(0.1)
        return {"swapped_after_s": swapped, "served_after_s": None, "new_text_answered": False}

    return run


def run(args) -> dict:
    lines = [json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = list(dict.fromkeys(d["q"] for d in lines if isinstance(d.get("q"), str) and d["q"].strip()))[:args.limit]
    result: dict = {"clients": args.clients, "seconds": args.seconds, "distinct_questions": len(questions),
                    "cpus": os.cpu_count()}
    work = Path(tempfile.mkdtemp(prefix="loadtest-"))
    sampler = RssSampler()
    servers: list[Server] = []
    try:
        sources, index = work / "sources", work / "index"
        shutil.copytree(args.sources, sources)
        if args.index.exists():
            shutil.copytree(args.index, index, symlinks=True)
        # its own copies: the servers' live edits rebuild theirs, and remove the build it would read passages from
        local_sources, local_index = work / "local-sources", work / "local-index"
        shutil.copytree(sources, local_sources)
        if index.exists():
            shutil.copytree(index, local_index, symlinks=True)
        result["in_process"], local_bot = bare_model_and_in_process(questions, local_sources, local_index)
        sampler.start()

        def start(name: str, command: list[str]) -> tuple[Server, int]:
            """A server on a free port (``command`` + the port's arguments), ready, its memory sampled."""
            port = free_port()
            server = Server(name, [sys.executable, *command, "--port", str(port)], port)
            servers.append(server)
            server.wait_ready(args.startup_timeout)
            sampler.watch(name, server.pid)
            return server, port

        def our_server(name: str, extra: list[str], reference: dict | None = None, gradio: bool = False,
                       **about) -> dict:
            """``app.py`` with ``extra`` arguments: single user, concurrent JSON (against ``reference``, else its
            own single-user answers), wrk, the Gradio path (``gradio``) and a live edit. Its single-user answers."""
            server, port = start(name, [str(ROOT / "app.py"), "--host", "127.0.0.1", "--sources", str(sources),
                                        "--index", str(index), "--watch-interval", "1", *extra])
            api = JsonApi(port)
            single, own = single_user(api, questions, beside=local_bot.ask)
            against = own if reference is None else reference
            entry = {**about, "single_user": single}
            if reference is not None:
                entry["same_as_one_process"] = sum(own.get(q) == reference.get(q) for q in reference)
            entry["bare_model_beside_per_s"] = bare_beside(local_bot, questions)
            entry["concurrent"] = concurrent(api, questions, args.clients, args.seconds, against, pid=server.pid)
            result[name + "_json"] = entry
            if not args.no_wrk:
                result[name + "_wrk"] = wrk_phase(port, server.pid, questions, args)
            if gradio:
                page = GradioApi(port)
                single_g, reference_g = single_user(page, questions)
                same = sum(reference_g.get(q) == against.get(q) for q in against)
                result[name + "_gradio"] = {"single_user": single_g, "same_as_json_api": same,
                                            "concurrent": concurrent(page, questions, args.clients, args.seconds,
                                                                     against, pid=server.pid)}
            if not args.no_live:
                result[name + "_live"] = concurrent(api, questions, args.clients, max(args.seconds, 40.0), None,
                                                    during=live_edit(port, sources / args.live_source), pid=server.pid)
            result[name + "_rss"] = sampler.summary(name)
            server.stop()
            servers.remove(server)
            return own

        reference = our_server("ours", [], gradio=not args.no_gradio)
        if args.workers:
            # the same server with answer workers (chatbot/web/workers.py), on a fresh copy of the sources
            shutil.rmtree(sources)
            shutil.copytree(args.sources, sources)
            our_server("ours_workers", ["--workers", str(args.workers)], reference, workers=args.workers)

        if not args.no_textbook:
            textbook_server, tb_port = start("textbook", ["-m", "chatbot.evaluation.textbook_server",
                                                    "--sources", str(args.sources)])
            tb = JsonApi(tb_port)
            single_t, reference_t = single_user(tb, questions)
            result["textbook_json"] = {"single_user": single_t,
                                       "concurrent": concurrent(tb, questions, args.clients, args.seconds, reference_t,
                                                                pid=textbook_server.pid)}
            if not args.no_wrk:
                result["textbook_wrk"] = wrk_phase(tb_port, textbook_server.pid, questions, args)
            result["textbook_rss"] = sampler.summary("textbook")
    finally:
        sampler.stop()
        for s in servers:
            s.stop()
        shutil.rmtree(work, ignore_errors=True)
    result["rss_timeline"] = sampler.timeline
    ours_c = result["ours_json"]["concurrent"]
    bare = result["ours_json"]["bare_model_beside_per_s"]
    result["ratio_to_bare_model_batched"] = round(ours_c["questions_per_s"] / bare, 2)
    if result.get("ours_wrk", {}).get("questions_per_s"):
        result["wrk_ratio_to_bare_model_batched"] = round(result["ours_wrk"]["questions_per_s"] / bare, 2)
    single = result["ours_json"]["single_user"]
    result["http_single_over_in_process"] = round(single["p50_ms"] / single["in_process_beside_p50_ms"], 2)
    if "ours_workers_json" in result:
        bare = result["ours_workers_json"]["bare_model_beside_per_s"]
        result["workers_ratio_to_bare_model_batched"] = round(
            result["ours_workers_json"]["concurrent"]["questions_per_s"] / bare, 2)
        if result.get("ours_workers_wrk", {}).get("questions_per_s"):
            result["workers_wrk_ratio_to_bare_model_batched"] = round(
                result["ours_workers_wrk"]["questions_per_s"] / bare, 2)
        single = result["ours_workers_json"]["single_user"]
        result["workers_http_single_over_in_process"] = round(single["p50_ms"] / single["in_process_beside_p50_ms"], 2)
    return result


def table(r: dict) -> str:
    rows = ["| | questions/s | p50 ms | p95 ms | p99 ms | errors | identical | server cores | server core-ms / question |",
            "|---|---|---|---|---|---|---|---|---|"]

    def row(name, f):
        if "skipped" in f:
            rows.append(f"| {name} | {f['skipped']} | | | | | | | |")
            return
        ident = "" if f.get("identical") is None else f"{f['identical']}/{f['questions']}"
        cpu = f"{f.get('server_cores', '')} | {f.get('server_core_ms_per_question', '')}" if "server_cores" in f else " | "
        rows.append(f"| {name} | {f['questions_per_s']} | {f['p50_ms']} | {f['p95_ms']} | {f['p99_ms']} | {f['errors']} | {ident} | {cpu} |")

    workers = r.get("ours_workers_json", {}).get("workers")
    for key, name in (("ours_json", "ours, JSON API"), ("ours_gradio", "ours, Gradio path"),
                      ("ours_workers_json", f"ours with {workers} answer workers, JSON API"),
                      ("textbook_json", "textbook, JSON API")):
        if key in r:
            row(f"{name}, 1 user", r[key]["single_user"])
            row(f"{name}, {r['clients']} clients", r[key]["concurrent"])
        wrk_key = key[:-len("_json")] + "_wrk" if key.endswith("_json") else None
        if wrk_key in r:
            row(f"{name}, {r['clients']} connections from wrk", r[wrk_key])
        live_key = key[:-len("_json")] + "_live" if key.endswith("_json") else None
        if live_key in r:
            row(f"{name}, {r['clients']} clients, source edited", r[live_key])
    ip = r["in_process"]
    out = ["\n".join(rows), "",
           f"bare model: {ip['model_batched_16_per_s']} questions/s in batches of 16, {ip['model_one_at_a_time_per_s']} one at a time; "
           f"in-process query p50 {ip['in_process_p50_ms']} ms",
           f"ours over the JSON API / bare model batched beside it ({r['ours_json']['bare_model_beside_per_s']} "
           f"questions/s): {r['ratio_to_bare_model_batched']}× (Python clients)"
           + (f", {r['wrk_ratio_to_bare_model_batched']}× (wrk)" if "wrk_ratio_to_bare_model_batched" in r else "") + "; "
           f"single-user HTTP p50 / in-process p50 asked beside it: {r['http_single_over_in_process']}× "
           f"({r['ours_json']['single_user']['p50_ms']} / {r['ours_json']['single_user']['in_process_beside_p50_ms']} ms)"]
    if "workers_ratio_to_bare_model_batched" in r:
        out.append(f"ours with {workers} answer workers / bare model batched beside it "
                   f"({r['ours_workers_json']['bare_model_beside_per_s']} questions/s): {r['workers_ratio_to_bare_model_batched']}× "
                   "(Python clients)" + (f", {r['workers_wrk_ratio_to_bare_model_batched']}× (wrk)"
                                         if "workers_wrk_ratio_to_bare_model_batched" in r else "")
                   + f"; single-user HTTP p50 / in-process p50 asked beside it: {r['workers_http_single_over_in_process']}×; "
                   f"single-user answers the same as one process's: {r['ours_workers_json']['same_as_one_process']}/"
                   f"{r['ours_workers_json']['single_user']['questions']}")
    for key, label in (("ours_live", "ours"), ("ours_workers_live", "ours with workers")):
        if key in r:
            lu = r[key]["live_update"]
            out.append(f"live update ({label}): swapped in after {lu['swapped_after_s']} s, answered with the new text: "
                       f"{lu['new_text_answered']}; {r[key]['errors']} failed requests meanwhile")
    for key, label in (("ours_rss", "ours"), ("ours_workers_rss", "ours with workers (server and workers)"),
                       ("textbook_rss", "textbook")):
        if r.get(key):
            out.append(f"{label} RSS: {r[key]['first_mb']} MB at start, peak {r[key]['peak_mb']} MB, "
                       f"{r[key]['last_mb']} MB at the end")
    return "\n".join(out)


def ok(r: dict) -> bool:
    phases = [r[k]["concurrent"] for k in ("ours_json", "ours_gradio", "ours_workers_json", "textbook_json") if k in r]
    phases += [r[k] for k in ("ours_wrk", "ours_workers_wrk", "textbook_wrk") if k in r and "skipped" not in r[k]]
    lives = [r[k] for k in ("ours_live", "ours_workers_live") if k in r]
    phases += lives
    errors = sum(p["errors"] for p in phases)
    identical = all(p.get("identical") in (None, p["questions"]) for p in phases)
    same = "ours_workers_json" not in r or (r["ours_workers_json"]["same_as_one_process"]
                                           == r["ours_workers_json"]["single_user"]["questions"])
    live = all(p["live_update"]["new_text_answered"] for p in lives)
    return errors == 0 and identical and live and same


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.clients < 1 or args.seconds <= 0 or args.limit < 1:
        print("loadtest: --clients, --seconds and --limit must be positive", file=sys.stderr)
        return 2
    try:
        result = run(args)
    except RuntimeError as exc:
        print(f"loadtest: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, ensure_ascii=False) if args.json else table(result))
    return 0 if ok(result) else 1


if __name__ == "__main__":
    sys.exit(main())
