"""wrk (Debian's ``wrk``, a load generator written in C) as the load test's second client.

The load test's own clients are Python threads in a process beside the server, on the same two cores:
they take CPU from the server they measure. wrk sends the same requests with far less CPU of its own, so
its phase shows what the server does when the client costs little. It does not read the answers, so
the identity of every concurrent answer is checked by the Python clients' phase only.

``script`` writes the Lua script (the questions' paths, cycled, each connection starting elsewhere, and
one JSON line of figures at the end), ``parse`` reads that line, ``run`` runs wrk. ``available`` says
whether wrk is installed (``apt-get install wrk``); without it the phase is skipped with that hint.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

HINT = "wrk is not installed (apt-get install wrk): the wrk phase is skipped"
MARK = "WRK-FIGURES "


def available() -> bool:
    return shutil.which("wrk") is not None


def _lua_string(text: str) -> str:
    """A Lua string literal of ``text`` (ASCII paths: the questions are URL-encoded)."""
    if not text.isascii():
        raise ValueError("a wrk request path must be ASCII (URL-encoded)")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def script(paths: list[str]) -> str:
    """The Lua script: GET each path in turn (connection n starts at path 37·n), then one line of figures."""
    if not paths:
        raise ValueError("wrk needs at least one request path")
    listed = ",\n".join("  " + _lua_string(p) for p in paths)
    return f"""local paths = {{
{listed}
}}
local counter = 0
setup = function(thread) thread:set("offset", counter * 37); counter = counter + 1 end
init = function(args) i = tonumber(offset) or 0 end
request = function() i = i + 1; return wrk.format("GET", paths[(i % #paths) + 1]) end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{MARK}{{"requests": %d, "errors": %d, "non_2xx": %d, "seconds": %.3f, ' ..
    '"p50_ms": %.1f, "p95_ms": %.1f, "p99_ms": %.1f}}\\n',
    summary.requests, e.connect + e.read + e.write + e.timeout, e.status, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""


def parse(stdout: str) -> dict:
    """The figures of a wrk run from its output (``script``'s line): questions/s, p50/p95/p99 ms, errors."""
    for line in stdout.splitlines():
        if line.startswith(MARK):
            raw = json.loads(line[len(MARK):])
            seconds = raw["seconds"]
            return {"questions": raw["requests"], "errors": raw["errors"] + raw["non_2xx"],
                    "questions_per_s": round(raw["requests"] / seconds, 1) if seconds else None,
                    "p50_ms": raw["p50_ms"], "p95_ms": raw["p95_ms"], "p99_ms": raw["p99_ms"]}
    raise RuntimeError("wrk printed no figures: " + stdout.strip()[-300:])


def run(port: int, paths: list[str], connections: int, seconds: float, threads: int = 2) -> dict:
    """``connections`` keep-alive connections for ``seconds`` against 127.0.0.1:``port``."""
    with tempfile.TemporaryDirectory(prefix="wrk-") as folder:
        lua = Path(folder) / "questions.lua"
        lua.write_text(script(paths), encoding="ascii")
        done = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
                               "--timeout", "30s", "-s", str(lua), f"http://127.0.0.1:{port}"],
                              capture_output=True, text=True, timeout=seconds + 120)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()[-300:]}")
    return parse(done.stdout)
