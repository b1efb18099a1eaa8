"""The registry of figures (chatbot/evaluation/measures.py) and the options record: one list of
figure names, floors declared once, the command line's options made from them."""

from __future__ import annotations

import argparse

import pytest

from chatbot.cli import parser
from chatbot.errors import ChatbotError
from chatbot.evaluation import measures, metrics, report
from chatbot.evaluation.conversations import Summary
from chatbot.evaluation.crosscorpus import HEADLINE, CollectionsMean, table_text
from chatbot.evaluation.figures import Figures
from chatbot.evaluation.metrics import standard
from chatbot.evaluation.options import EvalOptions
from chatbot.evaluation.records import GoldQuote, Outcome, PerQuery, Question
from chatbot.evaluation.scoring import aggregate, check_floors


def test_figures_in_the_order_reported():
    assert measures.names(5) == ["success@1", "mrr@10", "ndcg@10", "recall@5", "gold_recall@5", "success@400chars",
                                 "party@1", "abstention", "false_abstention"]
    assert measures.names(3)[3:5] == ["recall@3", "gold_recall@3"]


@pytest.mark.parametrize("k", [1, 5, 7])
def test_each_figure_is_computed_one_way_under_its_registry_name(k):
    figures = (*measures.FIGURES, measures.SHOWN_PRECISION)
    for f in figures:
        assert (f.ir_measure is None) != (f.hand is None), f.pattern
    assert [m.name for m in measures.hand_measures(k, figures)] == [f.name(k) for f in figures if f.hand]
    assert list(standard.measure_names(k)) == [f.name(k) for f in measures.FIGURES if f.ir_measure]
    assert standard.measure_names(k)[f"recall@{k}"] == f"Success@{k}"


def test_floor_options_are_the_registrys():
    options = [f.option for f in measures.FLOORS]
    assert options == ["--min-success1", "--min-mrr", "--min-ndcg", "--min-recall", "--min-gold-recall",
                       "--min-success400", "--min-party1", "--min-abstention", "--max-false-abstention"]
    assert [f.option for f in measures.CONVERSATION_FLOORS] == [
        "--min-followup-success1", "--min-followup-mrr", "--min-followup-recall", "--min-followup-abstention",
        "--max-followup-false-abstention", "--min-standalone-success1", "--min-recognised", "--max-rewritten"]
    for f in (*measures.FLOORS, *measures.CONVERSATION_FLOORS):  # the command line adds them from the registry
        assert EvalOptions.from_args(parser().parse_args(["eval", f.option, "0.25"])).floors == {f.dest: 0.25}
    assert measures.FLOORS[1].help == "exit 1 when MRR@10 falls below X"
    assert measures.CONVERSATION_FLOORS[-1].help == "with --conversations: exit 1 when wrongly_rewritten is above X"


def test_options_read_once_from_the_command_line():
    args = parser().parse_args(["eval", "--k", "3", "--mode", "bm25", "--min-recall", "0.5", "--max-rewritten", "0.1",
                                "--corpus", "helse", "--no-baseline"])
    opts = EvalOptions.from_args(args)
    assert (opts.k, opts.mode, opts.corpus, opts.no_baseline, opts.compare) == (3, "bm25", "helse", True, False)
    assert opts.floors == {"min_recall": 0.5, "max_rewritten": 0.1}
    assert EvalOptions.from_args(opts) is opts
    partial = EvalOptions.from_args(argparse.Namespace(k=5, conversations="d.jsonl", min_followup_mrr=None))
    assert partial.conversations == "d.jsonl" and partial.floors == {} and partial.split == "all"
    with pytest.raises(ChatbotError, match="--k must be between 1 and 50"):
        EvalOptions(k=0)


def _q(id, answerable=True, party=None):
    gold = (GoldQuote("A", "q"),) if answerable else ()
    return Question(id, id, "no", "c", party, gold, answerable, "dev")


def test_aggregate_is_the_mean_per_figure_with_counts():
    outcomes = [Outcome(_q("a", party="A"), True), Outcome(_q("b"), False), Outcome(_q("u", answerable=False), False)]
    values = [PerQuery("a", "success@1", 1.0), PerQuery("b", "success@1", 0.0), PerQuery("x", "success@1", 1.0)]
    values += list(metrics.iter_calc(measures.hand_measures(5), outcomes))
    got = aggregate(outcomes, values, 5)
    assert isinstance(got, Figures) and list(got.means) == measures.names(5) and got.groups == {} == got.added
    assert list(got.counts) == [c.name for c in measures.COUNTS]
    assert list(got) == measures.names(5) + [c.name for c in measures.COUNTS]
    assert got["success@1"] == 0.5 and got["mrr@10"] is None  # "x" is not one of the questions
    assert got["abstention"] == 1.0 and got["false_abstention"] == 0.5
    assert (got["n_questions"], got["n_answerable"], got["n_unanswerable"], got["n_party"]) == (3, 2, 1, 1)
    assert got == {**metrics.calc_aggregate(measures.names(5), outcomes, values),
                   **{c.name: got[c.name] for c in measures.COUNTS}}


def test_group_floors_read_their_group():
    summary = Summary({"followup": Figures({"success@1": 0.5}, {"n_questions": 2})}, {"wrongly_rewritten": 0.2}, {})
    floors = {"min_followup_success1": 0.6, "max_rewritten": 0.1, "min_standalone_success1": 0.1}
    assert check_floors(summary, floors, 5, measures.CONVERSATION_FLOORS) == [
        "followup success@1 0.500 is below the floor --min-followup-success1 0.6",
        "standalone success@1 is undefined (no questions it applies to) but --min-standalone-success1 0.1 is set",
        "wrongly_rewritten 0.200 is above the ceiling --max-rewritten 0.1"]


def test_tables_label_the_registrys_figures():
    assert report.LABELS["n_answerable"] == "answerable"
    assert [h.key(5) for h in HEADLINE] == ["success@1", "mrr@10", "recall@5", "recall@5 en", "gold_recall@5",
                                            "shown_precision@5", "party@1", "abstention", "false_abstention"]
    head = table_text([], CollectionsMean(), 5, held_out=False).splitlines()[0]
    assert head == ("| collection | lang | run | s@1 | MRR | R@5 | R@5 en | gold R@5 | prec shown | party@1 | abst "
                    "| false abst |")
