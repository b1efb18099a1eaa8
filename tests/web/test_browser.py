"""The page in a real headless Chromium (Debian's /usr/bin/chromium driven by Playwright).

Every state (start, answer, compare, Kilder with a passage marked, the quote check) is checked
with axe-core (0 serious or critical violations) and for sideways scrolling, at 1366 px and at
390 px. axe-core comes from npm (``npm install --prefix build axe-core@4``, done by ``make`` and
CI); without it the accessibility checks skip, except under CI=true, where they fail.

Screenshots go to $CHATBOT_SCREENSHOTS or build/screenshots/ (not committed): look at them.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "build" / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = {"wide": (1366, 900), "phone": (390, 844)}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (apt-get install -y chromium)"),
    pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]


@pytest.fixture(scope="module")
def shots() -> Path:
    path = Path(os.environ.get("CHATBOT_SCREENSHOTS") or ROOT / "build" / "screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def axe_source() -> str | None:
    if AXE.exists():
        return AXE.read_text(encoding="utf-8")
    message = f"axe-core is missing ({AXE}): npm install --no-save --prefix build axe-core@4"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    return None


@pytest.fixture(scope="module")
def bot(fake_index_dir):
    from chatbot.models.fake import FakeEmbedder
    from chatbot.service import Chatbot
    from conftest import SOURCES
    from fakes import FAKE_DECISION

    return Chatbot.open(sources_dir=SOURCES, index_dir=fake_index_dir, embedder=FakeEmbedder(),
                        decision=FAKE_DECISION, rebuild=False, progress=None)


@pytest.fixture(scope="module")
def url(bot):
    from fakes import serving

    with serving(bot) as (_demo, local_url):
        yield local_url.rstrip("/") + "/"


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=shutil.which(CHROMIUM) or CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def open_page(browser, url, width=1280, height=900, locale="nb-NO", path=""):
    context = browser.new_context(viewport={"width": width, "height": height}, locale=locale)
    pg = context.new_page()
    pg.dialogs = []  # any alert() would mean injected script ran
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    pg.goto(url + path)
    pg.wait_for_selector("#question textarea")
    return pg


@pytest.fixture()
def page(browser, url):
    pg = open_page(browser, url)
    yield pg
    pg.context.close()


def ask(page, question: str, button: str = "#ask") -> None:
    before = page.locator("#transcript .turn").count()
    page.fill("#question textarea", question)
    page.click(button)
    page.wait_for_function(f"document.querySelectorAll('#transcript .turn').length > {before}")
    page.wait_for_selector("#ask:not([disabled])")


def last_turn(page):
    return page.locator("#transcript .turn").last


def axe_violations(page, axe_source) -> list[dict]:
    """Serious and critical axe-core violations on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=axe_source)
    return page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => ({
            id: v.id, impact: v.impact,
            nodes: v.nodes.slice(0, 6).map(n => n.target.join(' ') + ' :: ' + (n.failureSummary || '').slice(0, 160))}));
    }""")


def check_state(page, axe_source, shots, name: str, width: int) -> None:
    """One state of the page: no serious/critical axe violation, no sideways scrolling, a screenshot."""
    page.wait_for_timeout(250)
    page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{name}: the page scrolls sideways at {width}px ({scroll_width}px)"
    if axe_source is not None:
        found = axe_violations(page, axe_source)
        assert found == [], f"{name} at {width}px: {found}"


# ---- every state at both widths: axe-core and no sideways scrolling ---------------------------

@pytest.mark.parametrize("size", list(WIDTHS), ids=list(WIDTHS))
def test_every_state_is_accessible_and_fits(browser, url, shots, axe_source, size):
    width, height = WIDTHS[size]
    page = open_page(browser, url, width, height, locale="en-US")  # an English browser still gets lang="nb"
    try:
        assert page.evaluate("document.documentElement.lang") == "nb"
        check_state(page, axe_source, shots, "1-start", width)

        ask(page, "Hva vil Venstre med LAR?")
        card = last_turn(page).locator('.card[data-party="Venstre"]').first
        card.locator("summary").click()
        check_state(page, axe_source, shots, "2-answer", width)

        ask(page, "Hva vil Venstre med tilgang til ordinære legemidler for rusavhengige?")  # said twice in the source
        last_turn(page).locator(".card .also").first.wait_for(state="visible")
        check_state(page, axe_source, shots, "2b-said-again", width)

        ask(page, "bostedsløse", "#compare")
        page.wait_for_selector(".compare-grid")
        check_state(page, axe_source, shots, "3-compare", width)

        page.locator(".compare-col[data-party='Helsepartiet'] a.citation").first.click()
        page.locator("#source-view mark.cited").first.wait_for(state="visible")
        check_state(page, axe_source, shots, "4-source", width)

        page.get_by_role("tab", name="Sjekk et sitat").click()
        page.fill("#qc-quote textarea", "LAR bør anses som både et skadereduserende tiltak og et behandlende opplegg")
        page.click("#qc-check")
        page.wait_for_selector("#qc-result .qc-match")
        check_state(page, axe_source, shots, "5-quote-check", width)
        assert page.dialogs == []
    finally:
        page.context.close()


# ---- answers, filter, compare, the source view -----------------------------------------------

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
    assert card.locator("blockquote").get_attribute("lang") == "nb"
    card.locator("summary", has_text="Vis sammenheng").click()
    assert card.locator("details .quoted").is_visible()
    assert "Svar på «Hva vil Venstre med LAR?»" in page.locator("#chatbot-live").inner_text()

    # the filter: only Helsepartiet
    page.locator("#party-filter label", has_text="Venstre").click()
    ask(page, "Hvem vil avkriminalisere bruk av narkotika?")
    turn = last_turn(page)
    turn.locator('.card[data-party="Helsepartiet"]').first.wait_for()
    assert turn.locator('.card[data-party="Venstre"]').count() == 0
    assert "Partifilter: bare Helsepartiet." in turn.inner_text()
    # a party the question names but the filter hides is named in the answer
    ask(page, "Hva vil Venstre med LAR?")
    assert "Venstre" in last_turn(page).locator(".msg-bot").inner_text()
    assert "partifilteret viser bare Helsepartiet" in last_turn(page).locator(".msg-bot").inner_text()
    ask(page, "What does Venstre want for LAR?")  # English question: English notices
    assert "party filter shows only Helsepartiet" in last_turn(page).locator(".msg-bot").inner_text()

    # both parties again: compare the last question side by side (empty box = last question)
    page.locator("#party-filter label", has_text="Venstre").click()
    page.fill("#question textarea", "Hvem vil avkriminalisere bruk av narkotika?")
    page.click("#compare")
    page.wait_for_selector(".compare-grid")
    columns = page.locator(".compare-grid").last.locator(".compare-col")
    assert [columns.nth(i).get_attribute("data-party") for i in range(columns.count())] == ["Helsepartiet", "Venstre"]

    # a citation opens the Sources tab with the passage marked and focused
    cited_card = page.locator(".compare-grid").last.locator(".compare-col[data-party='Helsepartiet'] .card").first
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
    assert page.evaluate("document.activeElement.matches('mark.cited')")
    page.screenshot(path=str(shots / "6-citation-source.png"))

    # and back to the chat, at the card whose citation was followed, with the focus on the citation
    page.locator("#source-view a.back").click()
    cited_card.wait_for(state="visible")
    page.wait_for_timeout(400)
    assert _in_viewport(page, cited_card)
    assert page.evaluate("document.activeElement.matches('a.citation')")
    assert page.evaluate("document.activeElement.dataset.start") == str(start)
    assert page.dialogs == []


def test_source_text_scrolls_by_keyboard(page):
    page.get_by_role("tab", name="Kilder").click()
    box = page.locator("#source-view .src-text")
    assert box.get_attribute("tabindex") == "0" and box.get_attribute("role") == "region"
    assert box.get_attribute("aria-label").startswith("Kildetekst: ")
    box.focus()
    before = box.evaluate("el => el.scrollTop")
    page.keyboard.press("PageDown")
    page.wait_for_timeout(200)
    assert box.evaluate("el => el.scrollTop") > before


def test_citation_permalink(page, url, shots):
    page.goto(url + "?source=helsepartiet-rusomsorg.txt&start=1402&end=1519")
    mark = page.locator("#source-view mark.cited").first
    mark.wait_for(state="visible")
    assert mark.inner_text() == ("Etablere brukerrom -der blant annet røyking av rusmidler er tiltatt- i stedet for "
                                 "dagens sprøyterom for rusavhengige.")
    assert "Markert: linje 16, tegn 1402–1519." in page.locator("#source-view").inner_text()
    page.wait_for_timeout(300)
    assert _in_viewport(page, mark)
    page.screenshot(path=str(shots / "7-permalink.png"))


# ---- the address bar: Back inside the app, links that reproduce an answer ----------------------

def test_history_and_shared_links(page, url, bot):
    version = bot.corpus_version
    ask(page, "Hva vil Venstre med LAR?")
    page.wait_for_function("location.search.includes('q=')")
    params = parse_qs(urlsplit(page.url).query)
    assert params == {"q": ["Hva vil Venstre med LAR?"], "v": [version]}
    first_url = page.url

    page.locator("#transcript a.citation").first.click()
    page.locator("#source-view mark.cited").first.wait_for(state="visible")
    page.wait_for_function("location.search.includes('source=')")
    params = parse_qs(urlsplit(page.url).query)
    assert params["source"] == ["venstre-rusomsorg.txt"] and params["v"] == [version]
    assert {"start", "end"} <= set(params)

    page.go_back()  # Back: the chat again, in the same page (the conversation is kept)
    page.locator("#transcript .card").first.wait_for(state="visible")
    assert page.url == first_url and page.locator("#transcript .turn").count() == 1
    page.go_forward()  # Forward: the source again
    page.locator("#source-view mark.cited").first.wait_for(state="visible")

    # a shared link reproduces the answer
    shared = open_page(page.context.browser, url, path="?q=" + "Hva%20vil%20Venstre%20med%20LAR%3F" + f"&v={version}")
    try:
        shared.wait_for_selector("#transcript .card")
        assert shared.locator("#transcript .turn").count() == 1
        assert shared.locator("#transcript .q-text").inner_text() == "Hva vil Venstre med LAR?"
        assert shared.locator("#link-note .notice").count() == 0
    finally:
        shared.context.close()
    # ... and says so when the sources have changed since the link was made
    stale = open_page(page.context.browser, url, path="?q=LAR&v=000000000000")
    try:
        stale.wait_for_selector("#link-note .notice")
        assert "Kildene er endret siden lenken ble laget" in stale.locator("#link-note").inner_text()
    finally:
        stale.context.close()


# ---- questions: escaping, empty, long, double submits ------------------------------------------

def test_escaping_empty_and_long_questions(page, shots):
    evil = '<img src=x onerror=alert(1)> [lenke](http://example.com) **fet**'
    ask(page, evil)
    turn = last_turn(page)
    assert turn.locator(".msg-user .q-text").inner_text() == evil
    assert page.locator("#transcript img").count() == 0
    assert page.locator("#transcript .msg-user a").count() == 0

    # an empty submit adds no turn, only a hint
    page.fill("#question textarea", "   ")
    page.click("#ask")
    page.wait_for_selector("#transcript .hint")
    assert page.locator("#transcript .turn").count() == 1
    assert "Skriv et spørsmål i feltet først" in page.locator("#transcript .hint").inner_text()

    ask(page, "Hva vil Arbeiderpartiet med LAR?")
    assert "Arbeiderpartiet finnes ikke i kildene (tilgjengelig: Helsepartiet, Venstre)." in last_turn(page).inner_text()
    assert last_turn(page).locator(".card").count() == 0

    # a 20 000-character paste: the bubble shows what was searched, and says it was cut
    ask(page, ("Hva vil Venstre med LAR? " * 800).strip())
    bubble = last_turn(page).locator(".msg-user")
    assert len(bubble.locator(".q-text").inner_text()) <= 2000
    assert "Forkortet" in bubble.inner_text()
    page.wait_for_timeout(300)
    page.screenshot(path=str(shots / "8-notices.png"), full_page=True)
    assert page.dialogs == []


def test_double_submit_gives_one_turn(page):
    page.fill("#question textarea", "Hva mener Helsepartiet om sprøyterom?")
    page.evaluate("""() => {
        const box = document.querySelector('#question textarea');
        const enter = () => box.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', code: 'Enter', bubbles: true}));
        document.querySelector('#ask').click(); enter(); document.querySelector('#ask').click(); enter();
    }""")
    page.wait_for_function("document.querySelectorAll('#transcript .turn').length > 0")
    page.wait_for_timeout(1500)
    assert page.locator("#transcript .turn").count() == 1


# ---- for librarians: copy, downloads, the quote check --------------------------------------------

def test_copy_and_downloads(browser, url):
    page = open_page(browser, url)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    try:
        ask(page, "Hva mener Helsepartiet om sprøyterom?")
        card = page.locator('#transcript .card[data-party="Helsepartiet"]').first
        citation = card.locator("a.citation").inner_text()
        quote = card.locator(".quote").inner_text().strip("«»")
        card.locator("button.copy").click()
        page.wait_for_function("document.querySelector('#transcript button.copy').textContent === 'Kopiert'")
        assert page.evaluate("navigator.clipboard.readText()") == f"«{quote}» — {citation}"

        tools = last_turn(page).locator(".turn-tools")
        csv_href = tools.locator("a[data-kind='csv']").get_attribute("href")
        assert csv_href.startswith("data:text/csv;charset=utf-8,")
        csv_text = unquote(csv_href.split(",", 1)[1])
        assert csv_text.startswith("\ufeffparty,title,source,line,start,end,byte_start,byte_end,quote,citation\r\n")
        assert citation in csv_text
        csl_href = tools.locator("a[data-kind='csl-json']").get_attribute("href")
        import json

        items = json.loads(unquote(csl_href.split(",", 1)[1]))
        assert items[0]["author"] == [{"literal": "Helsepartiet"}] and items[0]["note"] == citation
        assert items[0]["custom"]["selector"]["type"] == "TextQuoteSelector"
    finally:
        page.context.close()


def test_quote_check_tab(page, shots):
    page.get_by_role("tab", name="Sjekk et sitat").click()
    page.fill("#qc-quote textarea", "«Etablere brukerrom – der blant annet røyking av rusmidler er tillatt – i stedet "
                                    "for dagens sprøyterom»")
    page.click("#qc-check")
    result = page.locator("#qc-result .qc-result")
    result.wait_for()
    assert result.get_attribute("data-found") == "near"
    match = result.locator(".qc-match").first
    assert match.get_attribute("data-party") == "Helsepartiet"
    assert match.locator("del.diff-missing").count() >= 1 and match.locator("ins.diff-added").count() >= 1
    assert "Likhet" in match.inner_text()

    page.fill("#qc-quote textarea", "Styrke ettervernet.")
    page.click("#qc-check")
    page.wait_for_selector("#qc-result .qc-result[data-found='exact']")
    assert "Sitatet finnes ordrett hos Helsepartiet." in page.locator("#qc-result").inner_text()

    page.fill("#qc-quote textarea", "Vi vil bygge en ny bro over Oslofjorden innen neste år")
    page.click("#qc-check")
    page.wait_for_selector("#qc-result .qc-result[data-found='none']")
    page.screenshot(path=str(shots / "9-quote-check-none.png"), full_page=True)

    # a citation in the result opens the source, and Back returns to the quote check
    page.fill("#qc-quote textarea", "Styrke ettervernet.")
    page.click("#qc-check")
    page.wait_for_selector("#qc-result .qc-result[data-found='exact']")
    page.locator("#qc-result a.citation").first.click()
    page.locator("#source-view mark.cited").first.wait_for(state="visible")
    assert page.locator("#source-view mark.cited").first.inner_text() == "Styrke ettervernet."
    page.locator("#source-view a.back").click()
    page.locator("#qc-result a.citation").first.wait_for(state="visible")


def test_example_button_and_phone_width(browser, url, shots):
    page = open_page(browser, url, 390, 844)
    try:
        page.get_by_role("button", name="Hva mener Helsepartiet om sprøyterom?").click()
        card = page.locator('#transcript .card[data-party="Helsepartiet"]').first
        card.wait_for()
        assert "linje 16, tegn 1402–1519" in card.locator("a.citation").inner_text()
        assert card.locator(".quote mark.hl", has_text="sprøyterom").count() == 1
        for tab in ("Kilder", "Sjekk et sitat", "Samtale"):
            page.get_by_role("tab", name=tab).click()
            page.wait_for_timeout(200)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"the {tab} tab scrolls sideways on a phone ({width}px)"
        page.screenshot(path=str(shots / "10-phone.png"), full_page=True)
    finally:
        page.context.close()


def test_scope_on_the_first_screen(page, bot):
    scope = page.locator("#app-title .scope")
    text = scope.inner_text()
    for doc in bot.catalog.documents:
        assert doc.party in text and (doc.cite_as or doc.title) in text
    assert "vedtatt 8. februar 2017" in text and "udatert" in text
    assert "ingen egne meninger" in text
    parties = scope.locator(".party-badge").all_inner_texts()
    from chatbot.web.cards import sort_parties

    assert parties == sort_parties(parties)


def _in_viewport(page, locator) -> bool:
    box = locator.bounding_box()
    height = page.viewport_size["height"]
    return box is not None and 0 <= box["y"] and box["y"] + min(box["height"], 40) <= height
