"""Calibration of the abstention thresholds on the dev questions.

For each question, ``best_scores`` records the best dense cosine and the best BM25 score
among the passages the answerer would search (party restriction applied) BEFORE any
threshold, following ``Answerer.ask`` step by step; questions the answerer declines before
retrieving anything (empty, only a party name, only parties missing from the sources) are
marked as such: no threshold changes them.

``sweep`` then says, for candidate thresholds t of ``min_dense`` (or ``min_bm25`` in bm25
mode), which share of unanswerable questions would be declined (abstention) and which share
of answerable ones (false abstention), taking a question as answered when its best score is
at least t. ``choose`` picks the threshold maximising abstention − false abstention with
false abstention ≤ 0.03. (In dense/hybrid mode the answerer also needs the best cosine to
reach ``passage_floor``; the sweep assumes passage_floor ≤ min_dense.)
"""

from __future__ import annotations

import json
import math
from typing import NamedTuple

from .records import Question

MAX_FALSE_ABSTENTION = 0.03
STEPS = {"score": 0.005, "dense": 0.005, "bm25": 0.25}
FIELDS = {"hybrid": ("score", "min_score"), "dense": ("dense", "min_dense"), "bm25": ("bm25", "min_bm25")}


class BestScores(NamedTuple):
    qid: str
    answerable: bool
    split: str
    lang: str
    declined: str | None  # why the answerer declines before retrieval, or None
    dense: float | None  # best cosine among the allowed passages
    bm25: float | None  # best BM25 score among the allowed passages (None: no query term matched)
    score: float | None = None  # best hybrid score (cosine + weight · ln(1 + BM25))
    other_party: str | None = None  # hybrid declines: another party's passages fit clearly better


class SweepRow(NamedTuple):
    threshold: float
    abstention: float | None  # share of unanswerable questions declined
    false_abstention: float | None  # share of answerable questions declined

    @property
    def gain(self) -> float:
        return (self.abstention or 0.0) - (self.false_abstention or 0.0)


def best_scores(bot, questions: list[Question], mode: str = "hybrid") -> list[BestScores]:
    """Best dense and BM25 score per question, before thresholds (mirrors ``Answerer.ask``)."""
    from ..answer import _without_mentions
    from ..textnorm import clean_question

    answerer = bot.answerer
    index, settings = answerer.index, answerer.settings
    available = answerer.available_parties
    out = []
    for q in questions:
        def rec(declined=None, dense=None, bm25=None, score=None, other=None):
            return BestScores(q.id, q.answerable, q.split, q.lang, declined, dense, bm25, score, other)

        cleaned = clean_question(q.q)
        if not cleaned:
            out.append(rec("empty question"))
            continue
        if len(cleaned) > settings.max_question_chars:
            cut = cleaned[:settings.max_question_chars]
            cleaned = cut.rsplit(" ", 1)[0] or cut
        mentions = answerer.parties.find(cleaned)
        named = tuple(dict.fromkeys(m.party for m in mentions))
        present = tuple(p for p in named if p in available)
        if named and not present:
            out.append(rec("only parties missing from the sources"))
            continue
        query = _without_mentions(cleaned, mentions)
        if not any(ch.isalnum() for ch in query):
            out.append(rec("no topic besides party names" if mentions else "no words"))
            continue
        ev = answerer.evidence(query, present, mode)
        out.append(rec(None, ev.best_dense, ev.best_bm25, ev.best_score, ev.other_party))
    return out


def _answered(r: BestScores, threshold: float, field: str) -> bool:
    score = getattr(r, field)
    return r.declined is None and r.other_party is None and score is not None and score >= threshold


def rates(records: list[BestScores], threshold: float, field: str = "dense") -> SweepRow:
    unans = [r for r in records if not r.answerable]
    ans = [r for r in records if r.answerable]
    abst = sum(not _answered(r, threshold, field) for r in unans) / len(unans) if unans else None
    false = sum(not _answered(r, threshold, field) for r in ans) / len(ans) if ans else None
    return SweepRow(threshold, abst, false)


def candidate_thresholds(records: list[BestScores], field: str = "dense", step: float | None = None) -> list[float]:
    """A grid of ``step`` covering every observed best score (one step beyond on each side)."""
    step = step or STEPS[field]
    values = [getattr(r, field) for r in records if getattr(r, field) is not None]
    if not values:
        return []
    while True:  # at most about 60 rows: coarser steps for a wide spread
        lo, hi = math.floor(min(values) / step) - 1, math.ceil(max(values) / step) + 1
        if hi - lo <= 60:
            return [round(i * step, 6) for i in range(lo, hi + 1)]
        step *= 2


def sweep(records: list[BestScores], thresholds: list[float], field: str = "dense") -> list[SweepRow]:
    return [rates(records, t, field) for t in thresholds]


def choose(rows: list[SweepRow], max_false: float = MAX_FALSE_ABSTENTION) -> tuple[SweepRow | None, list[SweepRow]]:
    """The row maximising abstention − false abstention with false abstention ≤ ``max_false``, and
    every row tying with it; of a tie, the middle row is chosen (furthest from both edges)."""
    ok = [r for r in rows if r.false_abstention is not None and r.false_abstention <= max_false + 1e-12]
    if not ok:
        return None, []
    best = max(r.gain for r in ok)
    ties = [r for r in ok if abs(r.gain - best) < 1e-12]
    return ties[(len(ties) - 1) // 2], ties


def _summary(records: list[BestScores], field: str) -> list[str]:
    lines = []
    langs = sorted({r.lang for r in records})
    for lang in [None] + (langs if len(langs) > 1 else []):
        for label, want in (("answerable", True), ("unanswerable", False)):
            vals = sorted(getattr(r, field) for r in records
                          if r.answerable == want and r.declined is None and getattr(r, field) is not None
                          and lang in (None, r.lang))
            if vals:
                where = f" [{lang}]" if lang else ""
                lines.append(f"best {field} score of {label} questions{where}: min {vals[0]:.3f}, "
                             f"median {vals[len(vals) // 2]:.3f}, max {vals[-1]:.3f} (n={len(vals)})")
    pre = [r for r in records if r.declined]
    if pre:
        lines.append(f"declined before retrieval whatever the threshold: "
                     f"{', '.join(f'{r.qid} ({r.declined})' for r in pre)}")
    return lines


def run_calibration(bot, questions: list[Question], args, out) -> int:
    field, setting = FIELDS[args.mode]
    records = best_scores(bot, questions, args.mode)
    rows = sweep(records, candidate_thresholds(records, field), field)
    chosen, ties = choose(rows)
    settings = bot.answerer.settings
    if args.json:
        data = {"setting": setting, "split": args.split, "model": bot.embedder.model_id,
                "current": {setting: getattr(settings, setting), "passage_floor": settings.passage_floor},
                "max_false_abstention": MAX_FALSE_ABSTENTION,
                "chosen": chosen.threshold if chosen else None,
                "ties": [r.threshold for r in ties],
                "sweep": [r._asdict() for r in rows],
                "questions": [r._asdict() for r in records]}
        print(json.dumps(data, ensure_ascii=False, indent=2), file=out)
        return 0
    n_ans = sum(r.answerable for r in records)
    lines = [f"calibration of {setting} on split {args.split}: {len(records)} questions "
             f"({n_ans} answerable, {len(records) - n_ans} unanswerable), model {bot.embedder.model_id}",
             f"current settings: {setting}={getattr(settings, setting)}"
             + (f", passage_floor={settings.passage_floor}" if field != "bm25" else ""),
             *_summary(records, field), ""]
    from .report import Table, fmt, text

    table = Table([setting, "abstention", "false abstention", "abst − false"],
                  [[f"{r.threshold:g}", fmt(r.abstention), fmt(r.false_abstention), f"{r.gain:+.3f}"]
                   + (["◀"] if chosen and r.threshold == chosen.threshold else []) for r in rows])
    table = Table(table.header + [""], [row + [""] * (len(table.header) + 1 - len(row)) for row in table.rows])
    lines.append(text(table))
    lines.append("")
    if chosen is None:
        lines.append(f"no threshold keeps false abstention ≤ {MAX_FALSE_ABSTENTION}")
    else:
        span = f" (equally good: {ties[0].threshold:g}–{ties[-1].threshold:g})" if len(ties) > 1 else ""
        lines.append(f"best {setting} = {chosen.threshold:g}: abstention {fmt(chosen.abstention)}, false abstention "
                     f"{fmt(chosen.false_abstention)} (max abstention − false abstention with false abstention ≤ "
                     f"{MAX_FALSE_ABSTENTION}){span}")
        if field != "bm25" and chosen.threshold < settings.passage_floor:
            lines.append(f"note: passage_floor ({settings.passage_floor}) is above this; lower it too, or the "
                         "floor decides instead")
    print("\n".join(lines), file=out)
    return 0
