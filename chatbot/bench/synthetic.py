"""Suite: dense search at scale on synthetic clustered unit vectors (dim 384) at 10k/100k/1M. FAISS
flat against the approximate kinds of ``chatbot/index/ann.py``: build time, single-query p50/p95 (k=50, as
the chatbot asks), recall@10 against flat, with and without a party-style filter, memory. Building
and serving each run in a child process, so that memory is per process."""

from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path

from .config import SCALE_DIM, SCALE_K, SCALE_LATENCY_QUERIES, SCALE_PARTIES, SCALE_QUERIES
from .progress import log
from .procs import child_command, child_json, vm_mb
from .records import ScaleBuilt, ScaleRow, ScaleServed
from .stats import percentile


def parse_sizes(text: str) -> list[int]:
    """"10k,100k,1m" -> [10000, 100000, 1000000]; "none", "0", "off" or "" -> []."""
    if not text or text.strip().lower() in ("none", "0", "off"):
        return []
    sizes = []
    for part in text.split(","):
        part = part.strip().lower()
        mult = {"k": 1_000, "m": 1_000_000}.get(part[-1:], 1)
        sizes.append(int(float(part[:-1] if mult > 1 else part) * mult))
    return sizes


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
    from chatbot.index import ann

    return ["hnsw", "ivf"] if n <= ann.HNSW_MAX else ["ivf"]  # HNSW at 1M would take many minutes to build


def bench_scale(sizes: list[int], work: Path, threads: int) -> tuple[ScaleRow, ...]:
    rows = []
    for n in sizes:
        folder = work / f"scale-{n}"
        folder.mkdir()
        log(f"scale {n:,}: generating and building (flat + {', '.join(approximate_kinds(n))}) …")
        built = ScaleBuilt(**child_json(child_command("scale-build", n, folder, threads)))
        for kind in ["flat"] + approximate_kinds(n):
            log(f"scale {n:,}: serving {kind} …")
            served = ScaleServed(**child_json(child_command("scale-serve", folder / f"{kind}.faiss", folder, threads)))
            rows.append(ScaleRow(n=n, build_s=built.build_s[kind], builder_peak_rss_mb=built.peak_rss_mb, served=served))
            (folder / f"{kind}.faiss").unlink()
        shutil.rmtree(folder, ignore_errors=True)
    return tuple(rows)


# ---------------------------------------------------------------------------- child suites


def build_child(n: str, out_dir: str, threads: str) -> None:
    """Child suite ``scale-build``: generate, build every kind and the ground truth; a ScaleBuilt as JSON."""
    import faiss
    import numpy as np

    from chatbot.index import ann

    faiss.omp_set_num_threads(int(threads))
    n, out = int(n), Path(out_dir)
    build_s, describe = {}, {}
    t = time.perf_counter()
    x = synthetic(n)
    q = synthetic_queries(x, SCALE_QUERIES)
    labels = np.random.default_rng(2).integers(0, SCALE_PARTIES, n)
    allowed = np.flatnonzero(labels == 0).astype(np.int64)
    generate_s = time.perf_counter() - t
    for kind in approximate_kinds(n):
        t = time.perf_counter()
        index = ann.make_dense_index(x, kind)
        build_s[kind] = time.perf_counter() - t
        describe[kind] = ann.describe(index)
        faiss.write_index(index, str(out / f"{kind}.faiss"))
        del index
    t = time.perf_counter()
    flat = ann.make_dense_index(x, "flat")
    build_s["flat"] = time.perf_counter() - t
    del x
    faiss.write_index(flat, str(out / "flat.faiss"))
    t = time.perf_counter()
    _, truth = flat.search(q, 10)
    _, truth_filtered = ann.search(flat, q, 10, allowed)
    ground_truth_s = time.perf_counter() - t
    np.save(out / "queries.npy", q)
    np.save(out / "truth.npy", truth)
    np.save(out / "truth_filtered.npy", truth_filtered)
    np.save(out / "allowed.npy", allowed)
    print(json.dumps({"n": n, "build_s": build_s, "describe": describe, "generate_s": generate_s,
                      "ground_truth_s": ground_truth_s, "peak_rss_mb": vm_mb("VmHWM")}))


def serve_child(index_file: str, data_dir: str, threads: str) -> None:
    """Child suite ``scale-serve``: load one index as a server would and time single queries on one thread
    (and plain ones on ``threads``: FAISS parallelises a single flat query, which helps only on an idle
    machine); a ScaleServed as JSON."""
    import faiss
    import numpy as np

    from chatbot.index import ann

    faiss.omp_set_num_threads(1)
    data = Path(data_dir)
    q = np.load(data / "queries.npy")
    truth, truth_f = np.load(data / "truth.npy"), np.load(data / "truth_filtered.npy")
    allowed = np.load(data / "allowed.npy")
    rss0 = vm_mb("VmRSS")
    t = time.perf_counter()
    index = faiss.read_index(index_file)
    load_s = time.perf_counter() - t
    index_mb = vm_mb("VmRSS") - rss0
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
        "p50_ms": percentile(plain_ms, 50), "p95_ms": percentile(plain_ms, 95), "recall10": recall(found, truth),
        "threads": int(threads), "threaded_p50_ms": percentile(threaded_ms, 50),
        "filtered_p50_ms": percentile(filtered_ms, 50), "filtered_recall10": recall(found_f, truth_f),
        "rss_mb": vm_mb("VmRSS"), "peak_rss_mb": vm_mb("VmHWM")}))
