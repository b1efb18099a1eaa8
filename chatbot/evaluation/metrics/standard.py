"""The standard IR figures, computed by ir_measures from qrels and a run.

* qrels: for each answerable question, one qrel per passage of the index that hits at
  least one of its gold quotes (``relevance``); the grade is the number of distinct gold
  quotes the passage hits, so nDCG@10 rewards passages covering several quotes (and its
  ideal ranking is taken over the whole index). Success and RR count any grade >= 1.
* run: the passages each answer showed, with score ``1 / rank`` (strictly decreasing, so
  ir_measures keeps the chatbot's order). A declined question has no run entries.

Which figure is which ir_measures measure is declared in ``measures`` (success@1 is ``Success@1``, ...).
Every answerable question gets a value (0 when ir_measures leaves it out, e.g. declined).
"""

from __future__ import annotations

from typing import Iterable, Iterator

from ..measures import standard_measures
from ..records import Outcome, PerQuery


def measure_names(k: int) -> dict[str, str]:
    """Our figure name -> ir_measures measure string (as the registry, ``measures``, declares them)."""
    return standard_measures(k)


def qrels(judgements: dict[str, dict[str, frozenset[int]]]) -> list:
    """``{question id: {passage id: gold indices hit}}`` -> ir_measures Qrels, graded by quotes hit."""
    import ir_measures

    return [ir_measures.Qrel(qid, doc_id, len(found))
            for qid, docs in judgements.items() for doc_id, found in docs.items() if found]


def run(outcomes: Iterable[Outcome]) -> list:
    """The answers as an ir_measures run: score 1/rank."""
    import ir_measures

    return [ir_measures.ScoredDoc(o.question.id, r.doc_id, 1.0 / r.rank)
            for o in outcomes for r in o.returned]


def iter_calc(outcomes: Iterable[Outcome], qrels_: list, k: int) -> Iterator[PerQuery]:
    """Per-question values of the four standard figures over the answerable questions."""
    import ir_measures

    outcomes = [o for o in outcomes if o.question.answerable]
    names = measure_names(k)
    by_measure = {ir_measures.parse_measure(m): ours for ours, m in names.items()}
    ids = {o.question.id for o in outcomes}
    wanted_qrels = [q for q in qrels_ if q.query_id in ids]
    got: dict[tuple[str, str], float] = {}
    if wanted_qrels:
        for metric in ir_measures.iter_calc(list(by_measure), wanted_qrels, run(outcomes)):
            got[(metric.query_id, by_measure[metric.measure])] = float(metric.value)
    for ours in names:
        for o in outcomes:
            yield PerQuery(o.question.id, ours, got.get((o.question.id, ours), 0.0))
