"""The registry of figures: the one list of what ``chatbot eval`` measures.

Each figure is declared once here: its name (a pattern with ``{k}``), how it is computed (an
ir_measures measure, a hand metric class of ``metrics/``, or a figure of the conversation
rules), its floor option and direction (``min``: a floor, ``max``: a ceiling) and a short label
for tables. ``scoring`` computes, ``report``, ``crosscorpus`` and ``conversations`` show, and the
command line adds and checks the floor options, all from these records.

Light on purpose (no numpy, no ir_measures): the command line reads it to build its options.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

from . import metrics

MRR_DEPTH = 10  # MRR@10 and nDCG@10 read this many ranks
SUCCESS_CHARS = 400  # success@400chars reads this many characters


class Figure(NamedTuple):
    pattern: str  # the figure's name, with {k} for the cutoff: "recall@{k}"
    label: str  # short, for the collections table: "R@{k}"
    ir_measure: str | None = None  # computed by ir_measures: "Success@{k}"
    hand: Callable[[int], metrics.Measure] | None = None  # or by a class of metrics/, given k
    floor: str | None = None  # the floor option's stem: --min-<floor> (or --max-<floor>)
    direction: str = "min"  # "min": higher is better, the option is a floor; "max": a ceiling
    prose: str | None = None  # the figure in a help text (default: the name with k for {k})

    def name(self, k: int) -> str:
        return self.pattern.format(k=k)

    def short(self, k: int) -> str:
        return self.label.format(k=k)

    def said(self) -> str:
        return self.prose or self.pattern.replace("{k}", "k")


class Count(NamedTuple):
    """A count of questions, reported beside the means."""

    name: str
    label: str
    counts: Callable[[object], bool]  # which outcomes it counts


class Floor(NamedTuple):
    """A pass/fail option on one figure (of one group of questions, for conversations)."""

    dest: str  # the argparse dest, and the key of EvalOptions.floors: "min_success1"
    figure: Figure
    kind: str  # "min" or "max"
    option: str  # as typed: "--min-success1"
    group: str | None  # None: the run's figures; else a group of the conversation summary
    help: str

    def label(self, k: int) -> str:
        """The figure as a failure message names it."""
        name = self.figure.name(k)
        return f"{self.group} {name}" if self.group not in (None, "rules") else name


SUCCESS_AT_1 = Figure("success@1", "s@1", ir_measure="Success@1", floor="success1")
MRR = Figure(f"mrr@{MRR_DEPTH}", "MRR", ir_measure=f"RR@{MRR_DEPTH}", floor="mrr", prose=f"MRR@{MRR_DEPTH}")
NDCG = Figure(f"ndcg@{MRR_DEPTH}", "nDCG", ir_measure=f"nDCG@{MRR_DEPTH}", floor="ndcg", prose=f"nDCG@{MRR_DEPTH}")
RECALL = Figure("recall@{k}", "R@{k}", ir_measure="Success@{k}", floor="recall")
GOLD_RECALL = Figure("gold_recall@{k}", "gold R@{k}", hand=metrics.GoldRecall, floor="gold-recall",
                     prose="gold recall@k")
SUCCESS_WITHIN_CHARS = Figure(f"success@{SUCCESS_CHARS}chars", f"s@{SUCCESS_CHARS}c",
                              hand=lambda k: metrics.SuccessWithinChars(SUCCESS_CHARS, k), floor=f"success{SUCCESS_CHARS}")
PARTY_AT_1 = Figure("party@1", "party@1", hand=lambda k: metrics.PartyAt1(), floor="party1")
ABSTENTION = Figure("abstention", "abst", hand=lambda k: metrics.Abstention(), floor="abstention")
FALSE_ABSTENTION = Figure("false_abstention", "false abst", hand=lambda k: metrics.FalseAbstention(),
                          floor="false-abstention", direction="max", prose="false abstention")
# computed only for the collections table (crosscorpus), not one of every run's figures
SHOWN_PRECISION = Figure("shown_precision@{k}", "prec shown", hand=metrics.ShownPrecision)
# figures of the follow-up rules (conversations.summarise)
RECOGNISED = Figure("recognised", "recognised", floor="recognised")
WRONGLY_REWRITTEN = Figure("wrongly_rewritten", "rewritten", floor="rewritten", direction="max")

FIGURES = (SUCCESS_AT_1, MRR, NDCG, RECALL, GOLD_RECALL, SUCCESS_WITHIN_CHARS, PARTY_AT_1, ABSTENTION,
           FALSE_ABSTENTION)  # every run's figures, in the order they are reported

COUNTS = (
    Count("n_questions", "questions", lambda o: True),
    Count("n_answerable", "answerable", lambda o: o.question.answerable),
    Count("n_unanswerable", "unanswerable", lambda o: not o.question.answerable),
    Count("n_party", "party asked (for party@1)", lambda o: o.question.answerable and o.question.party is not None),
)
COUNT_LABELS = {c.name: c.label for c in COUNTS}


def names(k: int, figures: tuple[Figure, ...] = FIGURES) -> list[str]:
    return [f.name(k) for f in figures]


def standard_measures(k: int, figures: tuple[Figure, ...] = FIGURES) -> dict[str, str]:
    """Our figure name -> ir_measures measure string, for the figures ir_measures computes."""
    return {f.name(k): f.ir_measure.format(k=k) for f in figures if f.ir_measure}


def hand_measures(k: int, figures: tuple[Figure, ...] = FIGURES) -> list[metrics.Measure]:
    """The metric objects of the figures computed by ``metrics/``."""
    return [f.hand(k) for f in figures if f.hand]


def _floor(figure: Figure, group: str | None = None) -> Floor:
    stem = figure.floor if group in (None, "rules") else f"{group}-{figure.floor}"
    option = f"--{figure.direction}-{stem}"
    if group is None:
        help = f"exit 1 when {figure.said()} " + ("falls below X" if figure.direction == "min" else "exceeds X")
    else:
        said = figure.pattern.replace("{k}", "k")
        said = said if group == "rules" else f"{group} turns' {said}"
        help = f"with --conversations: exit 1 when {said} is {'below' if figure.direction == 'min' else 'above'} X"
    return Floor(option[2:].replace("-", "_"), figure, figure.direction, option, group, help)


# the floors on a run's figures: --min-success1 ... --max-false-abstention
FLOORS = tuple(_floor(f) for f in FIGURES if f.floor)
# the floors of ``chatbot eval --conversations``, on groups of its summary
CONVERSATION_FLOORS = (
    *(_floor(f, "followup") for f in (SUCCESS_AT_1, MRR, RECALL, ABSTENTION, FALSE_ABSTENTION)),
    _floor(SUCCESS_AT_1, "standalone"),
    _floor(RECOGNISED, "rules"),
    _floor(WRONGLY_REWRITTEN, "rules"),
)
