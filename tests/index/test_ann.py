"""chatbot.index.ann: index kind by size, each kind on small random data, and party-filtered search."""

from __future__ import annotations

import numpy as np
import pytest

from chatbot.index import ann

faiss = pytest.importorskip("faiss")

D = 64


def clustered(n: int, seed: int = 0, clusters: int = 40) -> np.ndarray:
    """Unit vectors around random centres (like topics), so approximate search has structure to use."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, D)).astype(np.float32)
    x = centres[rng.integers(0, clusters, n)] + 0.7 * rng.standard_normal((n, D)).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def near(x: np.ndarray, nq: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    q = x[rng.integers(0, len(x), nq)] + 0.2 * rng.standard_normal((nq, D)).astype(np.float32)
    return (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)


def exact(x: np.ndarray, q: np.ndarray, k: int, allowed: np.ndarray | None = None) -> np.ndarray:
    scores = q @ x.T
    if allowed is not None:
        keep = np.zeros(len(x), bool)
        keep[allowed] = True
        scores[:, ~keep] = -np.inf
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f[f >= 0]) & set(t)) / len(t) for f, t in zip(found, truth)]))


@pytest.fixture(scope="module")
def data():
    x = clustered(4000)
    return x, near(x, 60)


@pytest.fixture(scope="module")
def indexes(data):
    x, _ = data
    return {kind: ann.make_dense_index(x, kind) for kind in ann.KINDS}


# ----------------------------------------------------------------------------- choosing the kind


def test_choose_kind_thresholds():
    assert ann.choose_kind(0) == "flat"
    assert ann.choose_kind(31) == "flat"
    assert ann.choose_kind(ann.FLAT_MAX) == "flat"
    assert ann.choose_kind(ann.FLAT_MAX + 1) == "hnsw"
    assert ann.choose_kind(ann.HNSW_MAX) == "hnsw"
    assert ann.choose_kind(ann.HNSW_MAX + 1) == "ivf"
    assert ann.choose_kind(1_000_000) == "ivf"
    with pytest.raises(ValueError):
        ann.choose_kind(-1)


def test_a_given_kind_overrides_the_size_rule_and_the_environment_is_not_read(monkeypatch):
    monkeypatch.setenv(ann.KIND_ENV, "hnsw")  # read by chatbot/settings.py only, never here
    assert ann.resolve_kind(10) == "flat"
    assert ann.resolve_kind(10, "HNSW") == "hnsw"
    assert ann.resolve_kind(10, "ivf") == "ivf"
    assert ann.resolve_kind(2_000_000, "auto") == "ivf"
    assert ann.requested_kind(10, "hnsw") == ("hnsw", "CHATBOT_DENSE_INDEX asks for 'hnsw'")
    assert ann.requested_kind(10) == ("flat", "the size rule asks for 'flat' (10 passages)")
    with pytest.raises(ValueError, match="annoy"):
        ann.resolve_kind(10, "annoy")
    with pytest.raises(ValueError):
        ann.resolve_kind(10, "lsh")


def test_ivf_lists_grow_with_size_and_stay_trainable():
    assert ann.ivf_nlist(10) == 1
    assert ann.ivf_nlist(4000) <= 4000 // 39
    assert ann.ivf_nlist(1_000_000) == 1024
    assert ann.ivf_nlist(100_000_000) == 4096
    sizes = [ann.ivf_nlist(n) for n in (1_000, 10_000, 100_000, 1_000_000)]
    assert sizes == sorted(sizes)
    for nlist in (1, 16, 1024, 4096):
        assert 1 <= ann.ivf_nprobe(nlist) <= nlist


# ----------------------------------------------------------------------------- each kind


def test_flat_is_exact(data, indexes):
    x, q = data
    index = indexes["flat"]
    assert isinstance(index, faiss.IndexFlatIP) and ann.kind_of(index) == "flat"
    scores, rows = ann.search(index, q, 10)
    assert np.array_equal(rows, exact(x, q, 10))
    assert np.allclose(scores, np.take_along_axis(q @ x.T, rows, axis=1), atol=1e-5)


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_approximate_kinds_find_the_exact_neighbours(data, indexes, kind):
    x, q = data
    index = indexes[kind]
    assert ann.kind_of(index) == kind and index.ntotal == len(x) and index.d == D
    scores, rows = ann.search(index, q, 10)
    assert recall(rows, exact(x, q, 10)) >= 0.9
    assert np.all(np.diff(scores, axis=1) <= 1e-6)  # best first


def test_describe_names_kind_and_settings(indexes):
    assert ann.describe(indexes["flat"]) == {"type": "IndexFlatIP", "kind": "flat"}
    hnsw = ann.describe(indexes["hnsw"])
    assert hnsw["kind"] == "hnsw" and hnsw["efSearch"] == ann.HNSW_EF_SEARCH
    ivf = ann.describe(indexes["ivf"])
    assert ivf["kind"] == "ivf" and ivf["nlist"] == ann.ivf_nlist(4000) and ivf["nprobe"] == ann.ivf_nprobe(ivf["nlist"])


@pytest.mark.parametrize("kind", ann.KINDS)
def test_round_trip_through_a_file_keeps_search_settings(data, indexes, kind, tmp_path):
    _, q = data
    path = tmp_path / "dense.faiss"
    faiss.write_index(indexes[kind], str(path))
    back = faiss.read_index(str(path))
    assert ann.describe(back) == ann.describe(indexes[kind])
    assert np.array_equal(ann.search(back, q, 5)[1], ann.search(indexes[kind], q, 5)[1])


def test_auto_is_the_size_rule_and_a_kind_is_passed_in():
    x = clustered(300, seed=3)
    assert ann.kind_of(ann.make_dense_index(x, "hnsw")) == "hnsw"
    assert ann.kind_of(ann.make_dense_index(x)) == "flat"


@pytest.mark.parametrize("kind", ann.KINDS)
def test_tiny_and_empty_corpora(kind):
    x = clustered(31, seed=4)
    index = ann.make_dense_index(x, kind)
    scores, rows = ann.search(index, x[:3], 5)
    assert list(rows[:, 0]) == [0, 1, 2]
    empty = ann.make_dense_index(np.zeros((0, D), np.float32), kind)
    assert empty.ntotal == 0


def test_rejects_a_non_matrix():
    with pytest.raises(ValueError):
        ann.make_dense_index(np.zeros(D, np.float32), "flat")


# ----------------------------------------------------------------------------- filtered (party) search


def parties(n: int, seed: int = 7) -> np.ndarray:
    """Party labels: one big party, a few middling ones and a small one (~2%)."""
    return np.random.default_rng(seed).choice(6, n, p=[0.40, 0.20, 0.15, 0.13, 0.10, 0.02])


@pytest.mark.parametrize("kind", ann.KINDS)
@pytest.mark.parametrize("chosen", [(0,), (1, 4), (5,)])
def test_party_filter_returns_only_allowed_rows(data, indexes, kind, chosen):
    x, q = data
    labels = parties(len(x))
    allowed = np.flatnonzero(np.isin(labels, chosen)).astype(np.int64)
    k = 10
    scores, rows = ann.search(indexes[kind], q, k, allowed)
    assert rows.shape == (len(q), k)
    found = rows[rows >= 0]
    assert np.isin(found, allowed).all()
    assert (rows >= 0).sum(axis=1).min() == min(k, len(allowed))  # the filter does not starve the search
    truth = exact(x, q, k, allowed)
    assert recall(rows, truth) >= (1.0 if kind == "flat" else 0.85)


@pytest.mark.parametrize("kind", ann.KINDS)
def test_filter_edge_cases(data, indexes, kind):
    x, q = data
    index = indexes[kind]
    scores, rows = ann.search(index, q[:2], 5, np.zeros(0, np.int64))
    assert (rows == -1).all()
    one = np.array([123], np.int64)
    assert ann.search(index, x[123:124], 5, one)[1][0].tolist() == [123, -1, -1, -1, -1]
    everything = np.arange(len(x), dtype=np.int64)
    assert np.array_equal(ann.search(index, q, 10, everything)[1], ann.search(index, q, 10)[1])
    out_of_range = np.array([-5, 7, len(x) + 10], np.int64)
    assert set(ann.search(index, x[7:8], 3, out_of_range)[1][0].tolist()) == {7, -1}


def test_search_parameters_keep_the_index_settings(data, indexes):
    """FAISS parameter objects default to efSearch=16 / nprobe=1; a filter must not fall back to them."""
    x, q = data
    allowed = np.arange(len(x), dtype=np.int64)[::2]
    ivf = indexes["ivf"]
    filtered = ann.search(ivf, q, 10, allowed)[1]
    naive = ivf.search(q, 10, params=faiss.SearchParametersIVF(
        sel=faiss.IDSelectorBatch(allowed)))[1]
    truth = exact(x, q, 10, allowed)
    assert recall(filtered, truth) > recall(naive, truth)


# ----------------------------------------------------------------------------- row filters made once


def test_row_filter_holds_each_row_once_and_its_complement():
    f = ann.RowFilter(np.array([7, 2, 2, -1, 10, 3], np.int64), 10)
    assert len(f) == 3 and f.ntotal == 10
    assert f.rows.tolist() == [2, 3, 7] and f.rows.dtype == np.int64
    assert f.mask.tolist() == [i in (2, 3, 7) for i in range(10)]
    assert f.bitmap.tolist() == [0b10001100, 0]  # little bit order: rows 2, 3 and 7
    other = f.complement()
    assert other.rows.tolist() == [0, 1, 4, 5, 6, 8, 9] and len(other) == 7
    assert f.rows.tolist() == [2, 3, 7]  # the complement is a new filter
    for array in (f.mask, f.bitmap, f.rows, other.mask):
        assert not array.flags.writeable
    assert len(ann.RowFilter(None, 5)) == 0 and ann.RowFilter(None, 5).complement().rows.tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("kind", ann.KINDS)
@pytest.mark.parametrize("chosen", [(0,), (1, 4), (5,)])
def test_row_filter_searches_exactly_like_rows(data, indexes, kind, chosen):
    x, q = data
    allowed = np.flatnonzero(np.isin(parties(len(x)), chosen)).astype(np.int64)
    prepared = ann.RowFilter(allowed, len(x))
    for rows, filt in ((allowed, prepared), (np.setdiff1d(np.arange(len(x)), allowed), prepared.complement())):
        by_rows = ann.search(indexes[kind], q, 10, rows)
        by_filter = ann.search(indexes[kind], q, 10, filt)
        assert np.array_equal(by_rows[1], by_filter[1]) and np.array_equal(by_rows[0], by_filter[0])


def test_row_filter_for_another_index_is_refused(indexes):
    with pytest.raises(ValueError, match="the row filter is for 10 rows, the index has 4000"):
        ann.search(indexes["flat"], np.ones((1, D), np.float32), 3, ann.RowFilter([1], 10))


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_row_scores_are_the_scores_a_search_gives_those_rows(kind):
    x = clustered(3000)
    index = ann.make_dense_index(x, kind)
    q = near(x, 1)[0]
    rows = [2999, 5, 1200, 5, 77, 3000, -1]  # unsorted, a duplicate, two outside the index
    got = ann.row_scores(index, q, rows)
    assert [r for r, _ in got] == [2999, 5, 1200, 77]
    if kind == "hnsw":  # the stored vectors, exactly
        assert np.allclose([s for _, s in got], x[[2999, 5, 1200, 77]] @ q, atol=1e-6)
    else:  # what a search over every list, restricted to these rows, gives
        if kind == "ivf":
            index.nprobe = index.nlist
        scores, found = ann.search(index, q, 4, np.array([2999, 5, 1200, 77]))
        assert dict(got) == {int(r): float(s) for r, s in zip(found[0], scores[0])}
    assert ann.row_scores(index, q, []) == [] and ann.row_scores(index, q, [-5, 10**6]) == []
