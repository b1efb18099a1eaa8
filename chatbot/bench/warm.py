"""Suite: warm queries. Every question through every pipeline, interleaved question by question
(so that load from other processes hits all alike), ``runs`` times; p50/p95 of each stage."""

from __future__ import annotations

import time
from typing import Callable, Mapping, Sequence

from .records import STAGES, Percentiles, Stages
from .stats import median, percentile

Asker = Callable[[str], Mapping[str, float]]  # asks one question; the milliseconds of its stages


def stage_stats(samples: Sequence[Mapping[str, float]], runs: int) -> Stages:
    """p50/p95 per run, then the median over runs, for each stage (samples carry their "run")."""
    found = {}
    for stage in STAGES:
        p50s, p95s = [], []
        for r in range(runs):
            values = [s[stage] for s in samples if s["run"] == r and s.get(stage) is not None]
            if values:
                p50s.append(percentile(values, 50))
                p95s.append(percentile(values, 95))
        if p50s:
            found[stage] = Percentiles(median(p50s), median(p95s))
    return Stages(**found)


def bench_warm(pipelines: Mapping[str, Asker], questions: Sequence[str], runs: int) -> dict[str, Stages]:
    """Each pipeline's stage figures, by name."""
    samples: dict[str, list[dict]] = {name: [] for name in pipelines}
    for name, ask in pipelines.items():  # warm-up: first calls allocate
        for q in questions[:5]:
            ask(q)
    for r in range(runs):
        for q in questions:
            for name, ask in pipelines.items():
                t = time.perf_counter()
                timings = ask(q)
                e2e = (time.perf_counter() - t) * 1000
                sample = {"run": r, "e2e": e2e, **timings}
                if "dense" in timings or "bm25" in timings:
                    sample["search"] = timings.get("dense", 0.0) + timings.get("bm25", 0.0)
                samples[name].append(sample)
    return {name: stage_stats(s, runs) for name, s in samples.items()}


def ours_asker(bot) -> Asker:
    """A ``Chatbot``'s ask: its ``Answer.timings_ms``."""
    def ask(q: str) -> dict[str, float]:
        return dict(bot.ask(q).timings_ms)
    return ask


def textbook_asker(textbook) -> Asker:
    def ask(q: str) -> dict[str, float]:
        return textbook.ask(q)[1]
    return ask
