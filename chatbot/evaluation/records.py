"""Typed records of the evaluation: questions, judged passages, outcomes and per-question values."""

from __future__ import annotations

from typing import NamedTuple


class GoldQuote(NamedTuple):
    """A passage of a party's programme that answers the question (an exact quote)."""

    party: str
    quote: str


class Question(NamedTuple):
    """One line of eval/questions.jsonl."""

    id: str
    q: str
    lang: str
    category: str
    party: str | None  # the party the question asks about, if any
    gold: tuple[GoldQuote, ...]
    answerable: bool
    split: str  # "dev" or "test" (held out)
    line: int = 0  # line number in the questions file


class Returned(NamedTuple):
    """One passage an answer showed, judged against the question's gold quotes."""

    rank: int  # 1-based
    doc_id: str  # the passage id
    party: str
    text: str
    gold_hits: frozenset[int]  # indices into Question.gold of the quotes this passage hits
    score: float
    dense: float | None = None
    bm25: float | None = None

    @property
    def relevant(self) -> bool:
        return bool(self.gold_hits)


class Outcome(NamedTuple):
    """What the chatbot did with one question."""

    question: Question
    answered: bool
    returned: tuple[Returned, ...] = ()
    ms: float = 0.0  # time taken to answer


class PerQuery(NamedTuple):
    """One figure for one question (cf. ``ir_measures.Metric``)."""

    query_id: str
    measure: str
    value: float
