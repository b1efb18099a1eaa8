"""Shared fixtures: the real corpus indexed with the deterministic fake embedder (seconds, no model)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatbot.models.fake import FakeEmbedder
from chatbot.service import Chatbot

from fakes import FAKE_DECISION

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "sources"


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
