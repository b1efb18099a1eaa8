"""The dense (FAISS) index, chosen by corpus size, and filtered search over any of its kinds.

Three kinds, all inner product over L2-normalised vectors (= cosine):

``flat``  ``IndexFlatIP``: exact. Memory ``n * d * 4`` bytes; one query reads every vector
          (tens of ms per 100k passages of dimension 384: one core reads them all).
``hnsw``  ``IndexHNSWFlat`` (M=32): a graph over the full vectors; a query takes about a
          millisecond and recall stays high, but the graph adds ~260 bytes per passage and
          building it is slow (minutes per million on two cores).
``ivf``   ``IndexIVFScalarQuantizer`` (8-bit, residuals, spherical k-means): vectors in
          ``nlist`` clusters, a query scans ``nprobe`` of them. About ``n * d`` bytes, so a
          million passages of dimension 384 fit in well under 1 GB, and it trains and adds
          in well under a minute on two cores.

``choose_kind(n)`` picks one by size; the environment variable ``CHATBOT_DENSE_INDEX``
(``flat``, ``hnsw``, ``ivf`` or ``auto``) overrides it. ``search()`` restricts results to
allowed rows (a party filter) through a FAISS ``IDSelector`` passed in the search parameters
of the index's kind, with the index's own ``efSearch``/``nprobe`` (FAISS's parameter objects
default to efSearch=16 and nprobe=1, which would silently cut recall), widened in
proportion to how few rows the filter allows so that filtered queries still find ``k``.
"""

from __future__ import annotations

import math
import os

import numpy as np

KIND_ENV = "CHATBOT_DENSE_INDEX"
KINDS = ("flat", "hnsw", "ivf")

# choose_kind: exact search up to FLAT_MAX passages (a few ms per query on one core), the HNSW
# graph up to HNSW_MAX (its build stays around a minute on two cores), IVF beyond. See eval/bench-results.md.
FLAT_MAX = 50_000
HNSW_MAX = 300_000

HNSW_M = 32
HNSW_EF_CONSTRUCTION = 64
HNSW_EF_SEARCH = 96

IVF_POINTS_PER_LIST = 1000  # nlist ~ n / 1000, a power of two between 16 and 4096
IVF_NPROBE_SHARE = 1 / 32  # nprobe ~ nlist / 32 (>= 8): recall@10 ~0.97 against flat at 1M (bench)
IVF_TRAIN_PER_LIST = 64  # k-means sample: 64 points per list (FAISS warns below 39)
IVF_TRAIN_ITERATIONS = 10

MAX_EF_SEARCH = 2048  # how far a selective filter may widen an HNSW search


def choose_kind(n: int) -> str:
    """The index kind for ``n`` passages (``CHATBOT_DENSE_INDEX`` aside)."""
    if n < 0:
        raise ValueError("n must be >= 0")
    if n <= FLAT_MAX:
        return "flat"
    if n <= HNSW_MAX:
        return "hnsw"
    return "ivf"


def resolve_kind(n: int, kind: str | None = "auto") -> str:
    """``kind`` if given, else ``$CHATBOT_DENSE_INDEX``, else ``choose_kind(n)``; ValueError if unknown."""
    chosen = (kind or "auto").strip().lower()
    if chosen == "auto":
        chosen = (os.environ.get(KIND_ENV) or "auto").strip().lower()
    if chosen == "auto":
        return choose_kind(n)
    if chosen not in KINDS:
        raise ValueError(f"unknown dense index kind {chosen!r}; use one of auto, {', '.join(KINDS)} "
                         f"(argument or ${KIND_ENV})")
    return chosen


def ivf_nlist(n: int) -> int:
    """Number of IVF lists for ``n`` vectors: ~n/1000 as a power of two, within [1, 4096], and
    small enough that k-means has at least 39 points per list."""
    if n < 39:
        return 1
    target = max(16, n / IVF_POINTS_PER_LIST)
    nlist = 2 ** round(math.log2(target))
    return int(max(1, min(4096, nlist, 2 ** int(math.log2(n // 39)))))


def ivf_nprobe(nlist: int) -> int:
    return int(min(nlist, max(8, round(nlist * IVF_NPROBE_SHARE))))


def make_dense_index(vectors: np.ndarray, kind: str | None = "auto", *, seed: int = 1234):
    """A FAISS index (inner product) holding ``vectors`` (float32, rows L2-normalised) as rows 0..n-1."""
    import faiss

    x = np.ascontiguousarray(vectors, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] < 1:
        raise ValueError("vectors must be a 2-d array (n, dim)")
    n, d = x.shape
    kind = resolve_kind(n, kind)
    if kind == "flat":
        index = faiss.IndexFlatIP(d)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(d, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        nlist = ivf_nlist(n)
        quantizer = faiss.IndexFlatIP(d)
        index = faiss.IndexIVFScalarQuantizer(quantizer, d, nlist, faiss.ScalarQuantizer.QT_8bit,
                                              faiss.METRIC_INNER_PRODUCT, True)
        index.cp.spherical = True
        index.cp.niter = IVF_TRAIN_ITERATIONS
        index.cp.seed = seed
        index.cp.max_points_per_centroid = IVF_TRAIN_PER_LIST
        index.nprobe = ivf_nprobe(nlist)
        if n:
            sample = min(n, nlist * IVF_TRAIN_PER_LIST)
            rows = np.sort(np.random.default_rng(seed).choice(n, sample, replace=False)) if sample < n else slice(None)
            index.train(x[rows])
    if n:
        index.add(x)
    return index


def kind_of(index) -> str:
    """``flat``, ``hnsw`` or ``ivf`` for an index made here (or read back from disk)."""
    import faiss

    if isinstance(index, faiss.IndexHNSW):
        return "hnsw"
    if isinstance(index, faiss.IndexIVF):
        return "ivf"
    return "flat"


def describe(index) -> dict:
    """The manifest's ``dense`` entry: FAISS class, kind and search settings."""
    kind = kind_of(index)
    out: dict = {"type": type(index).__name__, "kind": kind}
    if kind == "hnsw":
        out.update(M=HNSW_M, efConstruction=int(index.hnsw.efConstruction), efSearch=int(index.hnsw.efSearch))
    elif kind == "ivf":
        out.update(quantizer="SQ8", nlist=int(index.nlist), nprobe=int(index.nprobe))
    return out


def search(index, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """FAISS ``search`` (scores, rows), restricted to the rows in ``allowed`` when it is given.

    Rows are -1 (and scores -inf or similar) where fewer than ``k`` results exist.
    """
    import faiss

    q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
    if allowed is None:
        return index.search(q, k)
    ntotal = index.ntotal
    allowed = np.asarray(allowed, dtype=np.int64)
    allowed = allowed[(allowed >= 0) & (allowed < ntotal)]
    if allowed.size == 0 or ntotal == 0:
        return np.full((len(q), k), -np.inf, np.float32), np.full((len(q), k), -1, np.int64)
    mask = np.zeros(ntotal, dtype=bool)
    mask[allowed] = True
    bitmap = np.packbits(mask, bitorder="little")  # must outlive the search: the selector only points at it
    selector = faiss.IDSelectorBitmap(ntotal, faiss.swig_ptr(bitmap))
    share = int(mask.sum()) / ntotal
    kind = kind_of(index)
    if kind == "hnsw":
        ef = max(int(index.hnsw.efSearch), k)
        params = faiss.SearchParametersHNSW(sel=selector, efSearch=int(min(math.ceil(ef / share), max(ef, MAX_EF_SEARCH))))
    elif kind == "ivf":
        params = faiss.SearchParametersIVF(sel=selector, nprobe=int(min(index.nlist, math.ceil(index.nprobe / share))))
    else:
        params = faiss.SearchParameters(sel=selector)
    scores, rows = index.search(q, k, params=params)
    return scores, rows
