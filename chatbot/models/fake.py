"""A deterministic fake embedder for tests: similar wording gives similar vectors, no model needed."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    import numpy as np


class FakeEmbedder:
    """Deterministic hashed bag of stemmed words and their trigrams: similar wording, similar vectors."""

    def __init__(self, dim: int = 256):
        if dim < 8:
            raise ValueError("FakeEmbedder needs dim >= 8")
        self.model_id = f"fake-{dim}"
        self._dim = dim

    def warm_up(self) -> None:
        return None

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.model_id.encode()).hexdigest()

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def max_query_chars(self) -> int:
        return 2000

    def _one(self, text: str) -> np.ndarray:
        import numpy as np
        from ..textnorm import tokens

        vec = np.zeros(self._dim, dtype=np.float32)
        for term in tokens(text):  # stemmed, folded content words, and their trigrams at half weight
            padded = f" {term} "
            grams = [(term, 2.0)] + [(padded[i:i + 3], 0.5) for i in range(len(padded) - 2)]
            for gram, weight in grams:
                h = int.from_bytes(hashlib.blake2b(gram.encode(), digest_size=8).digest(), "little")
                vec[h % self._dim] += weight if (h >> 32) & 1 else -weight
        norm = float(np.linalg.norm(vec))
        if norm == 0.0:
            vec[0] = 1.0
            return vec
        return vec / norm

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np
        return np.stack([self._one(t) for t in texts]) if texts else np.zeros((0, self._dim), np.float32)

    def embed_passages(self, texts: Sequence[str], progress=None) -> np.ndarray:
        return self.embed_queries(texts)
