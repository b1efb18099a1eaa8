"""Small test doubles shared by several test files (fixtures live in conftest.py)."""

from __future__ import annotations

from chatbot.embedders import FakeEmbedder


class CountingEmbedder(FakeEmbedder):
    """The fake embedder, remembering every passage text it was asked to embed."""

    def __init__(self):
        super().__init__()
        self.embedded: list[str] = []

    def embed_passages(self, texts, progress=None):
        self.embedded.extend(texts)
        return super().embed_passages(texts, progress)
