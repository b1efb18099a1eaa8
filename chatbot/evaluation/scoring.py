"""The figures of an evaluation run, as pure functions of its outcomes: which figures there are,
their per-question values (ir_measures for the standard ones, ``metrics/`` for ours), their means
overall and per language, category and split, and the floors the command line can set on them.

Nothing here runs the chatbot; ``runner``, ``crosscorpus`` and ``conversations`` all score through it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import measures, metrics
from .figures import Figures
from .metrics import standard
from .records import Outcome, PerQuery

GROUPS = (("by_lang", "lang"), ("by_category", "category"), ("by_split", "split"))


def per_query_values(outcomes: list[Outcome], judgements: dict[str, dict[str, frozenset[int]]],
                     k: int) -> list[PerQuery]:
    """Every figure for every question it applies to: ir_measures for the standard ones."""
    values = list(standard.iter_calc(outcomes, standard.qrels(judgements), k))
    values.extend(metrics.iter_calc(measures.hand_measures(k), outcomes))
    return values


def aggregate(outcomes: list[Outcome], per_query: list[PerQuery], k: int) -> Figures:
    """Means over a set of questions, with their counts."""
    return Figures(metrics.calc_aggregate(measures.names(k), outcomes, per_query),
                   {count.name: sum(1 for o in outcomes if count.counts(o)) for count in measures.COUNTS})


def figures(outcomes: list[Outcome], per_query: list[PerQuery], k: int) -> Figures:
    """Overall figures plus the same per language, per category and per split."""
    overall = aggregate(outcomes, per_query, k)
    groups = {}
    for key, attr in GROUPS:
        found: dict[str, list[Outcome]] = {}
        for o in outcomes:
            found.setdefault(getattr(o.question, attr), []).append(o)
        groups[key] = {name: aggregate(group, per_query, k) for name, group in _ordered(found, attr)}
    return Figures(overall.means, overall.counts, groups)


def _ordered(groups: dict, attr: str):
    preferred = {"lang": ("no", "en"), "split": ("dev", "test")}.get(attr, ())
    keys = [g for g in preferred if g in groups] + [g for g in groups if g not in preferred]
    return [(g, groups[g]) for g in keys]


def check_floors(figs: Mapping[str, Any], floors: dict[str, float], k: int,
                 declared: tuple[measures.Floor, ...] = measures.FLOORS) -> list[str]:
    """Each floor the figures miss, as 'figure value < floor (--option)'. ``figs``: a ``Figures``, the
    collections' mean (crosscorpus) or a conversation ``Summary``, read by figure name; ``floors``: the
    value of each floor set, by its dest (``EvalOptions.floors``); ``declared``: the floors to check,
    a floor of a group reading ``figs[group]``."""
    failed = []
    for f in declared:
        floor = floors.get(f.dest)
        if floor is None:
            continue
        source = figs if f.group is None else figs.get(f.group, {})
        message = floor_failure(f.label(k), source.get(f.figure.name(k)), f.kind, f.option, floor)
        if message:
            failed.append(message)
    return failed


def floor_failure(label: str, value, kind: str, option: str, floor: float) -> str | None:
    """Why ``value`` misses a floor ("min") or ceiling ("max"), or None when it holds."""
    if value is None:
        return f"{label} is undefined (no questions it applies to) but {option} {floor:g} is set"
    if kind == "min" and value < floor:
        return f"{label} {value:.3f} is below the floor {option} {floor:g}"
    if kind == "max" and value > floor:
        return f"{label} {value:.3f} is above the ceiling {option} {floor:g}"
    return None
