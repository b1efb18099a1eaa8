"""Live source updates (chatbot/live.py): an edited, added or removed programme is swapped in; a broken one is not."""

from __future__ import annotations

import shutil
import threading

import pytest

from chatbot.live import LiveChatbot, fingerprint
from conftest import SOURCES

NEW_PARAGRAPH = "\nVenstre vil gi alle kommuner et tilbud om gratis tannhelse for rusavhengige med kvitteringsordning.\n"

NEW_DOCUMENT = """
[[document]]
file = "testparti.txt"
party = "Testpartiet"
title = "Et program skrevet for testen"
kind = "program"
language = "nb"
fictitious = true
"""


def test_nothing_changed_nothing_swapped(live):
    live, _sources, _ = live
    before = live.current
    assert live.check(settle=0) is False
    assert live.current is before


def test_an_edited_programme_is_rebuilt_and_swapped_in(live):
    live, sources, logged = live
    old = live.current
    with open(sources / "venstre-rusomsorg.txt", "a", encoding="utf-8") as fh:
        fh.write(NEW_PARAGRAPH)
    assert live.check(settle=0) is True
    new = live.current
    assert new is not old and new.corpus_version != old.corpus_version
    assert any("kvitteringsordning" in p.text for p in new.answerer.index.passages)
    assert not any("kvitteringsordning" in p.text for p in old.answerer.index.passages)  # the old one is untouched
    assert live.status.swaps == 1 and live.status.state == "serving" and live.status.last_error is None
    assert new.query_embedder is old.query_embedder  # one batching worker for the life of the server
    assert any(line.startswith("now serving corpus") for line in logged)


def test_an_added_and_then_removed_programme(live):
    live, sources, _ = live
    (sources / "testparti.txt").write_text("Testpartiet vil bygge flere fyrtårn langs hele kysten.\n", encoding="utf-8")
    catalog = (sources / "catalog.toml").read_text(encoding="utf-8")
    (sources / "catalog.toml").write_text(catalog + NEW_DOCUMENT, encoding="utf-8")
    parties = (sources / "parties.toml").read_text(encoding="utf-8")
    assert live.check(settle=0) is True
    assert "Testpartiet" in live.current.answerer.available_parties
    (sources / "catalog.toml").write_text(catalog, encoding="utf-8")
    (sources / "testparti.txt").unlink()
    assert (sources / "parties.toml").read_text(encoding="utf-8") == parties
    assert live.check(settle=0) is True
    assert live.current.answerer.available_parties == ("Helsepartiet", "Venstre")


def test_a_broken_catalog_keeps_the_old_index_and_says_why(live):
    live, sources, logged = live
    old = live.current
    (sources / "catalog.toml").write_text("[[document]]\nfile = \"missing.txt\"\n", encoding="utf-8")
    assert live.check(settle=0) is False
    assert live.current is old
    assert live.status.state == "failed" and live.status.failures == 1
    assert live.status.last_error and "\n" not in live.status.last_error
    assert any(line.startswith("rebuild failed, still serving the previous index:") for line in logged)
    assert live.current.ask("Hva vil Venstre med LAR?").answered is True  # still answering
    assert live.check(settle=0) is False and live.status.failures == 1  # the same broken sources: not retried
    shutil.copy(SOURCES / "catalog.toml", sources / "catalog.toml")
    assert live.check(settle=0) is True
    assert live.status.state == "serving" and live.status.last_error is None


def test_a_file_still_being_written_waits_for_the_next_look(live, monkeypatch):
    live, sources, _ = live
    looks = iter([("changed",), ("changed again",)])
    monkeypatch.setattr("chatbot.live.fingerprint", lambda folder: next(looks))
    assert live.check(settle=0) is False
    assert live.status.swaps == 0


def test_the_watcher_thread_swaps_by_itself(live):
    live, sources, _ = live
    swapped = threading.Event()
    original = live.reload

    def reload(seen=None):
        done = original(seen)
        swapped.set()
        return done

    live.reload = reload
    live.start()
    try:
        with open(sources / "venstre-rusomsorg.txt", "a", encoding="utf-8") as fh:
            fh.write(NEW_PARAGRAPH)
        assert swapped.wait(30)
        assert live.status.swaps == 1 and live.status.watching is True
    finally:
        live.stop()
    assert live.status.watching is False


def test_fingerprint_sees_size_and_time_but_not_editor_files(tmp_path):
    (tmp_path / "a.txt").write_text("x", encoding="utf-8")
    first = fingerprint(tmp_path)
    (tmp_path / ".a.txt.swp").write_text("y", encoding="utf-8")
    (tmp_path / "a.txt~").write_text("y", encoding="utf-8")
    assert fingerprint(tmp_path) == first
    (tmp_path / "a.txt").write_text("xy", encoding="utf-8")
    assert fingerprint(tmp_path) != first


def test_a_bad_interval_is_refused(fake_bot):
    with pytest.raises(ValueError, match="watch interval"):
        LiveChatbot(fake_bot, interval=0)
