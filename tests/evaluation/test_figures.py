"""The typed figures record: a read-only mapping in the JSON's key order."""

import json

import pytest

from chatbot.evaluation.figures import Figures


def make() -> Figures:
    en = Figures({"success@1": 0.5, "mrr@10": None}, {"n_questions": 2})
    no = Figures({"success@1": 1.0, "mrr@10": 1.0}, {"n_questions": 1})
    return Figures({"success@1": 2 / 3, "mrr@10": 1.0}, {"n_questions": 3, "n_answerable": 2},
                   {"by_lang": {"no": no, "en": en}})


def test_keys_in_the_json_order_and_to_dict():
    figs = make()
    assert list(figs) == ["success@1", "mrr@10", "n_questions", "n_answerable", "by_lang"]
    assert json.dumps(figs.to_dict()) == json.dumps({
        "success@1": 2 / 3, "mrr@10": 1.0, "n_questions": 3, "n_answerable": 2,
        "by_lang": {"no": {"success@1": 1.0, "mrr@10": 1.0, "n_questions": 1},
                    "en": {"success@1": 0.5, "mrr@10": None, "n_questions": 2}}})
    assert len(figs) == 5


def test_reading_by_name_and_group():
    figs = make()
    assert figs["n_questions"] == 3 and figs.get("mrr@10") == 1.0 and figs.get("ndcg@10") is None
    assert figs.group("by_lang")["en"].get("mrr@10") is None and figs.group("by_split") == {}
    with pytest.raises(KeyError):
        figs["ndcg@10"]
    assert figs == figs.to_dict()  # equal as a mapping


def test_more_means_come_after_the_others_and_names_are_unique():
    figs = make().with_means({"shown_precision@5": 0.25})
    assert list(figs)[:3] == ["success@1", "mrr@10", "shown_precision@5"] and figs["shown_precision@5"] == 0.25
    with pytest.raises(ValueError, match=r"figure names used twice: \['n_questions'\]"):
        Figures({"n_questions": 1.0}, {"n_questions": 1})
