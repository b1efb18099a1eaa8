"""Sanity checks for the evaluation question set eval/questions.jsonl.

Fast, no model: validates structure and that every gold quote is an exact,
single-line substring of the party's programme text (outside the heading and
website chrome of the scraped pages).
"""
import json
import pathlib
import re
from collections import Counter

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
QUESTIONS = ROOT / "eval" / "questions.jsonl"

SOURCE_FILES = {
    "Venstre": ROOT / "sources" / "venstre-rusomsorg.txt",
    "Helsepartiet": ROOT / "sources" / "helsepartiet-rusomsorg.txt",
}
# Number of non-empty heading lines at the top of each file that are title /
# metadata rather than programme text. Helsepartiet: "Rusomsorg", "Rusomsorg",
# "Bedre behandling og oppfølging av mennesker med rusproblemer".
# Venstre: the title line "Tema Rusomsorg som tar mennesker på alvor".
HEADING_LINES = {"Venstre": 1, "Helsepartiet": 3}
# Everything from here on in the Helsepartiet file is website chrome.
CHROME_MARKER = "Fra Helsepartiets prinsipprogram"

REQUIRED = {
    "id": str,
    "q": str,
    "lang": str,
    "category": str,
    "gold": list,
    "answerable": bool,
    "split": str,
}
LANGS = {"no", "en"}
SPLITS = {"dev", "test"}
CATEGORIES = {"single-party", "both-parties", "paraphrase", "keyword", "no-diacritics", "unanswerable"}
ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Quotes should be short-ish but specific; the one very short exception is the
# Helsepartiet bullet "Styrke ettervernet." (19 chars), which is a whole line.
MIN_QUOTE, MAX_QUOTE = 15, 200


def _heading_end(text: str, n_lines: int) -> int:
    """Offset just after the n-th non-empty line."""
    pos, seen = 0, 0
    for line in text.splitlines(keepends=True):
        pos += len(line)
        if line.strip():
            seen += 1
            if seen == n_lines:
                return pos
    raise AssertionError("source shorter than its heading")


def _load_sources():
    out = {}
    for party, path in SOURCE_FILES.items():
        text = path.read_text(encoding="utf-8")
        start = _heading_end(text, HEADING_LINES[party])
        end = text.find(CHROME_MARKER)
        if end < 0:
            end = len(text)
        out[party] = (text, start, end)
    return out


SOURCES = _load_sources()


def _load_lines():
    raw = QUESTIONS.read_text(encoding="utf-8").splitlines()
    return [(i + 1, line) for i, line in enumerate(raw) if line.strip()]


LINES = _load_lines()


def _parse_all():
    return [json.loads(line) for _, line in LINES]


def test_every_line_is_valid_json_object():
    for n, line in LINES:
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:  # pragma: no cover - failure path
            pytest.fail(f"line {n}: invalid JSON: {e}")
        assert isinstance(obj, dict), f"line {n}: not a JSON object"


QS = _parse_all()


def test_required_keys_and_types():
    for q in QS:
        for key, typ in REQUIRED.items():
            assert key in q, f"{q.get('id')}: missing key {key!r}"
            assert isinstance(q[key], typ), f"{q.get('id')}: {key} should be {typ.__name__}"
        assert "party" in q, f"{q['id']}: missing key 'party'"
        assert q["party"] is None or (isinstance(q["party"], str) and q["party"].strip()), q["id"]
        assert q["q"].strip(), f"{q['id']}: empty question"
        for g in q["gold"]:
            assert isinstance(g, dict) and set(g) >= {"party", "quote"}, q["id"]
            assert isinstance(g["party"], str) and isinstance(g["quote"], str), q["id"]


def test_ids_unique_and_kebab():
    ids = [q["id"] for q in QS]
    dupes = [i for i, c in Counter(ids).items() if c > 1]
    assert not dupes, f"duplicate ids: {dupes}"
    bad = [i for i in ids if not ID_RE.match(i)]
    assert not bad, f"ids not lower-case kebab: {bad}"


def test_question_texts_unique():
    texts = Counter(q["q"].strip().lower() for q in QS)
    dupes = [t for t, c in texts.items() if c > 1]
    assert not dupes, f"duplicate questions: {dupes}"


def test_enums():
    for q in QS:
        assert q["lang"] in LANGS, f"{q['id']}: lang {q['lang']!r}"
        assert q["split"] in SPLITS, f"{q['id']}: split {q['split']!r}"
        assert q["category"] in CATEGORIES, f"{q['id']}: category {q['category']!r}"


def test_answerable_iff_gold_and_category():
    for q in QS:
        assert q["answerable"] == bool(q["gold"]), f"{q['id']}: answerable must equal gold non-empty"
        assert (q["category"] == "unanswerable") == (not q["answerable"]), (
            f"{q['id']}: category 'unanswerable' must match answerable=false"
        )


def test_gold_quotes_are_exact_programme_substrings():
    for q in QS:
        for g in q["gold"]:
            party, quote = g["party"], g["quote"]
            assert party in SOURCES, f"{q['id']}: unknown gold party {party!r}"
            text, start, end = SOURCES[party]
            assert "\n" not in quote and "\r" not in quote, f"{q['id']}: quote spans a line break"
            assert MIN_QUOTE <= len(quote) <= MAX_QUOTE, f"{q['id']}: quote length {len(quote)}: {quote!r}"
            assert quote == quote.strip(), f"{q['id']}: quote has leading/trailing whitespace"
            idx = text.find(quote)
            assert idx >= 0, f"{q['id']}: quote not found in {party} source: {quote!r}"
            # at least one occurrence must lie inside the programme body
            ok = False
            while idx >= 0:
                if idx >= start and idx + len(quote) <= end:
                    ok = True
                    break
                idx = text.find(quote, idx + 1)
            assert ok, f"{q['id']}: quote lies in heading/chrome of {party}: {quote!r}"


def test_no_duplicate_gold_within_question():
    for q in QS:
        keys = [(g["party"], g["quote"]) for g in q["gold"]]
        assert len(keys) == len(set(keys)), f"{q['id']}: duplicate gold quote"


def test_party_restricts_gold():
    for q in QS:
        if q["party"] in SOURCE_FILES:
            wrong = [g for g in q["gold"] if g["party"] != q["party"]]
            assert not wrong, f"{q['id']}: party {q['party']} but gold from {wrong}"


def test_counts():
    assert len(QS) >= 90, f"only {len(QS)} questions"
    unans = sum(1 for q in QS if not q["answerable"])
    assert unans >= 16, f"only {unans} unanswerable"
    langs = Counter(q["lang"] for q in QS)
    for lang in LANGS:
        assert langs[lang] >= 35, f"only {langs[lang]} questions in {lang!r}"


def test_split_balance():
    splits = Counter(q["split"] for q in QS)
    dev_share = splits["dev"] / len(QS)
    assert 0.3 <= dev_share <= 0.5, f"dev share {dev_share:.2f} far from ~40 %"
    for split in SPLITS:
        assert any(not q["answerable"] and q["split"] == split for q in QS), (
            f"no unanswerable questions in {split!r}"
        )
