"""The figures of an evaluation run, as pure functions of its outcomes: which figures there are,
their per-question values (ir_measures for the standard ones, ``metrics/`` for ours), their means
overall and per language, category and split, and the floors the command line can set on them.

Nothing here runs the chatbot; ``runner``, ``crosscorpus`` and ``conversations`` all score through it.
"""

from __future__ import annotations

from . import metrics
from .metrics import standard
from .records import Outcome, PerQuery

MRR_DEPTH = 10
SUCCESS_CHARS = 400
GROUPS = (("by_lang", "lang"), ("by_category", "category"), ("by_split", "split"))

# (argparse attribute, figure name with {k}, "min" or "max", option as typed)
FLOORS = (
    ("min_success1", "success@1", "min", "--min-success1"),
    ("min_mrr", "mrr@10", "min", "--min-mrr"),
    ("min_ndcg", "ndcg@10", "min", "--min-ndcg"),
    ("min_recall", "recall@{k}", "min", "--min-recall"),
    ("min_gold_recall", "gold_recall@{k}", "min", "--min-gold-recall"),
    ("min_success400", "success@400chars", "min", "--min-success400"),
    ("min_party1", "party@1", "min", "--min-party1"),
    ("min_abstention", "abstention", "min", "--min-abstention"),
    ("max_false_abstention", "false_abstention", "max", "--max-false-abstention"),
)


def figure_names(k: int) -> list[str]:
    return ["success@1", "mrr@10", "ndcg@10", f"recall@{k}", f"gold_recall@{k}", f"success@{SUCCESS_CHARS}chars",
            "party@1", "abstention", "false_abstention"]


COUNT_NAMES = ("n_questions", "n_answerable", "n_unanswerable", "n_party")


def hand_measures(k: int) -> list:
    return [metrics.GoldRecall(k), metrics.SuccessWithinChars(SUCCESS_CHARS, k), metrics.PartyAt1(),
            metrics.Abstention(), metrics.FalseAbstention()]


def per_query_values(outcomes: list[Outcome], judgements: dict[str, dict[str, frozenset[int]]],
                     k: int) -> list[PerQuery]:
    """Every figure for every question it applies to: ir_measures for the standard ones."""
    values = list(standard.iter_calc(outcomes, standard.qrels(judgements), k))
    values.extend(metrics.iter_calc(hand_measures(k), outcomes))
    return values


def aggregate(outcomes: list[Outcome], per_query: list[PerQuery], k: int) -> dict:
    """Means over a set of questions, with their counts."""
    ids = {o.question.id for o in outcomes}
    per: dict[str, list[float]] = {name: [] for name in figure_names(k)}
    for pq in per_query:
        if pq.query_id in ids:
            per[pq.measure].append(pq.value)
    out: dict = {name: metrics.mean(vals) for name, vals in per.items()}
    out["n_questions"] = len(outcomes)
    out["n_answerable"] = sum(1 for o in outcomes if o.question.answerable)
    out["n_unanswerable"] = sum(1 for o in outcomes if not o.question.answerable)
    out["n_party"] = sum(1 for o in outcomes if o.question.answerable and o.question.party is not None)
    return out


def figures(outcomes: list[Outcome], per_query: list[PerQuery], k: int) -> dict:
    """Overall figures plus the same keys per language, per category and per split."""
    out = aggregate(outcomes, per_query, k)
    for key, attr in GROUPS:
        groups: dict[str, list[Outcome]] = {}
        for o in outcomes:
            groups.setdefault(getattr(o.question, attr), []).append(o)
        out[key] = {name: aggregate(group, per_query, k) for name, group in _ordered(groups, attr)}
    return out


def _ordered(groups: dict, attr: str):
    preferred = {"lang": ("no", "en"), "split": ("dev", "test")}.get(attr, ())
    keys = [g for g in preferred if g in groups] + [g for g in groups if g not in preferred]
    return [(g, groups[g]) for g in keys]


def check_floors(figs: dict, args, k: int) -> list[str]:
    """Each floor the figures miss, as 'figure value < floor (--option)'."""
    failed = []
    for attr, name, kind, option in FLOORS:
        floor = getattr(args, attr, None)
        if floor is None:
            continue
        name = name.format(k=k)
        message = floor_failure(name, figs.get(name), kind, option, floor)
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
