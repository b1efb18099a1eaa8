"""Load and validate the evaluation questions (JSON Lines, one question per line).

Each line: ``{"q", "gold": [{"party", "quote"}]}``, and optionally ``id`` (default
``line-N``), ``lang`` (default: detected), ``party``, ``answerable`` (default: gold is not
empty), ``category`` and ``split`` (default ``test``). A bad line raises ``QuestionsFileError`` naming the file and line.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ChatbotError
from .jsonl import json_object, numbered_lines, read_text, where
from .records import GoldQuote, Question

SPLITS = ("dev", "test")


class QuestionsFileError(ChatbotError):
    """The questions file is missing, unreadable or has an invalid line."""


def load_questions(path: Path) -> list[Question]:
    """Every question in ``path``; blank lines are skipped."""
    path = Path(path)
    raw = read_text(path, QuestionsFileError, "questions file", "; pass --questions FILE")
    out: list[Question] = []
    seen: dict[str, int] = {}
    for n, line in numbered_lines(raw):
        q = parse_line(line, n, path)
        if q.id in seen:
            raise QuestionsFileError(f"{path} line {n}: id {q.id!r} is already used on line {seen[q.id]}")
        seen[q.id] = n
        out.append(q)
    if not out:
        raise QuestionsFileError(f"questions file {path} holds no questions")
    return out


def parse_line(line: str, n: int, path: Path | str = "<questions>") -> Question:
    def bad(msg: str) -> QuestionsFileError:
        return QuestionsFileError(f"{where(path, n)}: {msg}")

    obj = json_object(line, n, path, QuestionsFileError)
    if not isinstance(obj.get("q"), str) or not obj["q"].strip():
        raise bad("missing field 'q' (the question, non-empty text)" if "q" not in obj else "field 'q' must be non-empty text")
    if "gold" not in obj:
        raise bad("missing field 'gold' (a list of {party, quote}; [] when the sources cannot answer)")
    defaults = {"id": f"line-{n}", "category": "unspecified", "split": "test"}
    for key in ("id", "lang", "category", "split"):
        if key in obj and (not isinstance(obj[key], str) or not obj[key].strip()):
            raise bad(f"field {key!r} must be non-empty text")
    fields = {key: obj.get(key, defaults.get(key)) for key in ("id", "category", "split")}
    if fields["split"] not in SPLITS:
        raise bad(f"split {fields['split']!r} is not one of {', '.join(SPLITS)}")
    lang = obj.get("lang")
    if lang is None:
        from ..querylang import detect_language

        lang = detect_language(obj["q"])
    party = obj.get("party")
    if party is not None and (not isinstance(party, str) or not party.strip()):
        raise bad("field 'party' must be null or non-empty text")
    if "answerable" in obj and not isinstance(obj["answerable"], bool):
        raise bad("field 'answerable' must be true or false")
    gold_raw = obj.get("gold")
    if not isinstance(gold_raw, list):
        raise bad("field 'gold' must be a list of {party, quote} objects")
    gold: list[GoldQuote] = []
    for i, g in enumerate(gold_raw, 1):
        if (not isinstance(g, dict) or not isinstance(g.get("party"), str) or not isinstance(g.get("quote"), str)
                or not g["party"].strip() or not g["quote"].strip()):
            raise bad(f"gold quote {i} must be an object with non-empty text 'party' and 'quote'")
        quote = GoldQuote(g["party"], g["quote"])
        if quote in gold:
            raise bad(f"gold quote {i} repeats an earlier one")
        gold.append(quote)
    answerable = obj.get("answerable", bool(gold))
    if answerable and not gold:
        raise bad("an answerable question needs at least one gold quote")
    if not answerable and gold:
        raise bad("an unanswerable question cannot have gold quotes")
    return Question(id=fields["id"], q=obj["q"], lang=lang, category=fields["category"], party=party,
                    gold=tuple(gold), answerable=answerable, split=fields["split"], line=n)


def select_split(questions: list[Question], split: str) -> list[Question]:
    """``split`` is "all", "dev" or "test"."""
    return list(questions) if split == "all" else [q for q in questions if q.split == split]
