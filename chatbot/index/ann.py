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

``choose_kind(n)`` picks one by size; a kind given by the caller (from the settings: the
environment variable ``CHATBOT_DENSE_INDEX``, ``flat``, ``hnsw``, ``ivf`` or ``auto``) overrides it.
This module reads no environment. The manifest records the kind built, and an index whose kind
differs from what ``requested_kind(n, kind)`` asks for now is stale (rebuilt).
``search()`` restricts results to
allowed rows (a party filter) through a FAISS ``IDSelector`` passed in the search parameters
of the index's kind, with the index's own ``efSearch``/``nprobe`` (FAISS's parameter objects
default to efSearch=16 and nprobe=1, which would silently cut recall), widened in
proportion to how few rows the filter allows so that filtered queries still find ``k``.
A ``RowFilter`` holds the packed bitmap of a row set so that repeated searches with the same
filter (a party) do not rebuild it per query.
"""

from __future__ import annotations

import math

from ..errors import ChatbotError

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


class DenseKindError(ChatbotError, ValueError):
    """An unknown index kind (argument or ``$CHATBOT_DENSE_INDEX``): a ValueError that the CLI prints as one line."""


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
    """``kind`` unless it is "auto" (or None), else ``choose_kind(n)``; DenseKindError (a ValueError) if unknown."""
    return requested_kind(n, kind)[0]


def requested_kind(n: int, kind: str | None = "auto") -> tuple[str, str]:
    """The kind a build of ``n`` passages with the setting ``kind`` would make now, and who asks for it (for
    messages): ``("hnsw", "CHATBOT_DENSE_INDEX asks for 'hnsw'")`` or
    ``("flat", "the size rule asks for 'flat' (31 passages)")``."""
    chosen = (kind or "auto").strip().lower()
    who = KIND_ENV  # the setting's name: chatbot/settings.py reads it from the environment
    if chosen == "auto":
        auto = choose_kind(n)
        return auto, f"the size rule asks for {auto!r} ({n} passages)"
    if chosen not in KINDS:
        raise DenseKindError(f"unknown dense index kind {chosen!r}; use one of auto, {', '.join(KINDS)} "
                             f"(argument or ${KIND_ENV})")
    return chosen, f"{who} asks for {chosen!r}"


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
    import numpy as np

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


_KIND_OF_TYPE = {"IndexFlatIP": "flat", "IndexHNSWFlat": "hnsw", "IndexIVFScalarQuantizer": "ivf"}


def manifest_kind(entry: dict) -> str | None:
    """The kind recorded in a manifest's ``dense`` entry (older manifests name only the FAISS type)."""
    return entry.get("kind") or _KIND_OF_TYPE.get(entry.get("type"))


def describe(index) -> dict:
    """The manifest's ``dense`` entry: FAISS class, kind and search settings."""
    kind = kind_of(index)
    out: dict = {"type": type(index).__name__, "kind": kind}
    if kind == "hnsw":
        out.update(M=HNSW_M, efConstruction=int(index.hnsw.efConstruction), efSearch=int(index.hnsw.efSearch))
    elif kind == "ivf":
        out.update(quantizer="SQ8", nlist=int(index.nlist), nprobe=int(index.nprobe))
    return out


class RowFilter:
    """A set of rows of an index of ``ntotal`` rows, prepared once for many searches.

    Holds the boolean ``mask`` (``ntotal`` bytes) and FAISS's packed ``bitmap`` (``ntotal / 8``
    bytes), both read-only; ``len()`` is the number of rows in range. Building one is O(ntotal);
    searching with it is not. Rows outside ``0..ntotal-1`` are ignored, duplicates count once.
    """

    __slots__ = ("ntotal", "mask", "bitmap", "count", "_rows")

    def __init__(self, rows: np.ndarray | None = None, ntotal: int = 0, *, mask: np.ndarray | None = None):
        import numpy as np

        if mask is None:
            rows = np.asarray(rows if rows is not None else (), dtype=np.int64)
            mask = np.zeros(ntotal, dtype=bool)
            mask[rows[(rows >= 0) & (rows < ntotal)]] = True
        else:
            mask = np.array(mask, dtype=bool)  # a copy: the filter owns it
        mask.flags.writeable = False
        self.ntotal = len(mask)
        self.mask = mask
        self.bitmap = np.packbits(mask, bitorder="little")  # must outlive every search that points at it
        self.bitmap.flags.writeable = False
        self.count = int(np.count_nonzero(mask))
        self._rows = None

    def __len__(self) -> int:
        return self.count

    @property
    def rows(self) -> np.ndarray:
        """The rows, sorted (int64, read-only; made on first use)."""
        if self._rows is None:
            import numpy as np

            rows = np.flatnonzero(self.mask).astype(np.int64, copy=False)
            rows.flags.writeable = False
            self._rows = rows
        return self._rows

    def complement(self) -> "RowFilter":
        """Every other row of the index."""
        return RowFilter(mask=~self.mask)


def search(index, queries: np.ndarray, k: int, allowed: "np.ndarray | RowFilter | None" = None) -> tuple[np.ndarray, np.ndarray]:
    """FAISS ``search`` (scores, rows), restricted to the rows in ``allowed`` (an array of rows or a
    ``RowFilter`` made for this index) when it is given.

    Rows are -1 (and scores -inf or similar) where fewer than ``k`` results exist.
    """
    import faiss
    import numpy as np

    q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
    if allowed is None:
        return index.search(q, k)
    ntotal = index.ntotal
    if isinstance(allowed, RowFilter):
        if allowed.ntotal != ntotal:
            raise ValueError(f"the row filter is for {allowed.ntotal} rows, the index has {ntotal}")
        rows = allowed
    else:
        rows = RowFilter(allowed, ntotal)
    if rows.count == 0 or ntotal == 0:
        return np.full((len(q), k), -np.inf, np.float32), np.full((len(q), k), -1, np.int64)
    selector = faiss.IDSelectorBitmap(ntotal, faiss.swig_ptr(rows.bitmap))
    share = rows.count / ntotal
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


def row_scores(index, query: np.ndarray, rows) -> list[tuple[int, float]]:
    """Inner products of one query with the given rows (as ``search`` would score them), in the
    order of ``rows``; rows outside the index are left out. No work in proportion to the index:

    - ``hnsw``: the graph's stored vectors, read back exactly (a filtered graph search may not reach
      a handful of scattered rows at all);
    - ``ivf``: every list is probed with a selector of just these rows (``IDSelectorBatch``, a hash
      set), so the scores are the quantised ones ``search`` gives;
    - ``flat``: the same search, with the same selector.
    """
    import faiss
    import numpy as np

    wanted = np.asarray([r for r in dict.fromkeys(int(r) for r in rows) if 0 <= r < index.ntotal], dtype=np.int64)
    if not len(wanted):
        return []
    q = np.ascontiguousarray(np.asarray(query, dtype=np.float32).reshape(-1))
    kind = kind_of(index)
    if kind == "hnsw":
        vectors = index.reconstruct_batch(wanted)
        return [(int(r), float(s)) for r, s in zip(wanted, vectors @ q)]
    selector = faiss.IDSelectorBatch(len(wanted), faiss.swig_ptr(wanted))
    if kind == "ivf":
        params = faiss.SearchParametersIVF(sel=selector, nprobe=int(index.nlist))
    else:
        params = faiss.SearchParameters(sel=selector)
    scores, found = index.search(q.reshape(1, -1), len(wanted), params=params)
    got = {int(r): float(s) for r, s in zip(found[0], scores[0]) if r >= 0}
    return [(int(r), got[int(r)]) for r in wanted if int(r) in got]
