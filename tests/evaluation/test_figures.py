"""The typed figures records: Figures (a read-only mapping in the JSON's key order), crosscorpus's
CollectionRow and CollectionsMean, the conversations' Summary."""

import dataclasses
import json

import pytest

from chatbot.evaluation import crosscorpus
from chatbot.evaluation.conversations import Summary
from chatbot.evaluation.crosscorpus import CollectionRow, CollectionsMean, headline, table_text
from chatbot.evaluation.figures import Figures

NO = {"success@1": 1.0, "mrr@10": 1.0, "n_questions": 1}
EN = {"success@1": 0.5, "mrr@10": None, "n_questions": 2}
JSON = {"success@1": 2 / 3, "mrr@10": 1.0, "n_questions": 3, "n_answerable": 2,
        "by_lang": {"no": NO, "en": EN}, "shown_precision@5": 0.25}


def make() -> Figures:
    en = Figures({"success@1": 0.5, "mrr@10": None}, {"n_questions": 2})
    no = Figures({"success@1": 1.0, "mrr@10": 1.0}, {"n_questions": 1})
    figs = Figures({"success@1": 2 / 3, "mrr@10": 1.0}, {"n_questions": 3, "n_answerable": 2},
                   {"by_lang": {"no": no, "en": en}})
    return figs.with_means({"shown_precision@5": 0.25})


def test_keys_in_the_json_order_and_to_dict():
    figs = make()
    assert list(figs) == ["success@1", "mrr@10", "n_questions", "n_answerable", "by_lang", "shown_precision@5"]
    assert len(figs) == 6
    assert json.dumps(figs.to_dict()) == json.dumps(JSON)  # the same keys in the same order
    assert list(figs.to_dict()["by_lang"]) == ["no", "en"]
    assert type(figs.to_dict()["by_lang"]["en"]) is dict
    assert Figures({}, {"n_questions": 0}).to_dict() == {"n_questions": 0}


def test_reading_by_name_and_group():
    figs = make()
    assert figs["n_questions"] == 3 and figs.get("mrr@10") == 1.0 and figs["shown_precision@5"] == 0.25
    assert figs.get("ndcg@10") is None and figs.get("ndcg@10", 0.0) == 0.0 and "ndcg@10" not in figs
    with pytest.raises(KeyError):
        figs["ndcg@10"]
    assert list(figs.group("by_lang")) == ["no", "en"] and figs["by_lang"] is figs.group("by_lang")
    assert figs.group("by_lang")["en"].get("mrr@10") is None and figs.group("by_lang")["en"]["n_questions"] == 2
    assert figs.group("by_split") == {} and "by_split" not in figs
    assert figs == JSON and dict(figs)["by_lang"]["no"] == NO  # equal as a mapping, to a dict too
    assert figs != {**JSON, "n_answerable": 1}


def test_figures_are_frozen_and_names_unique():
    with pytest.raises(dataclasses.FrozenInstanceError):
        make().means = {}
    with pytest.raises(ValueError, match=r"figure names used twice: \['n_questions'\]"):
        Figures({"n_questions": 1.0}, {"n_questions": 1})
    with pytest.raises(ValueError, match=r"figure names used twice: \['mrr@10'\]"):
        make().with_means({"mrr@10": 0.0})


def test_more_means_come_last_and_leave_the_record_unchanged():
    figs = make()
    more = figs.with_means({"x": 0.5})
    assert list(more)[-2:] == ["shown_precision@5", "x"] and "x" not in figs
    assert more.means is figs.means and more.groups is figs.groups


def test_collection_row_to_dict():
    ours = make()
    row = CollectionRow("kultur", "nb", True, False, ("helse", "skatt"), ours)
    data = row.to_dict(5)
    assert list(data) == ["corpus", "language", "fictitious", "sealed", "fitted_on", "ours", "headline",
                          "textbook_headline"]
    assert data["fitted_on"] == ["helse", "skatt"] and data["ours"] == JSON and data["textbook_headline"] is None
    assert data["headline"] == headline(ours, 5)
    assert data["headline"]["success@1"] == 2 / 3 and data["headline"]["shown_precision@5"] == 0.25
    assert data["headline"]["recall@5 en"] is None  # no such figure in the en group
    with_textbook = CollectionRow("kultur", "nb", True, False, (), ours, Figures({"success@1": 0.1}, {})).to_dict(5)
    assert list(with_textbook)[5:] == ["ours", "textbook", "headline", "textbook_headline"]
    assert with_textbook["textbook"] == {"success@1": 0.1} and with_textbook["textbook_headline"]["success@1"] == 0.1


def test_collections_mean():
    a = CollectionRow("a", "nb", True, False, (), Figures({"success@1": 1.0, "mrr@10": None}, {}))
    b = CollectionRow("b", "nb", True, False, (), Figures({"success@1": 0.5, "mrr@10": None}, {}))
    mean = crosscorpus._mean_rows([a, b], 5)
    assert mean.textbook is None and mean.ours["success@1"] == 0.75 and mean.ours["mrr@10"] == 0.0
    assert list(mean.to_dict()) == ["ours"] and CollectionsMean().to_dict() == {}
    assert list(CollectionsMean({"s": 1.0}, {"s": 0.5}).to_dict()) == ["ours", "textbook"]
    lines = table_text([a], mean, 5, held_out=True).splitlines()
    assert lines[2].startswith("| a | nb | ours (held out) | 1.00 | – |")
    assert lines[3].startswith("| mean |  | ours | 0.75 | 0.00 |") and len(lines) == 4


def test_conversation_summary_in_the_json_order():
    followup = Figures({"success@1": 0.5}, {"n_questions": 2})
    summary = Summary({"followup": followup, "all": Figures({}, {"n_questions": 0})}, {"recognised": 1.0},
                      {"nb": followup})
    assert list(summary) == ["followup", "all", "rules", "followup_by_lang"] and len(summary) == 4
    assert summary["followup"] is followup and summary.get("standalone") is None
    assert json.dumps(summary.to_dict()) == json.dumps({
        "followup": {"success@1": 0.5, "n_questions": 2}, "all": {"n_questions": 0}, "rules": {"recognised": 1.0},
        "followup_by_lang": {"nb": {"success@1": 0.5, "n_questions": 2}}})


def test_collections_table_shows_the_ranking_alone_below_the_answers():
    from chatbot.evaluation.ranking import RankingFigures

    a = CollectionRow("a", "nb", True, False, (), Figures({"success@1": 1.0}, {}), ranking=RankingFigures(0.8, 0.9, 1.0, 10))
    b = CollectionRow("b", "nn", True, False, (), Figures({"success@1": 0.5}, {}), ranking=RankingFigures(0.6, None, 1.0, 4))
    mean = crosscorpus._mean_rows([a, b], 5)
    assert mean.ranking == {"ranked_mrr@10": 0.7, "ranked_recall@5": 0.9, "candidate_recall": 1.0}
    assert list(mean.to_dict()) == ["ours", "ranking"]
    text = table_text([a, b], mean, 5, held_out=True)
    tail = text.split("nothing cut (what the decision costs is the gap to the table above):\n\n")[1].splitlines()
    assert tail == ["| collection | MRR@10, ranked | recall@5, ranked | candidates hold a relevant one |",
                    "| --- | --- | --- | --- |",
                    "| a | 0.80 | 0.90 | 1.00 |",
                    "| b | 0.60 | – | 1.00 |",
                    "| mean | 0.70 | 0.90 | 1.00 |"]
