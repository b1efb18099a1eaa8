"""The headline figures of a run and how they stand against the targets (pure functions of the records)."""

from __future__ import annotations

from typing import Callable

from .config import (TARGET_COLD_START_S, TARGET_QUERY_P50_MS, TARGET_QUERY_P95_MS, TARGET_RATIO,
                     TARGET_SCALE_P50_MS, TARGET_SCALE_RECALL, TARGET_SCALE_RSS_MB)
from .records import (BackendComparison, BackendSummary, BenchResult, ColdStart, ScaleLargest, Summary,
                      TargetRow)
from .stats import ratio


def summarise(result: BenchResult) -> Summary:
    real = result.real
    ours, tb = real.warm.ours, real.warm.textbook
    cold = real.cold
    app = cold.app if isinstance(cold.app, ColdStart) else None
    phases = cold.ours_phases.phases if cold.ours_phases is not None else None
    backends = {}
    if isinstance(real.backends, BackendComparison):
        for name in ("torch", "onnx-fp32", "onnx-int8"):
            row = real.backends.row(name)
            if row is None or row.warm is None:
                continue
            backends[name.replace("-", "_")] = BackendSummary(
                query_p50_ms=row.warm.p50("e2e"), textbook_ratio=ratio(row.warm.p50("e2e"), real.backends.textbook.p50("e2e")),
                query_p95_ms=row.warm.p95("e2e"),
                cold_start_s=row.cold.first_answer_s if row.cold else None,
                peak_rss_mb=row.cold.peak_rss_mb if row.cold else None)
    one = real.warm_1thread
    big = [r for r in result.scale if r.served.kind != "flat"]
    top = max(big, key=lambda r: r.n) if big else None
    return Summary(
        query_p50_ms=ours.p50("e2e"), query_p95_ms=ours.p95("e2e"),
        textbook_query_p50_ms=tb.p50("e2e"), textbook_query_p95_ms=tb.p95("e2e"),
        embed_p50_ms=ours.p50("embed"), search_p50_ms=ours.p50("search"), fuse_p50_ms=ours.p50("fuse"),
        textbook_embed_p50_ms=tb.p50("embed"),
        cold_start_s=cold.ours.first_answer_s, textbook_cold_start_s=cold.textbook.first_answer_s,
        app_cold_start_s=app.first_answer_s if app else None,
        peak_rss_mb=cold.ours.peak_rss_mb, textbook_peak_rss_mb=cold.textbook.peak_rss_mb,
        build_passages_per_s=real.build.ours.passages_per_s, rebuild_s=real.build.ours.rebuild_s,
        query_p50_ratio=ratio(ours.p50("e2e"), tb.p50("e2e")), query_p95_ratio=ratio(ours.p95("e2e"), tb.p95("e2e")),
        cold_start_ratio=ratio(cold.ours.first_answer_s, cold.textbook.first_answer_s),
        backend=real.backend, onnx_threads=real.onnx_threads,
        torch_imported=phases.torch_imported if phases else None,
        app_peak_rss_mb=app.peak_rss_mb if app else None,
        backends=backends,
        ours_1t_query_p50_ms=one.ours.p50("e2e") if one else None,
        ours_1t_query_p95_ms=one.ours.p95("e2e") if one else None,
        textbook_1t_query_p50_ms=one.textbook.p50("e2e") if one else None,
        scale_largest=ScaleLargest(top.n, top.served.kind, top.served.p50_ms, top.served.recall10,
                                   top.served.peak_rss_mb) if top else None)


def target_rows(s: Summary) -> list[TargetRow]:
    rows: list[TargetRow] = []

    def check(name: str, value, limit: float, fmt: Callable[[float], str], lower_is_better: bool = True) -> None:
        if value is None:
            rows.append(TargetRow(name, "–", "not measured"))
            return
        ok = value <= limit if lower_is_better else value >= limit
        rows.append(TargetRow(name, fmt(value), "met" if ok else f"missed ({fmt(value)} vs {fmt(limit)})"))

    def ms(v: float) -> str:
        return f"{v:.1f} ms"

    def times(v: float) -> str:
        return f"{v:.2f}×"

    def seconds(v: float) -> str:
        return f"{v:.1f} s"

    check("warm query p50 ≤ 25 ms", s.query_p50_ms, TARGET_QUERY_P50_MS, ms)
    check("warm query p95 ≤ 50 ms", s.query_p95_ms, TARGET_QUERY_P95_MS, ms)
    check("p50 ≤ 0.5 × textbook", s.query_p50_ratio, TARGET_RATIO, times)
    check("cold start ≤ 6 s (`chatbot ask`)", s.cold_start_s, TARGET_COLD_START_S, seconds)
    check("cold start ≤ 6 s (app.py, first /ask answer)", s.app_cold_start_s, TARGET_COLD_START_S, seconds)
    if s.torch_imported is not None:
        rows.append(TargetRow("no torch on the query path (`chatbot ask`)",
                              "torch imported" if s.torch_imported else "not imported",
                              "missed" if s.torch_imported else "met"))
    # the other backends (the shipped ONNX int8 is "ours" above)
    for key, label in (("torch", "torch"), ("onnx_fp32", "ONNX fp32 questions")):
        b = s.backends.get(key)
        if b is None:
            continue
        check(f"… with {label}: warm p50 ≤ 25 ms", b.query_p50_ms, TARGET_QUERY_P50_MS, ms)
        check(f"… with {label}: warm p95 ≤ 50 ms", b.query_p95_ms, TARGET_QUERY_P95_MS, ms)
        check(f"… with {label}: p50 ≤ 0.5 × textbook (same loop)", b.textbook_ratio, TARGET_RATIO, times)
        if b.cold_start_s is not None:
            check(f"… with {label}: cold start ≤ 6 s", b.cold_start_s, TARGET_COLD_START_S, seconds)
    top = s.scale_largest
    if top:
        label = f"{top.n:,} passages ({top.kind})"
        check(f"{label}: search p50 ≤ 50 ms", top.p50_ms, TARGET_SCALE_P50_MS, ms)
        check(f"{label}: recall@10 ≥ 0.95", top.recall10, TARGET_SCALE_RECALL, lambda v: f"{v:.3f}", False)
        check(f"{label}: resident ≤ 2 GB", top.rss_mb, TARGET_SCALE_RSS_MB, lambda v: f"{v:,.0f} MB")
    return rows
