"""Hostile and odd questions (tests/hostile_questions.jsonl) through the library, the CLI and the web page.

Every question of the corpus is asked (a) through the library (``Chatbot.ask``), (b) through
``chatbot ask`` in-process, as an argument and as JSON lines on stdin (also with bytes that are
not UTF-8), and (c) through the ``/ask`` handler, the page's HTML and the served ``/ask`` endpoint.
Never a traceback; a notice when the question cannot be used; markup always shown as text.

Corpus fields: ``id``; ``q`` (a string, or ``[[text, times], ...]`` concatenated, for the long ones);
``expect``; optional ``same_as`` (a question that must get the identical answer), ``parties``
(the parties the question names, in order), ``party`` (a party filter); ``why``.

``expect`` is one of:
  empty-notice          not answered, the "question is empty" notice
  long-notice           cut to the limit, with the "question was very long" notice
  declined              not answered, "no relevant passages" (only used for text without a letter or digit)
  only-party            not answered, "the question only names a party / parties"
  missing-party         a named party (or the filter) is not in the sources: said so in the notice
  answered-or-declined  either, as long as nothing breaks (the usual case for odd but usable text)

The expectations hold for any embedder; the tests marked ``model`` ask a handful with the real one.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import unicodedata
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

from chatbot.answer import NOTICE_EMPTY, NOTICE_NONE, AnswerSettings  # noqa: E402
from chatbot.cli import main  # noqa: E402
from chatbot.models.fake import FakeEmbedder  # noqa: E402
from chatbot.service import Chatbot  # noqa: E402
from chatbot.query.prepare import cut_question  # noqa: E402
from chatbot.textnorm import clean_question, valid_text  # noqa: E402
from chatbot.web.webui import WebHandlers  # noqa: E402
from conftest import SOURCES  # noqa: E402
from fakes import FAKE_DECISION  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CORPUS_PATH = Path(__file__).with_name("hostile_questions.jsonl")
LONG_PREFIX = "Spørsmålet var svært langt; bare de første "
ONLY_PARTY_PREFIX = "Spørsmålet nevner bare "
MISSING = "finnes ikke i kildene"
EXPECTS = {"empty-notice", "long-notice", "declined", "only-party", "missing-party", "answered-or-declined"}

pytestmark = [pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]


def _load_corpus() -> list[dict]:
    entries = [json.loads(line) for line in CORPUS_PATH.read_text(encoding="utf-8").splitlines() if line.strip()]
    for e in entries:
        q = e["q"]
        e["text"] = q if isinstance(q, str) else "".join(part * times for part, times in q)
    return entries


CORPUS = _load_corpus()
BY_ID = {e["id"]: e for e in CORPUS}
IDS = [e["id"] for e in CORPUS]
# Lines that survive being one line of stdin (stdin splits at \n and \r; filters are per run, not per line).
LINE_SAFE = [e for e in CORPUS if not re.search(r"[\r\n]", e["text"]) and not e.get("party")]


def party_filter(entry: dict) -> list[str] | None:
    return entry.get("party")


def comparable(data: dict) -> dict:
    """The JSON answer without the echoed question, as asked and as searched (for answers to equivalent questions)."""
    return {k: v for k, v in data.items() if k not in ("question", "searched")}


def check_answer_dict(data: dict, entry: dict, texts: dict[str, str]) -> None:
    """What must hold for an answer to ``entry``, whichever way it was asked."""
    where = entry["id"]
    notice, passages = data["notice"], data["passages"]
    # never anything that cannot be written out as UTF-8 JSON
    json.dumps(data, ensure_ascii=False).encode("utf-8")
    assert data["question"] == valid_text(entry["text"]), where
    assert data["answered"] == bool(passages), where
    assert notice is None or (isinstance(notice, str) and notice.strip()), where
    if not data["answered"]:
        assert notice, where
    assert [p["rank"] for p in passages] == list(range(1, len(passages) + 1)), where
    for p in passages:
        assert texts[p["source"]][p["start"]:p["end"]] == p["text"], where
    wanted = {name.strip().casefold() for name in entry.get("party") or [] if name.strip()}
    if wanted:  # a filter was given (blank names are no filter)
        assert {p["party"].casefold() for p in passages} <= wanted, where
    expect = entry["expect"]
    assert expect in EXPECTS, where
    if expect == "empty-notice":
        assert (data["answered"], notice, passages) == (False, NOTICE_EMPTY, []), where
    elif expect == "long-notice":
        assert notice and notice.startswith(LONG_PREFIX), where
    elif expect == "declined":
        assert (data["answered"], notice, passages) == (False, NOTICE_NONE, []), where
    elif expect == "only-party":
        assert not data["answered"] and notice.startswith(ONLY_PARTY_PREFIX), where
    elif expect == "missing-party":
        assert data["missing_parties"] and MISSING in notice, where
        for name in data["missing_parties"]:
            assert valid_text(name) in notice, where
    if expect != "long-notice":
        assert not (notice or "").startswith(LONG_PREFIX), where
    if expect != "empty-notice":
        assert notice != NOTICE_EMPTY, where
    if "parties" in entry:
        assert data["parties"] == entry["parties"], where


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    from chatbot.catalog import load_catalog

    catalog = load_catalog(SOURCES)
    return {d.source: catalog.text(d.source) for d in catalog.documents}


@pytest.fixture(scope="module")
def bot(fake_index_dir) -> Chatbot:
    return Chatbot.open(sources_dir=SOURCES, index_dir=fake_index_dir, embedder=FakeEmbedder(),
                        decision=FAKE_DECISION, rebuild=False, progress=None)


@pytest.fixture(scope="module")
def handlers(bot) -> WebHandlers:
    return WebHandlers(bot)


def library_answer(bot: Chatbot, entry: dict) -> dict:
    return bot.to_dict(bot.ask(entry["text"], party=party_filter(entry)))


# ---- the corpus itself -------------------------------------------------------------------------

def test_corpus_is_well_formed():
    assert len(CORPUS) >= 45
    assert len(set(IDS)) == len(IDS)
    for e in CORPUS:
        assert set(e) <= {"id", "q", "text", "expect", "why", "same_as", "parties", "party"}, e["id"]
        assert e["expect"] in EXPECTS and e["why"].strip(), e["id"]
    kinds = {e["expect"] for e in CORPUS}
    assert kinds == EXPECTS
    assert max(len(e["text"]) for e in CORPUS) >= 100_000
    assert any("\x00" in e["text"] for e in CORPUS)
    assert any(unicodedata.category(ch) == "Cs" for e in CORPUS for ch in e["text"])  # lone surrogates
    assert any(e["text"] != unicodedata.normalize("NFC", e["text"]) for e in CORPUS)


# ---- (a) the library ---------------------------------------------------------------------------

@pytest.mark.parametrize("entry", CORPUS, ids=IDS)
def test_library(bot, texts, entry):
    answer = bot.ask(entry["text"], party=party_filter(entry))
    data = bot.to_dict(answer)
    check_answer_dict(data, entry, texts)
    for hit in answer.hits:  # the object, not only its JSON
        assert texts[hit.passage.source][hit.passage.start:hit.passage.end] == hit.passage.text
    if "same_as" in entry:
        assert comparable(data) == comparable(bot.to_dict(bot.ask(entry["same_as"], party=party_filter(entry))))


def test_every_mode_and_k_survive_the_corpus(bot, texts):
    for entry in CORPUS:
        for mode in ("dense", "bm25"):
            for k in (1, 50):
                data = bot.to_dict(bot.ask(entry["text"], k=k, party=party_filter(entry), mode=mode))
                check_answer_dict(data, entry, texts)
                assert len(data["passages"]) <= k


def test_a_surrogate_pair_given_as_two_code_points_is_the_character(bot):
    answer = bot.ask("\ud83d\ude00 LAR")
    assert answer.question == "😀 LAR"
    assert comparable(bot.to_dict(answer)) == comparable(bot.to_dict(bot.ask("😀 LAR")))


def test_question_that_is_not_text(bot):
    from chatbot.errors import QuestionError

    for value in (None, 42, b"LAR", ["LAR"]):
        with pytest.raises(QuestionError, match="the question must be text"):
            bot.answerer.ask(value)


# ---- (b) the command line ----------------------------------------------------------------------

@pytest.mark.parametrize("entry", CORPUS, ids=IDS)
def test_cli_argument(fake_model, capsys, bot, texts, entry):
    argv = ["ask", "--json"]
    for name in party_filter(entry) or []:
        argv += ["--party", name]
    assert main(argv + ["--", entry["text"]]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    lines = captured.out.rstrip("\n").split("\n")  # JSON lines split at \n only (U+2028 may stand in a line)
    assert len(lines) == 1
    data = json.loads(lines[0])
    check_answer_dict(data, entry, texts)
    assert data == json.loads(json.dumps(library_answer(bot, entry), ensure_ascii=False))


def test_cli_plain_text_output(fake_model, capsys):
    for entry in CORPUS:
        argv = ["ask"] + [x for name in party_filter(entry) or [] for x in ("--party", name)]
        assert main(argv + ["--", entry["text"]]) == 0, entry["id"]
        out = capsys.readouterr().out
        out.encode("utf-8")  # printable as UTF-8
        assert out.strip(), entry["id"]


def test_cli_question_that_looks_like_an_option_is_a_usage_error(fake_model, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["ask", "-LAR"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments: -LAR" in err and "Traceback" not in err
    assert main(["ask", "--json", "--", "-LAR"]) == 0  # `--` lets a question start with a dash
    assert json.loads(capsys.readouterr().out)["question"] == "-LAR"


def _stdin_bytes() -> tuple[bytes, list[str]]:
    """The line-safe corpus plus raw bytes that are not UTF-8; and what each line decodes to."""
    raw = [e["text"].encode("utf-8", "surrogatepass") for e in LINE_SAFE]  # surrogates: bytes that are not UTF-8
    raw += [b"\xff\xfe LAR", b"caf\xe9 og LAR", b"\xc3\x28 Venstre LAR", b"\xed\xa0\x80 spr\xc3\xb8yterom",
            b"\xf4\x90\x80\x80", b"\xc0\xaf\xc0\xae", b"Hva vil Venstre med LAR? \xe2\x82"]
    data = b"\n".join(raw)  # the last line has no newline and ends in a cut multibyte character
    return data, [line.decode("utf-8", "replace") for line in raw]


def test_cli_stdin_json_lines_with_invalid_utf8(fake_model, capsys, monkeypatch, bot):
    data, decoded = _stdin_bytes()
    # a strict UTF-8 stdin, as in a UTF-8 locale: undecodable bytes must not stop the run
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="strict"))
    assert main(["ask", "--json"]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    lines = captured.out.rstrip("\n").split("\n")
    assert len(lines) == len(decoded)
    for line, question in zip(lines, decoded):
        got = json.loads(line)
        assert got == json.loads(json.dumps(bot.to_dict(bot.ask(question)), ensure_ascii=False)), question[:60]
        assert "\ufffd" in got["question"] or question == got["question"]


def test_cli_stdin_plain_output(fake_model, capsys, monkeypatch):
    data, decoded = _stdin_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="strict"))
    assert main(["ask"]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    blocks = captured.out.rstrip("\n").split("\n\n")
    assert len(blocks) >= len(decoded)  # one answer per line (an answer may hold blank lines between passages)


HELPER = textwrap.dedent("""
    # `chatbot` with the fake embedder and its thresholds (as the fake_model fixture does, in a subprocess)
    import sys
    sys.path.insert(0, {tests!r})
    from chatbot import service
    from chatbot.models import factory
    from chatbot.models.fake import FakeEmbedder
    from fakes import FAKE_DECISION

    factory.make_embedder = lambda model=None, **_: FakeEmbedder()
    original = service.Chatbot.open.__func__
    service.Chatbot.open = classmethod(lambda cls, **kw: original(cls, **{{"decision": FAKE_DECISION, **kw}}))
    from chatbot.cli import main
    sys.exit(main(sys.argv[1:]))
""")


@pytest.fixture()
def cli_helper(tmp_path, fake_index_dir):
    path = tmp_path / "fake_cli.py"
    path.write_text(HELPER.format(tests=str(ROOT / "tests")), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONIOENCODING", "LC_", "LANG"))}
    env["CHATBOT_INDEX"] = str(fake_index_dir)
    return path, env


@pytest.mark.parametrize("locale_env", [{"PYTHONIOENCODING": "utf-8", "LANG": "C.UTF-8"}, {"LC_ALL": "C"}],
                         ids=["utf8-strict", "c-locale"])
def test_cli_stdin_subprocess_with_invalid_bytes(cli_helper, locale_env):
    """Real pipes: a strict UTF-8 stdin, and a C locale (Python then decodes with surrogateescape)."""
    helper, env = cli_helper
    data, decoded = _stdin_bytes()
    run = subprocess.run([sys.executable, str(helper), "ask", "--json"], input=data, capture_output=True,
                         env={**env, **locale_env}, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr.decode("utf-8", "replace")
    assert b"Traceback" not in run.stderr
    out = run.stdout.decode("utf-8")  # strict: the output is valid UTF-8 whatever came in
    lines = out.rstrip("\n").split("\n")
    assert len(lines) == len(decoded)
    for line, question in zip(lines, decoded):
        assert json.loads(line)["question"] == question


def test_cli_argument_with_invalid_bytes_subprocess(cli_helper):
    helper, env = cli_helper
    run = subprocess.run([sys.executable, str(helper), "ask", "--json", b"\xff\xfe Hva vil Venstre med LAR?"],
                         capture_output=True, env={**env, "PYTHONIOENCODING": "utf-8"}, timeout=120, cwd=ROOT)
    assert run.returncode == 0 and b"Traceback" not in run.stderr, run.stderr
    data = json.loads(run.stdout.decode("utf-8"))
    assert data["question"] == "\ufffd\ufffd Hva vil Venstre med LAR?"
    assert data["answered"] is True and data["parties"] == ["Venstre"]
    run = subprocess.run([sys.executable, str(helper), "ask", "LAR", "--party", b"R\xf8dt"],
                         capture_output=True, env={**env, "PYTHONIOENCODING": "utf-8"}, timeout=120, cwd=ROOT)
    assert run.returncode == 0 and b"Traceback" not in run.stderr, run.stderr
    assert run.stdout.decode("utf-8").startswith("R\ufffddt finnes ikke i kildene")


def test_cli_output_closed_early_is_quiet(cli_helper):
    """`chatbot ask < questions | head -1`: no BrokenPipeError traceback."""
    helper, env = cli_helper
    script = f"yes 'Hva vil Venstre med LAR?' | head -400 | {sys.executable} {helper} ask | head -1"
    run = subprocess.run(["bash", "-c", script], capture_output=True, env=env, timeout=120, cwd=ROOT)
    assert run.stdout.decode().startswith("1. Venstre")
    assert b"Traceback" not in run.stderr and b"BrokenPipe" not in run.stderr, run.stderr


# ---- (c) the web page and the /ask endpoint ---------------------------------------------------

ALLOWED_TAGS = {"section", "div", "span", "p", "article", "header", "footer", "blockquote", "a", "button",
                "details", "summary", "mark", "h2", "h3", "strong"}
STYLE = re.compile(r"^(?:(?:background|--party):#[0-9a-fA-F]{6}|--cols:\d+)$")
STRAY_LT = re.compile(r"<(?!/?(?:%s)[\s>])" % "|".join(sorted(ALLOWED_TAGS)))


class PageParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.questions: list[str] = []
        self._in_question = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "span" and attrs.get("class") == "q-text":
            self._in_question = 1
            self.questions.append("")
        elif self._in_question:
            self._in_question += 1

    def handle_endtag(self, tag):
        if self._in_question:
            self._in_question -= 1

    def handle_data(self, data):
        if self._in_question:
            self.questions[-1] += data


# The page's citation downloads (CSV, CSL-JSON): data URLs whose payload is wholly percent-encoded.
DOWNLOAD_HREF = re.compile(r"data:(?:text/csv|application/vnd\.citationstyles\.csl\+json);charset=utf-8,"
                           r"(?:[A-Za-z0-9._~-]|%[0-9A-F]{2})*")


def check_html(html: str, question: str) -> None:
    """Only our own tags and attributes; the question shown as the text it is."""
    assert not STRAY_LT.search(html), STRAY_LT.search(html).group(0)
    parser = PageParser()
    parser.feed(html)
    parser.close()
    for tag, attrs in parser.tags:
        assert tag in ALLOWED_TAGS, tag
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            if name == "href":
                assert value.startswith(("?source=", "./")) or DOWNLOAD_HREF.fullmatch(value), value
            if name == "style":
                assert STYLE.match(value), value
    # the bubble shows the question as searched (cleaned, cut to length; a lone surrogate as U+FFFD)
    searched = cut_question(clean_question(valid_text(question)), AnswerSettings().max_question_chars)
    if not searched:  # nothing to search: the question as typed, else a placeholder
        question = valid_text(question)
        searched = question if question.strip() else "(tomt spørsmål)"
    assert parser.questions == [searched]


@pytest.mark.parametrize("entry", CORPUS, ids=IDS)
def test_web_handlers(handlers, bot, texts, entry):
    party = party_filter(entry)
    api = handlers.api_ask(entry["text"], 5, ",".join(party) if party else None, "hybrid")
    check_answer_dict(api, entry, texts)
    assert api == library_answer(bot, entry)
    check_html(handlers.chat_turn(entry["text"], None), entry["text"])
    check_html(handlers.chat_turn(entry["text"], ["Venstre"]), entry["text"])
    check_html(handlers.compare_turn(entry["text"], None), entry["text"])


def test_markup_in_questions_is_shown_as_text(handlers):
    from chatbot.web.cards import esc

    for key in ("html-script", "html-img-onerror", "html-break-out", "md-link", "md-image", "md-autolink"):
        question = BY_ID[key]["text"]
        for html in (handlers.chat_turn(question, None), handlers.compare_turn(question, None)):
            assert f'<span class="q-text">{esc(question)}</span>' in html, key
            rest = html.replace(esc(question), "")
            assert not re.search(r"<(script|img|svg|textarea)|javascript:|https://", rest, re.I), key
    html = handlers.chat_turn(BY_ID["html-entities"]["text"], None)
    assert "&amp;lt;b&amp;gt;LAR&amp;lt;/b&amp;gt;" in html  # entities typed by the user stay entities on screen


def test_page_handler_with_many_party_mentions(handlers, monkeypatch):
    """The page highlights terms of the question as the library uses it: cut to max_question_chars."""
    seen: list[int] = []
    from chatbot.parties import PartyDirectory

    original = PartyDirectory.find
    monkeypatch.setattr(PartyDirectory, "find", lambda self, q: seen.append(len(q)) or original(self, q))
    html = handlers.chat_turn("Venstre " * 3000, None)
    assert "Spørsmålet" in html
    assert seen and max(seen) <= handlers.bot.answerer.settings.max_question_chars


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(bot):
    from chatbot.web.server import launch

    demo, url = launch(bot, host="127.0.0.1", port=_free_port(), prevent_thread_lock=True, quiet=True)
    try:
        yield url
    finally:
        demo.close()


def call_ask(url: str, data: list) -> dict:
    """POST /gradio_api/call/ask as any HTTP client would, with JSON escapes (so lone surrogates too)."""
    body = json.dumps({"data": data}, ensure_ascii=True).encode("ascii")
    request = urllib.request.Request(url + "gradio_api/call/ask", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        event = json.loads(response.read())["event_id"]
    with urllib.request.urlopen(f"{url}gradio_api/call/ask/{event}", timeout=60) as response:
        stream = response.read().decode("utf-8")  # strict: the endpoint answers in valid UTF-8
    events = re.findall(r"^event: (\w+)\ndata: (.*)$", stream, re.M)
    assert events and events[-1][0] == "complete", stream[:500]
    return json.loads(events[-1][1])[0]


def test_served_endpoint_with_the_whole_corpus(served, handlers, texts):
    for entry in CORPUS:
        party = party_filter(entry)
        party_text = ",".join(party) if party else None
        got = call_ask(served, [entry["text"], 5, party_text, "hybrid"])
        check_answer_dict(got, entry, texts)
        assert got == json.loads(json.dumps(handlers.api_ask(entry["text"], 5, party_text, "hybrid"))), entry["id"]


def test_served_endpoint_odd_arguments(served):
    assert call_ask(served, [None, 5, None, "hybrid"])["notice"] == NOTICE_EMPTY
    assert call_ask(served, [["LAR"], 5, None, "hybrid"])["notice"] == NOTICE_EMPTY  # not text: treated as empty
    assert call_ask(served, ["LAR", "5", " , ", None])["answered"] is True
    assert call_ask(served, ["\ud83d\ude00 LAR", 5, None, "hybrid"])["question"] == "😀 LAR"  # a JSON pair is the emoji


# ---- the real model: a handful of the corpus --------------------------------------------------

REAL_MODEL_IDS = ["empty", "controls-only", "100k-words", "nul-inside", "ansi-coloured", "rlo-wrapped", "nfd-aa",
                  "nfkc-ligature", "fullwidth", "lone-high-surrogate", "surrogate-only", "html-script", "md-link",
                  "only-party", "only-parties", "all-missing-parties", "only-punctuation", "emoji-only",
                  "o-slash-lookalike", "filter-lone-surrogate"]


@pytest.fixture(scope="session")
def real_bot(tmp_path_factory) -> Chatbot:
    """The default model over the real sources, with an index of its own (the project's index copied when
    there is one, so unchanged passages are not embedded again; rebuilt if it does not fit)."""
    index_dir = tmp_path_factory.mktemp("real-index") / "index"
    index_dir.mkdir()
    try:
        current = (ROOT / "index" / "current").resolve(strict=True)
        shutil.copytree(current, index_dir / current.name)
        os.symlink(current.name, index_dir / "current")
    except OSError:
        pass  # no usable project index: Chatbot.open builds one
    return Chatbot.open(sources_dir=SOURCES, index_dir=index_dir, progress=None)


@pytest.mark.model
@pytest.mark.parametrize("key", REAL_MODEL_IDS)
def test_real_model(real_bot, texts, key):
    entry = BY_ID[key]
    data = library_answer(real_bot, entry)
    check_answer_dict(data, entry, texts)
    if "same_as" in entry:
        assert comparable(data) == comparable(real_bot.to_dict(real_bot.ask(entry["same_as"], party=party_filter(entry))))
    handlers = WebHandlers(real_bot)
    party = party_filter(entry)
    assert handlers.api_ask(entry["text"], 5, ",".join(party) if party else None) == data
    check_html(handlers.chat_turn(entry["text"], None), entry["text"])


@pytest.mark.model
def test_real_model_nfd_and_nfc_agree(real_bot):
    for question in ("Hva mener partiene om behandling på institusjon?", "Hvem vil ha brukerrom for sprøytebrukere?",
                     "Hva sier Venstre om rusavhengige i fengsel?"):
        nfc = real_bot.to_dict(real_bot.ask(question))
        nfd = real_bot.to_dict(real_bot.ask(unicodedata.normalize("NFD", question)))
        assert comparable(nfc) == comparable(nfd), question
