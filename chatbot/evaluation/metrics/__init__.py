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
from .shown_precision import ShownPrecision
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


def calc_aggregate(measures: Iterable[Measure | str], outcomes: Iterable[Outcome],
                   values: Iterable[PerQuery] | None = None) -> dict[str, float | None]:
    """Mean of each measure over the questions of ``outcomes`` it applies to, in the order given.

    ``values``: per-question values already computed (e.g. by ir_measures, for measures named by a
    string), of which those of ``outcomes``' questions count; default: computed here by ``iter_calc``.
    """
    measures = list(measures)
    outcomes = list(outcomes)
    if values is None:
        values = iter_calc(measures, outcomes)
    else:
        ids = {o.question.id for o in outcomes}
        values = (pq for pq in values if pq.query_id in ids)
    per: dict[str, list[float]] = {m if isinstance(m, str) else m.name: [] for m in measures}
    for pq in values:
        per[pq.measure].append(pq.value)
    return {name: mean(vals) for name, vals in per.items()}


__all__ = ["Abstention", "FalseAbstention", "GoldRecall", "PartyAt1", "ShownPrecision", "SuccessWithinChars", "Measure",
           "iter_calc", "calc_aggregate", "mean"]
