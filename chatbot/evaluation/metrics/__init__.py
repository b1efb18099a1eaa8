"""Figures over outcomes, in the style of ir_measures: a measure is a small NamedTuple with a
``name``, the questions it ``applies`` to and a per-question ``value``.

The standard IR figures (success@1, MRR@10, nDCG@10, recall@k) come from ir_measures
(``standard``); the ones here are those ir_measures has no notion of.
"""

from __future__ import annotations

from typing import Iterable, Iterator, Protocol

from ..records import Outcome, PerQuery
from .abstention import Abstention, FalseAbstention
from .gold_recall import GoldRecall
from .party_at1 import PartyAt1
from .success_chars import SuccessWithinChars


class Measure(Protocol):
    @property
    def name(self) -> str: ...

    def applies(self, outcome: Outcome) -> bool: ...

    def value(self, outcome: Outcome) -> float: ...


def iter_calc(measures: Iterable[Measure], outcomes: Iterable[Outcome]) -> Iterator[PerQuery]:
    """One PerQuery for every (measure, question) the measure applies to."""
    outcomes = list(outcomes)
    for m in measures:
        for o in outcomes:
            if m.applies(o):
                yield PerQuery(o.question.id, m.name, float(m.value(o)))


def mean(values: Iterable[float]) -> float | None:
    """Arithmetic mean; None when there are no values (the figure is undefined)."""
    values = list(values)
    return sum(values) / len(values) if values else None


def calc_aggregate(measures: Iterable[Measure], outcomes: Iterable[Outcome]) -> dict[str, float | None]:
    """Mean of each measure over the questions it applies to."""
    measures = list(measures)
    per: dict[str, list[float]] = {m.name: [] for m in measures}
    for pq in iter_calc(measures, outcomes):
        per[pq.measure].append(pq.value)
    return {name: mean(vals) for name, vals in per.items()}


__all__ = ["Abstention", "FalseAbstention", "GoldRecall", "PartyAt1", "SuccessWithinChars", "Measure",
           "iter_calc", "calc_aggregate", "mean"]
