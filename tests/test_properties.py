"""Property-based tests (hypothesis) of ``ask`` with the fake embedder: any text, any party filter.

For every input: no exception but the documented QuestionError for a bad k or mode; answered exactly
when there are passages; every passage an exact quote ``source[start:end]``; ranks 1..n; the JSON
object serialisable (as UTF-8, too); the notice None or a non-empty text; with a party filter, no
passage from another party; the question as searched (cleaned, cut, said so); byte offsets and
quote selectors that match the file. And normalisation: NFC, NFD and NFKC spellings get the same answer.
"""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chatbot.answer import MODES, NOTICE_EMPTY
from chatbot.models.fake import FakeEmbedder
from chatbot.errors import QuestionError
from chatbot.service import Chatbot
from chatbot.textnorm import clean_question, valid_text
from conftest import SOURCES
from fakes import FAKE_DECISION

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Pieces that make the text interesting for this corpus: real keywords, party names, odd characters.
FRAGMENTS = ["LAR", "sprøyterom", "heroinassistert behandling", "rusavhengige", "Venstre", "Helsepartiet",
             "Høyre", "FrP", "venstre", "Arbeiderpartiet", "Hva mener ", "What does ", "?", " ", "\n", "\x00",
             "\u200b", "\u202e", "\ufeff", "\x1b[31m", "\ufb01", "a\u030a", "o\u0338", "\ud800", "\udfff",
             "\U0001F600", "<script>", "[x](javascript:1)", "'; --", "Ｖｅｎｓｔｒｅ", "\u00ad", "\x85", "\u2028"]
ANY_CHAR = st.one_of(
    st.characters(),  # every code point but surrogates
    st.characters(categories=["Cs", "Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Co"]),  # surrogates, controls, invisibles
)
TEXT = st.one_of(
    st.text(ANY_CHAR, max_size=300),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(ANY_CHAR, max_size=8)), max_size=30).map("".join),
)
HUGE = st.builds(lambda piece, times: piece * times,
                 st.one_of(st.sampled_from(FRAGMENTS), st.text(ANY_CHAR, min_size=1, max_size=12)),
                 st.integers(100, 20_000))
QUESTIONS = st.one_of(TEXT, TEXT, TEXT, HUGE)


@pytest.fixture(scope="module")
def bot(fake_index_dir) -> Chatbot:
    return Chatbot.open(sources_dir=SOURCES, index_dir=fake_index_dir, embedder=FakeEmbedder(),
                        decision=FAKE_DECISION, rebuild=False, progress=None)


@pytest.fixture(scope="module")
def texts(bot) -> dict[str, str]:
    return {d.source: bot.catalog.text(d.source) for d in bot.catalog.documents}


def parties_strategy(available: tuple[str, ...]):
    return st.one_of(
        st.none(),
        st.sampled_from(available),
        st.lists(st.sampled_from(available + tuple(p.upper() for p in available) + tuple(p.lower() for p in available)),
                 min_size=1, max_size=3),
        st.lists(st.one_of(st.sampled_from(["Høyre", "Rødt", "", "  ", "V", "H"]), TEXT), min_size=1, max_size=3),
    )


def check(bot: Chatbot, texts: dict[str, str], question: str, answer, party) -> dict:
    assert answer.answered == bool(answer.hits)
    assert answer.notice is None or (isinstance(answer.notice, str) and answer.notice.strip())
    if not answer.answered:
        assert answer.notice
    assert [h.rank for h in answer.hits] == list(range(1, len(answer.hits) + 1))
    for hit in answer.hits:
        p = hit.passage
        assert texts[p.source][p.start:p.end] == p.text
    assert answer.question == valid_text(question)
    data = bot.to_dict(answer)
    json.dumps(data)
    json.dumps(data, ensure_ascii=False).encode("utf-8")  # strict: no lone surrogates anywhere
    resolved = bot.resolve_parties(party)
    if resolved:
        assert {h.passage.party for h in answer.hits} <= set(resolved)
    # the question as searched: cleaned, cut to the limit, and said so
    cleaned, limit = clean_question(valid_text(question)), bot.answerer.settings.max_question_chars
    assert data["truncated"] == (len(cleaned) > limit)
    assert data["searched"] == cleaned[:len(data["searched"])] and len(data["searched"]) <= limit
    if data["truncated"]:
        assert f" {len(data['searched'])} " in data["notice"]
    assert data["language"] in ("nb", "nn", "en")
    # citation fields: the file's bytes and text around every passage
    for p in data["passages"]:
        raw = (SOURCES / p["source"]).read_bytes()
        text = texts[p["source"]]
        assert raw[p["byte_start"]:p["byte_end"]].decode("utf-8") == p["text"] == p["selector"]["exact"]
        assert text[:p["start"]].endswith(p["selector"]["prefix"]) and text[p["end"]:].startswith(p["selector"]["suffix"])
    return data


@FAST
@given(data=st.data(), question=QUESTIONS, k=st.integers(1, 50), mode=st.sampled_from(MODES))
@example(data=None, question="", k=5, mode="hybrid")
@example(data=None, question="\ud800" * 3000, k=1, mode="dense")
@example(data=None, question="Venstre " * 1000, k=50, mode="bm25")
def test_ask_never_raises(bot, texts, data, question, k, mode):
    party = data.draw(parties_strategy(bot.answerer.available_parties)) if data is not None else None
    answer = bot.ask(question, k=k, party=party, mode=mode)
    check(bot, texts, question, answer, party)
    assert len(answer.hits) <= k
    assert answer.mode == mode
    if not clean_question(question):
        assert answer.notice == NOTICE_EMPTY


@FAST
@given(question=QUESTIONS, k=st.one_of(st.integers(max_value=0), st.integers(min_value=51), st.floats(), st.text(max_size=3),
                                       st.none()),
       mode=st.sampled_from(MODES))
def test_bad_k_is_a_question_error(bot, question, k, mode):
    with pytest.raises(QuestionError, match="k must be a whole number from 1 to 50"):
        bot.ask(question, k=k, mode=mode)


@FAST
@given(question=QUESTIONS, mode=st.text(max_size=10).filter(lambda m: m not in MODES))
def test_unknown_mode_is_a_question_error(bot, question, mode):
    with pytest.raises(QuestionError, match="unknown mode"):
        bot.ask(question, mode=mode)


def key(bot: Chatbot, answer) -> dict:
    return {k: v for k, v in bot.to_dict(answer).items() if k != "question"}


@FEW
@given(question=TEXT, mode=st.sampled_from(MODES))
def test_nfc_nfd_and_nfkc_spellings_get_the_same_answer(bot, question, mode):
    question = valid_text(question)
    nfc = key(bot, bot.ask(unicodedata.normalize("NFC", question), mode=mode))
    for form in ("NFD", "NFKC", "NFKD"):
        assert key(bot, bot.ask(unicodedata.normalize(form, question), mode=mode)) == nfc, form


@FEW
@given(base=st.sampled_from(["Hva vil Venstre med LAR?", "Hva mener Helsepartiet om sprøyterom?", "heroinassistert behandling",
                             "Hvem vil avkriminalisere bruk av narkotika?", "Venstre", "Høyre og LAR"]),
       invisible=st.lists(st.tuples(st.integers(0, 60), st.sampled_from(["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff",
                                                                           "\u00ad", "\u202e", "\u2066", "\u200f"])),
                          max_size=6),
       mode=st.sampled_from(MODES))
def test_invisible_characters_change_nothing(bot, base, invisible, mode):
    question = base
    for position, char in invisible:
        position = min(position, len(question))
        question = question[:position] + char + question[position:]
    assert key(bot, bot.ask(question, mode=mode)) == key(bot, bot.ask(base, mode=mode))


@FAST
@given(text=QUESTIONS)
def test_clean_question(text):
    cleaned = clean_question(text)
    assert clean_question(cleaned) == cleaned  # idempotent
    cleaned.encode("utf-8")  # no lone surrogates
    assert cleaned == cleaned.strip() and "  " not in cleaned
    assert unicodedata.is_normalized("NFKC", cleaned)
    assert not any(unicodedata.category(ch) == "Cc" for ch in cleaned)
    assert not any(ch in cleaned for ch in "\u200b\u200e\u200f\u202a\u202e\u2066\u2069\ufeff\u00ad\x1b")


@FAST
@given(text=st.text(ANY_CHAR, max_size=200))
def test_valid_text(text):
    out = valid_text(text)
    out.encode("utf-8")
    assert len(out) <= len(text)
    try:
        text.encode("utf-8")
        assert out == text  # valid text is left alone
    except UnicodeEncodeError:
        assert "\ufffd" in out or len(out) < len(text)  # a lone surrogate replaced, or a pair joined


@FEW
@given(question=TEXT)
def test_library_and_api_agree(bot, question, web):
    """The same question through the library and the /ask handler gives the same JSON object."""
    assert web.api_ask(question) == bot.to_dict(bot.ask(question))


@pytest.fixture(scope="module")
def web(bot):
    from chatbot.web.webui import WebHandlers

    return WebHandlers(bot)
