"""The wrk phase of the load test: its Lua script and the parsing of its figures; the CPU meter."""

import os

import pytest

from chatbot.bench import wrk
from chatbot.bench.procs import CpuMeter, cpu_seconds


def test_script_lists_every_path_once_in_order():
    lua = wrk.script(["/api/ask?q=a", "/api/ask?q=b%22c"])
    assert '  "/api/ask?q=a",\n  "/api/ask?q=b%22c"\n}' in lua
    assert 'wrk.format("GET", paths[(i % #paths) + 1])' in lua
    assert wrk.MARK in lua


def test_script_escapes_quotes_and_backslashes():
    assert wrk._lua_string('a"b\\c') == '"a\\"b\\\\c"'


def test_script_refuses_what_it_cannot_send():
    with pytest.raises(ValueError, match="ASCII"):
        wrk.script(["/api/ask?q=sprøyterom"])
    with pytest.raises(ValueError, match="at least one"):
        wrk.script([])


def test_parse_reads_the_figures_line():
    out = ("Running 20s test @ http://127.0.0.1:1\n  2 threads and 50 connections\n"
           'WRK-FIGURES {"requests": 7000, "errors": 1, "non_2xx": 2, "seconds": 20.000, '
           '"p50_ms": 130.5, "p95_ms": 190.0, "p99_ms": 260.2}\n')
    assert wrk.parse(out) == {"questions": 7000, "errors": 3, "questions_per_s": 350.0,
                              "p50_ms": 130.5, "p95_ms": 190.0, "p99_ms": 260.2}


def test_parse_without_figures_says_what_wrk_printed():
    with pytest.raises(RuntimeError, match="unable to connect"):
        wrk.parse("unable to connect to 127.0.0.1:1 Connection refused")


def test_cpu_meter_counts_this_process():
    before = cpu_seconds(os.getpid())
    assert before is not None and before > 0
    meter = CpuMeter(os.getpid())
    start = cpu_seconds(os.getpid())
    while cpu_seconds(os.getpid()) - start < 0.05:  # at least 50 ms of CPU (the clock counts in ticks of 10 ms)
        sum(i * i for i in range(10_000))
    figures = meter.stop(units=10)
    assert figures["server_cores"] > 0
    assert figures["server_core_ms_per_question"] >= 5.0  # 50 ms or more over 10 questions


def test_cpu_meter_without_a_process_reports_nothing():
    assert CpuMeter(None).stop(5) == {"server_cores": None, "server_core_ms_per_question": None}
    assert cpu_seconds(2 ** 31) is None


def test_cpu_meter_counts_the_children_of_a_server_too():
    """A server with answer workers: the workers' CPU is the server's (chatbot/web/workers.py)."""
    import subprocess
    import sys

    from chatbot.bench.procs import process_tree

    parent = subprocess.Popen([sys.executable, "-c", (
        "import subprocess, sys; c = subprocess.Popen([sys.executable, '-c', "
        "'import time\\nt = time.process_time()\\nwhile time.process_time() - t < 0.3: pass\\ntime.sleep(30)']); "
        "print(c.pid, flush=True); c.wait()")], stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        assert process_tree(parent.pid) == [parent.pid, child]
        meter = CpuMeter(parent.pid)
        burnt_before = cpu_seconds(child)
        while cpu_seconds(child) is not None and cpu_seconds(child) < 0.3:  # the child burns 0.3 s of CPU
            pass
        figures = meter.stop(units=1)
        # what the child burnt while metered (less a clock tick each end) is counted
        assert figures["server_core_ms_per_question"] >= (300 - burnt_before * 1000) - 20
    finally:
        subprocess.run(["pkill", "-P", str(parent.pid)], check=False)
        parent.kill()
        parent.wait()
