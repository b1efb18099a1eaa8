"""What every embedder offers: cheap construction, expensive work in ``warm_up()`` (the Haystack pattern)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, Sequence

if TYPE_CHECKING:
    import numpy as np


class Embedder(Protocol):
    model_id: str

    def warm_up(self) -> None: ...

    @property
    def checksum(self) -> str: ...

    @property
    def dim(self) -> int: ...

    @property
    def max_query_chars(self) -> int: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_passages(self, texts: Sequence[str], progress=None) -> np.ndarray: ...
