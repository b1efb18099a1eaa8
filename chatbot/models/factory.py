"""The embedder for a model spec and backend (tests replace ``make_embedder`` with a fake)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from .onnx_embedder import OnnxEmbedder
from .protocol import Embedder
from .spec import DEFAULT_MODEL, model_spec, resolve_backend
from .torch_embedder import SentenceTransformerEmbedder


def make_embedder(model: str | None = None, backend: str | None = None, progress=None, *,
                  cache_dir: Path | None = None, offline: bool | None = None, threads: int | None = None) -> Embedder:
    """The embedder for a model spec and backend (tests replace this factory with a fake).

    ``auto``: ONNX Runtime for the default model when onnxruntime is installed, falling back to
    torch if the export fails; sentence-transformers (torch) for every other model. ``threads``: ONNX
    Runtime's threads (None: up to four, one per core); torch keeps its own setting.
    """
    chosen = resolve_backend(backend)
    spec = model_spec(model)
    if chosen == "onnx":
        return OnnxEmbedder(spec, progress=progress, cache_dir=cache_dir, threads=threads)
    if chosen == "auto" and spec == DEFAULT_MODEL and importlib.util.find_spec("onnxruntime") is not None:
        return OnnxEmbedder(spec, fallback=True, progress=progress, cache_dir=cache_dir, threads=threads)
    return SentenceTransformerEmbedder(spec, cache_dir=cache_dir, offline=offline)
