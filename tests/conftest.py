"""Shared fixtures: the real corpus indexed with the deterministic fake embedder (seconds, no model)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatbot.models.fake import FakeEmbedder
from chatbot.service import Chatbot

from fakes import FAKE_DECISION

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "sources"


def _session_cache_dir() -> Path:
    from chatbot.settings import default_cache_dir

    return default_cache_dir()


SESSION_CACHE = _session_cache_dir()  # read before any test sets $CHATBOT_CACHE_DIR


@pytest.fixture(autouse=True)
def _one_nynorsk_map_per_machine(request, monkeypatch):
    """An index build makes the nynorsk question words' map with Apertium (chatbot/index/nynorsk_words.py,
    about 15 s) unless the cache folder holds it. Tests that build in a cache folder of their own would each
    make it again; here every build reads it from the session's cache folder instead (made there once: the
    map a build on this machine gets). ``@pytest.mark.own_nynorsk_cache`` keeps the folder the test gives."""
    if request.node.get_closest_marker("own_nynorsk_cache"):
        return
    from chatbot.index import nynorsk_words

    real = nynorsk_words.build

    def build(cache_dir, say=lambda _m: None, translate=None):
        return real(SESSION_CACHE if translate is None else cache_dir, say, translate)

    monkeypatch.setattr(nynorsk_words, "build", build)


@pytest.fixture(scope="session")
def fake_index_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("fake-index")
    Chatbot.open(sources_dir=SOURCES, index_dir=path, embedder=FakeEmbedder(), progress=None)
    return path


@pytest.fixture()
def fake_bot(fake_index_dir) -> Chatbot:
    """A chatbot over the real sources with the fake embedder; each test gets its own object."""
    return Chatbot.open(sources_dir=SOURCES, index_dir=fake_index_dir, embedder=FakeEmbedder(),
                        decision=FAKE_DECISION, rebuild=False, progress=None)


@pytest.fixture()
def fake_model(monkeypatch, fake_index_dir):
    """`chatbot` commands run in-process with the fake embedder, its thresholds and a prebuilt index."""
    from chatbot.models import factory
    from chatbot import service

    monkeypatch.setattr(factory, "make_embedder", lambda model=None, **_: FakeEmbedder())
    monkeypatch.setenv("CHATBOT_INDEX", str(fake_index_dir))
    original = service.Chatbot.open.__func__

    def open_with_fake_settings(cls, **kwargs):
        kwargs.setdefault("decision", FAKE_DECISION)
        return original(cls, **kwargs)

    monkeypatch.setattr(service.Chatbot, "open", classmethod(open_with_fake_settings))


@pytest.fixture()
def live(tmp_path):
    """A LiveChatbot over a copy of the real sources (fake embedder, 0.05 s interval): (live, sources, log lines)."""
    import shutil

    from chatbot.live import LiveChatbot

    sources = tmp_path / "sources"
    shutil.copytree(SOURCES, sources)
    bot = Chatbot.open(sources_dir=sources, index_dir=tmp_path / "index", embedder=FakeEmbedder(),
                       decision=FAKE_DECISION, progress=None)
    logged: list[str] = []
    return LiveChatbot(bot, interval=0.05, log=logged.append), sources, logged
