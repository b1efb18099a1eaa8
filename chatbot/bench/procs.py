"""Processes for measuring: a free port, a server on loopback, memory readings, timed child runs.

Shared by the benchmark, ``eval/loadtest.py``, ``eval/scale.py`` and the tests. Standard library
only; Linux's ``/proc`` for memory (None elsewhere).

Children of the benchmark run as ``python -m chatbot.bench.child SUITE ARGS`` (``child_command``).
"""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterable

from chatbot.settings import child_environment, variable

from .config import ROOT
from .records import ChildRun


# ---------------------------------------------------------------------------- ports and servers


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the kernel's choice)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def http_status(port: int, path: str, timeout: float = 2.0, host: str = "127.0.0.1") -> int | None:
    """The status of ``GET path`` on loopback, or None when nothing answers."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    except OSError:
        return None
    finally:
        conn.close()


class Server:
    """A server process on loopback (``cmd`` already holds its port), its output in a log file, stopped
    by its own pid. ``started``: CLOCK_MONOTONIC just before the spawn, for cold-start timings."""

    def __init__(self, name: str, cmd: list[str], port: int, env: dict[str, str] | None = None,
                 cwd: Path = ROOT):
        self.name, self.port = name, port
        self.log = tempfile.NamedTemporaryFile("w+b", prefix=f"{name}-", suffix=".log", delete=False)
        self.started = time.monotonic()
        self.proc = subprocess.Popen([str(c) for c in cmd], cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True,
                                     env=child_environment({"GRADIO_ANALYTICS_ENABLED": "False", **(env or {})}))
        self.pid = self.proc.pid

    def wait_ready(self, timeout: float, path: str = "/api/health", interval: float = 0.5) -> float:
        """Wait until ``GET path`` answers 200; seconds since the spawn. RuntimeError if the process
        exits first or ``timeout`` passes (with the end of its log)."""
        until = self.started + timeout
        while time.monotonic() < until:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with status {self.proc.returncode}:\n{self.tail()}")
            if http_status(self.port, path) == 200:
                return time.monotonic() - self.started
            time.sleep(interval)
        raise RuntimeError(f"{self.name} did not serve within {timeout:.0f} s:\n{self.tail()}")

    def tail(self, lines: int = 15) -> str:
        self.log.flush()
        text = Path(self.log.name).read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 15.0) -> None:
        """SIGINT, then SIGKILL after ``timeout``; removes the log. Safe to call twice."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)
        if not self.log.closed:
            self.log.close()
            Path(self.log.name).unlink(missing_ok=True)

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


# ---------------------------------------------------------------------------- CPU and memory


def cpu_seconds(pid: int | str = "self") -> float | None:
    """User + system CPU time a process has used so far, all its threads (``/proc/<pid>/stat``); None if unreadable."""
    import os

    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def process_tree(pid: int) -> list[int]:
    """``pid`` and every live process descended from it (``/proc/<pid>/task/*/children``): a server and its
    answer workers."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        try:
            tasks = list(Path(f"/proc/{current}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                todo.extend(int(c) for c in (task / "children").read_text().split())
            except (OSError, ValueError):
                continue
    return out


def tree_cpu_seconds(pid: int) -> dict[int, float]:
    """Each process of ``pid``'s tree: the CPU seconds it has used so far."""
    out = {}
    for p in process_tree(pid):
        used = cpu_seconds(p)
        if used is not None:
            out[p] = used
    return out


class CpuMeter:
    """How much CPU a process and its children (answer workers) used over an interval: ``stop()`` gives the
    cores they kept busy on average, and the core-milliseconds per unit of work (a question) when told how
    many units were done."""

    def __init__(self, pid: int | None):
        self.pid = pid
        self._t0 = time.perf_counter()
        self._c0 = tree_cpu_seconds(pid) if pid is not None else None

    def stop(self, units: int) -> dict:
        c1 = tree_cpu_seconds(self.pid) if self.pid is not None else None
        wall = time.perf_counter() - self._t0
        if not self._c0 or not c1 or wall <= 0:
            return {"server_cores": None, "server_core_ms_per_question": None}
        used = sum(v - self._c0.get(p, 0.0) for p, v in c1.items())  # a process started meanwhile counts whole
        return {"server_cores": round(used / wall, 2),
                "server_core_ms_per_question": round(used * 1000 / units, 2) if units else None}


def status_kb(pid: int | str = "self") -> dict[str, int]:
    """The ``kB`` fields of ``/proc/<pid>/status`` (VmRSS, VmHWM, RssAnon, RssFile …); empty if unreadable."""
    out = {}
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return out
    for line in text.splitlines():
        name, _, value = line.partition(":")
        parts = value.split()
        if len(parts) == 2 and parts[1] == "kB" and parts[0].isdigit():
            out[name] = int(parts[0])
    return out


def vm_mb(field: str, pid: int | str = "self") -> float | None:
    """One ``/proc/<pid>/status`` field in MB (``VmRSS``: resident now, ``VmHWM``: its peak); None if unknown."""
    kb = status_kb(pid).get(field)
    return None if kb is None else kb / 1024


def rss_mb(pid: int | str = "self") -> float | None:
    """Resident memory of a process now, in MB."""
    return vm_mb("VmRSS", pid)


def peak_rss_mb() -> float:
    """This process's peak resident memory (ru_maxrss), in MB."""
    import resource  # POSIX only

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class RssSampler(threading.Thread):
    """The RSS of named processes, each with its children (answer workers), every ``interval`` seconds:
    ``timeline`` of (seconds since start, name, MB)."""

    def __init__(self, interval: float = 0.5):
        super().__init__(daemon=True)
        self.interval = interval
        self.watched: list[tuple[str, int]] = []
        self.timeline: list[tuple[float, str, float]] = []
        self.t0 = time.monotonic()
        self._halt = threading.Event()

    def watch(self, name: str, pid: int) -> None:
        self.watched.append((name, pid))

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            for name, pid in list(self.watched):
                values = [v for v in (rss_mb(p) for p in process_tree(pid)) if v is not None]
                value = sum(values) if values else None
                if value is not None:
                    self.timeline.append((round(time.monotonic() - self.t0, 1), name, round(value, 1)))

    def summary(self, name: str) -> dict[str, float]:
        values = [v for _, n, v in self.timeline if n == name]
        return {"first_mb": values[0], "peak_mb": max(values), "last_mb": values[-1]} if values else {}

    def stop(self) -> None:
        self._halt.set()
        if self.is_alive():
            self.join(timeout=2)


class MemorySampler:
    """The largest anonymous and file-backed resident memory of this process (sampled every 50 ms):
    VmRSS counts the pages of memory-mapped files, which the kernel can drop, beside the process's own."""

    def __init__(self, interval: float = 0.05):
        self.anon = self.file = 0.0
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            fields = status_kb()
            self.anon = max(self.anon, fields.get("RssAnon", 0) / 1024)
            self.file = max(self.file, fields.get("RssFile", 0) / 1024)

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        return {"peak_rss_anon_mb": self.anon, "peak_rss_file_mb": self.file}


# ---------------------------------------------------------------------------- child processes


# Linux charges a process that fork+execs with the RSS high-water mark of the image it replaced,
# so a child spawned straight from a large process would report that size as its peak. A small
# interpreter in between forks the real child from a ~10 MB image and reports that child's ru_maxrss.
_RSS_WRAPPER = """\
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as fh:
    fh.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""
SPAWNED_ENV = "BENCH_SPAWNED"  # CLOCK_MONOTONIC at the spawn, for since_spawn() in the child


def run_child(argv: Iterable[object], env: dict[str, str] | None = None, cwd: Path = ROOT) -> ChildRun:
    """Run ``argv`` (its first item an executable path); RuntimeError with the end of its stderr if it fails."""
    argv = [str(a) for a in argv]
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        start = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-S", "-c", _RSS_WRAPPER, rss.name, *argv],
                                stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL,
                                env=child_environment({**(env or {}), SPAWNED_ENV: repr(start)}), cwd=cwd)
        first_line = proc.stdout.readline()
        first = time.monotonic() - start
        rest = proc.stdout.read()
        proc.wait()
        wall = time.monotonic() - start
        err.seek(0)
        stderr = err.read().decode(errors="replace")
        rss_kb = rss.read().strip()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])} … exited {proc.returncode}: {stderr.strip()[-2000:]}")
    return ChildRun(first_s=first, wall_s=wall, rss_mb=int(rss_kb) / 1024 if rss_kb else None,
                    stdout=(first_line + rest).decode(errors="replace"), stderr=stderr)


def last_json_line(text: str) -> dict:
    """The JSON object on the last line of a child's output."""
    found = json.loads(text.strip().splitlines()[-1])
    if not isinstance(found, dict):
        raise ValueError("the last line is not a JSON object")
    return found


def child_json(argv: Iterable[object], env: dict[str, str] | None = None) -> dict:
    """Run a child that prints one JSON object as its last line of stdout; that object."""
    return last_json_line(run_child(argv, env).stdout)


def child_command(suite: str, *args: object) -> list[str]:
    """The command line of one of the benchmark's child suites (see chatbot/bench/child.py)."""
    return [sys.executable, "-m", "chatbot.bench.child", suite, *map(str, args)]


def since_spawn() -> float:
    """Seconds since the parent spawned this process (CLOCK_MONOTONIC is system-wide)."""
    spawned = variable(SPAWNED_ENV)
    return time.monotonic() - (float(spawned) if spawned else time.monotonic())


def chatbot_command() -> list[str]:
    """The installed ``chatbot`` script beside this interpreter, else ``python -m chatbot.cli``."""
    script = Path(sys.executable).parent / "chatbot"
    return [str(script)] if script.exists() else [sys.executable, "-m", "chatbot.cli"]
