"""Many users at once: start the web app, ask it N questions from C concurrent gradio_client clients.

    .venv/bin/python eval/loadtest.py                       # 50 clients, 1 000 questions, real model, ./index
    .venv/bin/python eval/loadtest.py --clients 10 --total 200 --json
    .venv/bin/python eval/loadtest.py --url http://127.0.0.1:7860/ --pid 1234   # a server already running

Steps: start ``python app.py --host 127.0.0.1 --port PORT`` (loopback only; ``--index``/``--sources``/
``--model`` are passed on); wait until it serves; ask every distinct question once, one after the other
(the single-user answers); then let C clients, each its own ``gradio_client.Client``, share the
``total`` questions (cycled from eval/questions.jsonl) through the ``/ask`` API as fast as they are
answered. Reports throughput (questions/s), p50/p95/max latency, errors, whether every concurrent
answer is identical to the single-user answer for the same question, and the server's resident memory
(VmRSS from /proc/PID/status) when ready, after the single-user pass, at its peak and at the end.
``--rounds N`` repeats the concurrent phase, to tell a one-off warm-up from memory that keeps growing.

Bounded: at most ``--total`` questions per round and ``--timeout`` seconds in all (start-up included);
when the time is up the clients stop taking questions, unanswered ones count as errors, and the server
this script started is stopped (by its process id). Exit status 0 when there were no errors, every answer
was identical and memory stayed flat (grew less than ``--max-rss-growth`` MB over the concurrent phase,
or after the first round when there are several), else 1; 2 when the server did not start.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "eval" / "questions.jsonl"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="eval/loadtest.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=50, help="concurrent clients (default 50)")
    p.add_argument("--total", type=int, default=1000, help="questions in all, cycled from the file (default 1000)")
    p.add_argument("--questions", type=Path, default=QUESTIONS, help="JSON lines with a 'q' field (default eval/questions.jsonl)")
    p.add_argument("--timeout", type=float, default=600.0, help="stop after this many seconds in all (default 600)")
    p.add_argument("--startup-timeout", type=float, default=300.0,
                   help="give up when the app is not serving after this many seconds (default 300; within --timeout)")
    p.add_argument("--port", type=int, default=0, help="port for the app (default: a free one)")
    p.add_argument("--index", type=Path, help="index folder passed to app.py (default: its own default, ./index)")
    p.add_argument("--sources", type=Path, help="sources folder passed to app.py")
    p.add_argument("--model", help="model passed to app.py (default: the real default model)")
    p.add_argument("--url", help="use a server that is already running at this URL instead of starting one")
    p.add_argument("--pid", type=int, help="with --url: the server's process id, for its memory")
    p.add_argument("--rounds", type=int, default=1,
                   help="repeat the concurrent phase (default 1); with 2 or more, memory is judged after the first "
                        "round, which warms up the server's thread arenas and caches")
    p.add_argument("--max-rss-growth", type=float, default=50.0, metavar="MB",
                   help="memory counts as flat when RSS grows less than this over the concurrent phase (default 50)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    return p


# ---- the server --------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024  # kB
    except (OSError, ValueError, IndexError):
        return None
    return None


class Server:
    """``python app.py`` on loopback, its output in a log file; stopped (by its own pid) at the end."""

    def __init__(self, args, deadline: float):
        self.port = args.port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        cmd = [sys.executable, str(ROOT / "app.py"), "--host", "127.0.0.1", "--port", str(self.port)]
        for flag, value in (("--index", args.index), ("--sources", args.sources), ("--model", args.model)):
            if value is not None:
                cmd += [flag, str(value)]
        self.log = tempfile.NamedTemporaryFile("w+b", prefix="loadtest-app-", suffix=".log", delete=False)
        env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        self.pid = self.proc.pid
        self.deadline = deadline

    def wait_ready(self, startup_timeout: float) -> None:
        until = min(self.deadline, time.monotonic() + startup_timeout)
        while time.monotonic() < until:
            if self.proc.poll() is not None:
                raise RuntimeError(f"app.py exited with status {self.proc.returncode}:\n{self.tail()}")
            try:
                with urllib.request.urlopen(self.url + "config", timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"app.py did not serve {self.url} within {startup_timeout:.0f} s:\n{self.tail()}")

    def tail(self, lines: int = 15) -> str:
        self.log.flush()
        text = Path(self.log.name).read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # app.py stops cleanly on Ctrl-C
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self.log.close()
        os.unlink(self.log.name)


# ---- the clients ---------------------------------------------------------------------------------

def make_client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False, analytics_enabled=False, download_files=False)


def ask(client, question: str, timeout: float) -> dict:
    job = client.submit(question, api_name="/ask")
    return job.result(timeout=max(0.1, timeout))


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class Sampler(threading.Thread):
    """The server's RSS every half second, for the peak."""

    def __init__(self, pid: int | None):
        super().__init__(daemon=True)
        self.pid, self.peak, self._halt = pid, rss_mb(pid), threading.Event()

    def run(self) -> None:
        while not self._halt.wait(0.5):
            value = rss_mb(self.pid)
            if value is not None:
                self.peak = max(self.peak or 0.0, value)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=2)


def concurrent_round(url: str, workload: list[str], clients: int, deadline: float):
    """Each of ``clients`` threads opens its own Client; together they ask every question of ``workload``."""
    todo: queue.Queue = queue.Queue()
    for item in enumerate(workload):
        todo.put(item)
    results: list[tuple[int, str, float, dict | None, str | None]] = []
    lock = threading.Lock()
    ready = threading.Barrier(clients + 1)
    opened = []

    def worker(number: int) -> None:
        client, failure = None, None
        try:
            client = make_client(url)
            opened.append(client)
        except Exception as exc:  # noqa: BLE001 - counted as errors for its questions
            failure = f"client {number} could not connect: {type(exc).__name__}: {exc}"
        try:
            ready.wait(timeout=max(1.0, deadline - time.monotonic()))
        except threading.BrokenBarrierError:
            pass
        while True:
            try:
                i, q = todo.get_nowait()
            except queue.Empty:
                return
            if client is None or time.monotonic() >= deadline:
                with lock:
                    results.append((i, q, 0.0, None, failure or "not asked: time is up"))
                continue
            t = time.perf_counter()
            try:
                answer, error = ask(client, q, deadline - time.monotonic()), None
            except Exception as exc:  # noqa: BLE001
                answer, error = None, f"{type(exc).__name__}: {exc}"
            with lock:
                results.append((i, q, time.perf_counter() - t, answer, error))

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    try:
        ready.wait(timeout=max(1.0, deadline - time.monotonic()))  # every client connected: start together
    except threading.BrokenBarrierError:
        pass
    t0 = time.monotonic()
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()) + 5)
    wall = time.monotonic() - t0
    for client in opened:
        try:
            client.close()
        except Exception:  # noqa: BLE001
            pass
    with lock:
        return list(results), wall


def run(args) -> dict:
    started = time.monotonic()
    deadline = started + args.timeout
    questions = [json.loads(line)["q"] for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not questions:
        raise SystemExit(f"eval/loadtest.py: error: no questions in {args.questions}")
    workload = [questions[i % len(questions)] for i in range(args.total)]
    distinct = list(dict.fromkeys(workload))
    server = None
    report: dict = {"clients": args.clients, "total": args.total, "distinct_questions": len(distinct),
                    "timeout_s": args.timeout}
    try:
        if args.url:
            url, pid = args.url.rstrip("/") + "/", args.pid
        else:
            server = Server(args, deadline)
            server.wait_ready(args.startup_timeout)
            url, pid = server.url, server.pid
        report.update(url=url, server_pid=pid, startup_s=round(time.monotonic() - started, 1))
        report["rss_mb_ready"] = rss_mb(pid)
        sampler = Sampler(pid)
        sampler.start()

        # single user: every distinct question once, one after the other
        single: dict[str, dict] = {}
        single_latency: list[float] = []
        single_errors: list[str] = []
        client = make_client(url)
        t0 = time.monotonic()
        for q in distinct:
            if time.monotonic() >= deadline:
                single_errors.append("timeout before the single-user pass finished")
                break
            t = time.perf_counter()
            try:
                single[q] = ask(client, q, deadline - time.monotonic())
                single_latency.append(time.perf_counter() - t)
            except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
                single_errors.append(f"{type(exc).__name__}: {exc}")
        single_wall = time.monotonic() - t0
        client.close()
        report["single"] = {"questions": len(single_latency), "errors": len(single_errors), "wall_s": round(single_wall, 2),
                            "p50_ms": _ms(percentile(single_latency, 0.5)), "p95_ms": _ms(percentile(single_latency, 0.95))}
        report["rss_mb_after_single"] = rss_mb(pid)

        # many users: C clients share the workload (``--rounds`` times, to tell warm-up from a leak)
        rounds = []
        done: list[tuple[int, str, float, dict | None, str | None]] = []
        for number in range(args.rounds):
            if number and time.monotonic() >= deadline:
                break
            results, wall = concurrent_round(url, workload, args.clients, deadline)
            done.extend(results)
            ok = [r for r in results if r[4] is None]
            rounds.append({"answered": len(ok), "errors": len(workload) - len(ok), "wall_s": round(wall, 2),
                           "throughput_qps": round(len(ok) / wall, 2) if wall > 0 else None,
                           "p50_ms": _ms(percentile([r[2] for r in ok], 0.5)),
                           "rss_mb_end": rss_mb(pid)})
        sampler.stop()
        answered = [r for r in done if r[4] is None]
        errors = [r for r in done if r[4] is not None]
        expected = args.total * args.rounds
        missing = expected - len(done)  # rounds not run, or questions still in flight, when the time ran out
        mismatches = [r for r in answered if r[1] in single and r[3] != single[r[1]]]
        unchecked = [r for r in answered if r[1] not in single]
        latency = [r[2] for r in answered]
        wall = sum(r["wall_s"] for r in rounds)
        report["concurrent"] = {
            "rounds": len(rounds),
            "answered": len(answered),
            "errors": len(errors) + missing,
            "error_examples": sorted({r[4] for r in errors})[:5] + ([f"{missing} not answered in time"] if missing else []),
            "wall_s": round(wall, 2),
            "throughput_qps": round(len(answered) / wall, 2) if wall > 0 else None,
            "p50_ms": _ms(percentile(latency, 0.5)), "p95_ms": _ms(percentile(latency, 0.95)),
            "max_ms": _ms(max(latency) if latency else None),
            "identical_to_single_user": len(answered) - len(mismatches) - len(unchecked),
            "different": len(mismatches),
            "unchecked": len(unchecked),
            "different_examples": [r[1] for r in mismatches[:5]],
            "per_round": rounds,
        }
        report["rss_mb_peak"] = sampler.peak
        report["rss_mb_end"] = rss_mb(pid)
    finally:
        if server is not None:
            server.stop()
    c = report["concurrent"]
    per_round = c["per_round"]
    if len(per_round) > 1:  # after the first concurrent round: does memory keep growing?
        before, after, since = per_round[0]["rss_mb_end"], report.get("rss_mb_end"), "after the first concurrent round"
    else:
        before, after, since = report.get("rss_mb_after_single"), report.get("rss_mb_end"), "over the concurrent phase"
    growth = None if before is None or after is None else round(after - before, 1)
    report["rss_growth_mb"] = growth
    report["rss_growth_measured"] = since
    report["memory_flat"] = None if growth is None else growth < args.max_rss_growth
    report["elapsed_s"] = round(time.monotonic() - started, 1)
    report["ok"] = (c["errors"] == 0 and report["single"]["errors"] == 0 and c["different"] == 0 and c["unchecked"] == 0
                    and c["answered"] == args.total * args.rounds and report["memory_flat"] is not False)
    return report


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def table(r: dict) -> str:
    c, s = r["concurrent"], r["single"]
    mb = lambda v: "–" if v is None else f"{v:.0f} MB"  # noqa: E731
    rows = [
        ("server", f"{r['url']} (pid {r['server_pid']}), serving after {r['startup_s']} s"),
        ("single user", f"{s['questions']} distinct questions in {s['wall_s']} s; p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms; "
                        f"{s['errors']} errors"),
        ("concurrent", f"{r['clients']} clients, {c['answered']}/{r['total'] * max(1, c['rounds'])} questions answered "
                       f"in {c['wall_s']} s" + (f" ({c['rounds']} rounds of {r['total']})" if c["rounds"] > 1 else "")),
        ("throughput", f"{c['throughput_qps']} questions/s"),
        ("latency", f"p50 {c['p50_ms']} ms, p95 {c['p95_ms']} ms, max {c['max_ms']} ms"),
        ("errors", f"{c['errors']}" + (f" ({'; '.join(c['error_examples'])})" if c["errors"] else "")),
        ("identical", f"{c['identical_to_single_user']}/{c['answered']} answers identical to the single-user answer"
                      + (f"; {c['different']} different, e.g. {c['different_examples'][:2]}" if c["different"] else "")),
        ("server RSS", f"ready {mb(r['rss_mb_ready'])}, after single user {mb(r['rss_mb_after_single'])}, "
                       + "".join(f"after round {n} {mb(x['rss_mb_end'])}, " for n, x in enumerate(c["per_round"], 1)
                                 if c["rounds"] > 1)
                       + f"peak {mb(r['rss_mb_peak'])}, end {mb(r['rss_mb_end'])}"),
        ("memory flat", f"{r['memory_flat']} (growth {r['rss_growth_mb']} MB {r['rss_growth_measured']})"),
        ("result", "OK" if r["ok"] else "NOT OK"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.clients < 1 or args.total < 1 or args.rounds < 1 or args.timeout <= 0:
        print("eval/loadtest.py: error: --clients, --total, --rounds and --timeout must be positive", file=sys.stderr)
        return 2
    if args.pid is not None and not args.url:
        print("eval/loadtest.py: error: --pid goes with --url", file=sys.stderr)
        return 2
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    try:
        report = run(args)
    except RuntimeError as exc:
        print(f"eval/loadtest.py: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("eval/loadtest.py: interrupted", file=sys.stderr)
        return 130
    print(json.dumps(report, ensure_ascii=False, indent=2) if args.json else table(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
