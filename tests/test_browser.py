"""The page in a real headless Chromium (Debian's /usr/bin/chromium driven by Playwright).

Screenshots go to $CHATBOT_SCREENSHOTS or build/screenshots/ (not committed): look at them.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
from pathlib import Path

import pytest

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (apt-get install -y chromium)"),
    pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def shots() -> Path:
    path = Path(os.environ.get("CHATBOT_SCREENSHOTS") or ROOT / "build" / "screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def url(fake_index_dir):
    from chatbot.embedders import FakeEmbedder
    from chatbot.service import Chatbot
    from chatbot.webui import launch
    from conftest import SOURCES
    from fakes import FAKE_DECISION

    bot = Chatbot.open(sources_dir=SOURCES, index_dir=fake_index_dir, embedder=FakeEmbedder(),
                       decision=FAKE_DECISION, rebuild=False, progress=None)
    demo, local_url = launch(bot, host="127.0.0.1", port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        yield local_url
    finally:
        demo.close()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=shutil.which(CHROMIUM) or CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def page(browser, url):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nb-NO")
    pg = context.new_page()
    pg.dialogs = []  # any alert() would mean injected script ran
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    pg.goto(url)
    pg.wait_for_selector("#question textarea")
    yield pg
    context.close()


def ask(page, question: str, button: str = "#ask") -> None:
    before = page.locator("#transcript .turn").count()
    page.fill("#question textarea", question)
    page.click(button)
    page.wait_for_function(f"document.querySelectorAll('#transcript .turn').length > {before}")


def last_turn(page):
    return page.locator("#transcript .turn").last


def test_ask_filter_and_open_the_source(page, shots):
    ask(page, "Hva vil Venstre med LAR?")
    turn = last_turn(page)
    card = turn.locator('.card[data-party="Venstre"]').first
    card.wait_for()
    assert card.locator(".party-badge").inner_text() == "Venstre"
    citation = card.locator("a.citation").inner_text()
    assert re.fullmatch(r"Venstre, Temaside, «Rusomsorg som tar mennesker på alvor», venstre-rusomsorg\.txt, "
                        r"linje \d+, tegn \d+–\d+", citation), citation
    assert turn.locator("mark.hl", has_text="LAR").count() >= 1
    card.locator("summary", has_text="Vis sammenheng").click()
    assert card.locator("details .quoted").is_visible()
    page.screenshot(path=str(shots / "1-venstre-lar.png"), full_page=True)

    # the filter: only Helsepartiet
    page.locator("#party-filter label", has_text="Venstre").click()
    ask(page, "Hvem vil avkriminalisere bruk av narkotika?")
    turn = last_turn(page)
    turn.locator('.card[data-party="Helsepartiet"]').first.wait_for()
    assert turn.locator('.card[data-party="Venstre"]').count() == 0
    assert "Partifilter: bare Helsepartiet." in turn.inner_text()
    page.screenshot(path=str(shots / "2-filter-helsepartiet.png"), full_page=True)

    # both parties again: compare the last question side by side (empty box = last question)
    page.locator("#party-filter label", has_text="Venstre").click()
    page.click("#compare")
    page.wait_for_selector(".compare-grid")
    columns = page.locator(".compare-grid .compare-col")
    assert [columns.nth(i).get_attribute("data-party") for i in range(columns.count())] == ["Helsepartiet", "Venstre"]
    page.screenshot(path=str(shots / "3-compare.png"), full_page=True)

    # a citation opens the Sources tab with the passage marked
    cited_card = page.locator(".compare-col[data-party='Helsepartiet'] .card").first
    link = cited_card.locator("a.citation")
    start, end = int(link.get_attribute("data-start")), int(link.get_attribute("data-end"))
    quote = cited_card.locator(".quote").inner_text().strip("«»")
    link.click()
    mark = page.locator("#source-view mark.cited").first
    mark.wait_for(state="visible")
    assert "".join(page.locator("#source-view mark.cited").all_inner_texts()) == quote
    assert f"tegn {start}–{end}" in page.locator("#source-view").inner_text()
    assert page.locator("#source-view .source-view").get_attribute("data-source") == "helsepartiet-rusomsorg.txt"
    page.wait_for_timeout(300)
    assert mark.is_visible() and _in_viewport(page, mark)
    page.screenshot(path=str(shots / "4-citation-source.png"))

    # and back to the chat, at the card whose citation was followed
    page.locator("#source-view a.back").click()
    cited_card.wait_for(state="visible")
    page.wait_for_timeout(400)
    assert _in_viewport(page, cited_card)
    assert page.dialogs == []


def test_citation_permalink(page, url, shots):
    page.goto(url + "?source=helsepartiet-rusomsorg.txt&start=1402&end=1519")
    mark = page.locator("#source-view mark.cited").first
    mark.wait_for(state="visible")
    assert mark.inner_text() == ("Etablere brukerrom -der blant annet røyking av rusmidler er tiltatt- i stedet for "
                                 "dagens sprøyterom for rusavhengige.")
    assert "Markert: linje 16, tegn 1402–1519." in page.locator("#source-view").inner_text()
    page.wait_for_timeout(300)
    assert _in_viewport(page, mark)
    page.screenshot(path=str(shots / "5-permalink.png"))


def test_escaping_and_empty_question(page, shots):
    evil = '<img src=x onerror=alert(1)> [lenke](http://example.com) **fet**'
    ask(page, evil)
    turn = last_turn(page)
    assert turn.locator(".msg-user .q-text").inner_text() == evil
    assert page.locator("#transcript img").count() == 0
    assert page.locator("#transcript .msg-user a").count() == 0
    ask(page, "   ")
    assert "Spørsmålet er tomt" in last_turn(page).inner_text()
    ask(page, "Hva vil Arbeiderpartiet med LAR?")
    assert "Arbeiderpartiet finnes ikke i kildene (tilgjengelig: Helsepartiet, Venstre)." in last_turn(page).inner_text()
    assert last_turn(page).locator(".card").count() == 0
    page.wait_for_timeout(300)
    page.screenshot(path=str(shots / "6-notices.png"), full_page=True)
    assert page.dialogs == []


def test_example_button_and_phone_width(browser, url, shots):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    pg = context.new_page()
    pg.goto(url)
    pg.get_by_role("button", name="Hva mener Helsepartiet om sprøyterom?").click()
    card = pg.locator('#transcript .card[data-party="Helsepartiet"]').first
    card.wait_for()
    assert "linje 16, tegn 1402–1519" in card.locator("a.citation").inner_text()
    assert card.locator(".quote mark.hl", has_text="sprøyterom").count() == 1
    width = pg.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    pg.screenshot(path=str(shots / "7-phone.png"), full_page=True)
    context.close()


def _in_viewport(page, locator) -> bool:
    box = locator.bounding_box()
    height = page.viewport_size["height"]
    return box is not None and 0 <= box["y"] and box["y"] + min(box["height"], 40) <= height
