"""Tests of ``chatbot eval`` (chatbot/evaluation): relevance rule, metrics, ir-measures figures,
the runner with the fake embedder, floors, reports and calibration. Fast: no real model."""

from __future__ import annotations

import io
import json
import math
import random
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from chatbot.cli import main, parser
from chatbot.errors import ChatbotError
from chatbot.evaluation import metrics, relevance, report
from chatbot.evaluation.metrics import standard
from chatbot.evaluation.questions import QuestionsFileError, load_questions, parse_line
from chatbot.evaluation.figures import Figures
from chatbot.evaluation.records import GoldQuote, Outcome, Question, Returned
from chatbot.evaluation.options import EvalOptions
from chatbot.evaluation.runner import check_floors, run_cli

# --------------------------------------------------------------------------- relevance rule


def test_normalise_nfc_case_whitespace():
    nfd = unicodedata.normalize("NFD", "Åpne  for\tLAR-\nbehandling ")
    assert nfd != unicodedata.normalize("NFC", nfd)
    assert relevance.normalise(nfd) == unicodedata.normalize("NFC", "åpne for lar- behandling")
    assert relevance.normalise("  A \u00a0 B ") == "a b"


def test_containment_hits():
    gold = GoldQuote("Venstre", "LAR bør anses som et tiltak")
    assert relevance.hits("Venstre", "Venstre mener at LAR bør anses som et tiltak, og mer.", gold)


def test_party_mismatch_never_hits():
    gold = GoldQuote("Venstre", "LAR bør anses som et tiltak")
    assert not relevance.hits("Helsepartiet", "LAR bør anses som et tiltak", gold)


def test_sixty_percent_boundary_quote_of_ten():
    gold = GoldQuote("P", "abcdefghij")  # 10 characters: 6 needed (60 % exactly)
    assert relevance.longest_common_substring("xxabcdefyy", "abcdefghij") == 6
    assert relevance.hits("P", "xxabcdefyy", gold)  # 6/10 = 0.60: hit
    assert relevance.longest_common_substring("xxabcdeyy", "abcdefghij") == 5
    assert not relevance.hits("P", "xxabcdeyy", gold)  # 5/10 = 0.50: miss


def test_sixty_percent_boundary_quote_of_eleven():
    gold = GoldQuote("P", "abcdefghijk")  # 11 characters: 0.6 * 11 = 6.6, so 7 needed
    assert relevance.hits("P", "--abcdefg--", gold)  # 7/11 = 0.636...
    assert not relevance.hits("P", "--abcdef--", gold)  # 6/11 = 0.545...
    assert not relevance.hits("P", "abcdef ghijk", gold)  # two pieces of 6 and 5 do not add up


def test_sixty_percent_measured_after_normalisation():
    gold = GoldQuote("P", "Aa   Bb Cc Dd")  # normalised "aa bb cc dd": 11 characters, 7 needed
    assert relevance.hits("P", "zz AA\nBB C qq", gold)  # "aa bb c" = 7
    assert not relevance.hits("P", "zz AA\nBB qq", gold)  # "aa bb " = 6


def test_nfc_versus_nfd():
    quote = "tilgang på behandling"
    nfd_passage = unicodedata.normalize("NFD", "Alle skal ha tilgang på behandling.")
    assert quote not in nfd_passage  # the raw texts do not contain each other
    assert relevance.hits("P", nfd_passage, GoldQuote("P", quote))
    assert relevance.hits("P", "Alle skal ha tilgang på behandling.", GoldQuote("P", unicodedata.normalize("NFD", quote)))


def test_case_and_whitespace():
    gold = GoldQuote("P", "styrke ettervernet for rusavhengige")
    assert relevance.hits("P", "Vi vil STYRKE   ETTERVERNET\n for\trusavhengige.", gold)


def test_empty_texts():
    assert relevance.longest_common_substring("", "abc") == 0
    assert not relevance.hits("P", "", GoldQuote("P", "abc"))
    assert not relevance.hits("P", "abc", GoldQuote("P", "   "))


def _lcs_dp(a: str, b: str) -> int:
    best, prev = 0, [0] * (len(b) + 1)
    for ca in a:
        cur = [0] * (len(b) + 1)
        for j, cb in enumerate(b, 1):
            if ca == cb:
                cur[j] = prev[j - 1] + 1
                best = max(best, cur[j])
        prev = cur
    return best


def test_longest_common_substring_is_exact():
    rng = random.Random(7)
    for _ in range(300):
        a = "".join(rng.choice("ab ") for _ in range(rng.randint(0, 300)))
        b = "".join(rng.choice("ab ") for _ in range(rng.randint(0, 40)))
        assert relevance.longest_common_substring(a, b) == _lcs_dp(a, b)


class _P:
    def __init__(self, id, party, text):
        self.id, self.party, self.text = id, party, text


def test_judge_marks_passages_and_quotes():
    q = Question("q", "?", "no", "c", None, (GoldQuote("A", "alpha beta gamma"), GoldQuote("B", "delta epsilon")),
                 True, "dev")
    judge = relevance.Judge([_P("p1", "A", "Alpha beta gamma delta epsilon"), _P("p2", "B", "delta epsilon!"),
                             _P("p3", "A", "delta epsilon"), _P("p4", "B", "nothing")])
    assert judge.judge(q) == {"p1": frozenset({0}), "p2": frozenset({1})}


# --------------------------------------------------------------------------- hand-written metrics

def _q(id="q", answerable=True, gold=2, party=None, lang="no", category="c", split="dev"):
    quotes = tuple(GoldQuote("A", f"quote {i}") for i in range(gold)) if answerable else ()
    return Question(id, f"question {id}", lang, category, party, quotes, answerable, split)


def _r(rank, hits=(), party="A", chars=100, doc=None):
    return Returned(rank, doc or f"d{rank}", party, "x" * chars, frozenset(hits), 1.0 / rank)


def test_gold_recall():
    m = metrics.GoldRecall(cutoff=2)
    assert m.name == "gold_recall@2"
    q = _q(gold=3)
    assert m.value(Outcome(q, True, (_r(1, {0}), _r(2, {0, 1}), _r(3, {2})))) == 2 / 3
    assert m.value(Outcome(q, True, (_r(1), _r(2)))) == 0.0
    assert metrics.GoldRecall(3).value(Outcome(q, True, (_r(1, {0}), _r(2, {1}), _r(3, {2})))) == 1.0
    assert m.value(Outcome(q, False)) == 0.0
    assert not m.applies(Outcome(_q(answerable=False), True, (_r(1),)))


def test_success_within_chars():
    m = metrics.SuccessWithinChars(400, cutoff=5)
    q = _q()
    assert m.name == "success@400chars"
    assert m.value(Outcome(q, True, (_r(1, {0}, chars=5000),))) == 1.0  # the top passage is always read
    assert m.value(Outcome(q, True, (_r(1, chars=399), _r(2, {0})))) == 1.0  # starts at 399 < 400
    assert m.value(Outcome(q, True, (_r(1, chars=400), _r(2, {0})))) == 0.0  # starts at 400
    assert m.value(Outcome(q, True, (_r(1, chars=200), _r(2, chars=199), _r(3, {1})))) == 1.0
    assert m.value(Outcome(q, True, (_r(1, chars=200), _r(2, chars=200), _r(3, {1})))) == 0.0
    short = tuple(_r(i, chars=1) for i in range(1, 6)) + (_r(6, {0}, chars=1),)
    assert m.value(Outcome(q, True, short)) == 0.0  # the hit is below the top k
    assert metrics.SuccessWithinChars(400, cutoff=6).value(Outcome(q, True, short)) == 1.0
    assert m.value(Outcome(q, False)) == 0.0


def test_party_at_1():
    m = metrics.PartyAt1()
    q = _q(party="A")
    assert m.value(Outcome(q, True, (_r(1, party="A"), _r(2, party="B")))) == 1.0
    assert m.value(Outcome(q, True, (_r(1, party="B"), _r(2, party="A")))) == 0.0
    assert m.value(Outcome(q, False)) == 0.0
    assert not m.applies(Outcome(_q(party=None), True, (_r(1),)))
    assert not m.applies(Outcome(_q(party="A", answerable=False), True, (_r(1),)))


def test_abstention_and_false_abstention():
    outcomes = [Outcome(_q("u1", answerable=False), False), Outcome(_q("u2", answerable=False), True, (_r(1),)),
                Outcome(_q("u3", answerable=False), False), Outcome(_q("a1"), False),
                Outcome(_q("a2"), True, (_r(1, {0}),)), Outcome(_q("a3"), True, (_r(1),)),
                Outcome(_q("a4"), True, (_r(1),))]
    got = metrics.calc_aggregate([metrics.Abstention(), metrics.FalseAbstention()], outcomes)
    assert got == {"abstention": 2 / 3, "false_abstention": 1 / 4}
    assert metrics.calc_aggregate([metrics.Abstention()], outcomes[3:]) == {"abstention": None}


def test_iter_calc_per_query():
    outcomes = [Outcome(_q("a", party="A"), True, (_r(1, {0}, party="A"),)), Outcome(_q("b"), False)]
    got = list(metrics.iter_calc([metrics.PartyAt1(), metrics.FalseAbstention()], outcomes))
    assert [(p.query_id, p.measure, p.value) for p in got] == [
        ("a", "party@1", 1.0), ("a", "false_abstention", 0.0), ("b", "false_abstention", 1.0)]


# --------------------------------------------------------------------------- ir-measures figures

def test_standard_figures_equal_hand_computed():
    # q1: passages a (hits quotes 0 and 1: grade 2), b (quote 0: grade 1), c (quote 1: grade 1) in the index;
    #     the answer shows x (not relevant), b, a.
    # q2: declined. q3: relevant d at rank 1 (the only relevant passage). u: unanswerable, ignored.
    judgements = {"q1": {"a": frozenset({0, 1}), "b": frozenset({0}), "c": frozenset({1})},
                  "q2": {"e": frozenset({0})}, "q3": {"d": frozenset({0})}}
    outcomes = [Outcome(_q("q1"), True, (_r(1, doc="x"), _r(2, {0}, doc="b"), _r(3, {0, 1}, doc="a"))),
                Outcome(_q("q2"), False),
                Outcome(_q("q3"), True, (_r(1, {0}, doc="d"), _r(2, doc="y"))),
                Outcome(_q("u", answerable=False), True, (_r(1, doc="z"),))]
    qrels = standard.qrels(judgements)
    assert sorted((q.query_id, q.doc_id, q.relevance) for q in qrels) == [
        ("q1", "a", 2), ("q1", "b", 1), ("q1", "c", 1), ("q2", "e", 1), ("q3", "d", 1)]
    per = {(p.query_id, p.measure): p.value for p in standard.iter_calc(outcomes, qrels, k=2)}
    log2 = math.log2
    ndcg_q1 = (1 / log2(3) + 2 / log2(4)) / (2 / log2(2) + 1 / log2(3) + 1 / log2(4))
    expected = {
        ("q1", "success@1"): 0.0, ("q1", "mrr@10"): 0.5, ("q1", "ndcg@10"): ndcg_q1, ("q1", "recall@2"): 1.0,
        ("q2", "success@1"): 0.0, ("q2", "mrr@10"): 0.0, ("q2", "ndcg@10"): 0.0, ("q2", "recall@2"): 0.0,
        ("q3", "success@1"): 1.0, ("q3", "mrr@10"): 1.0, ("q3", "ndcg@10"): 1.0, ("q3", "recall@2"): 1.0,
    }
    assert set(per) == set(expected)
    for key, value in expected.items():
        assert per[key] == pytest.approx(value, rel=1e-12, abs=1e-15), key
    # recall@1 reads only the top passage
    per1 = {(p.query_id, p.measure): p.value for p in standard.iter_calc(outcomes, qrels, k=1)}
    assert per1[("q1", "recall@1")] == 0.0 and per1[("q3", "recall@1")] == 1.0


def test_standard_run_scores_decrease_with_rank():
    o = Outcome(_q("q1"), True, (_r(1, doc="a"), _r(2, doc="b"), _r(3, doc="c")))
    scores = [d.score for d in standard.run([o])]
    assert scores == [1.0, 0.5, 1 / 3]


# --------------------------------------------------------------------------- questions file

def _line(**over):
    obj = {"id": "q1", "q": "Hva vil Venstre med LAR?", "lang": "no", "category": "single-party", "party": "Venstre",
           "gold": [{"party": "Venstre", "quote": "LAR bør anses som både et skadereduserende tiltak"}],
           "answerable": True, "split": "dev"}
    obj.update(over)
    return json.dumps(obj, ensure_ascii=False)


def test_questions_load_the_real_file():
    from chatbot.evaluation.runner import default_questions_path

    qs = load_questions(default_questions_path())
    assert len(qs) == 142 and {q.split for q in qs} == {"dev", "test"}
    assert qs[0].line == 1 and isinstance(qs[0].gold[0], GoldQuote)


@pytest.mark.parametrize("bad, message", [
    ("{not json", "line 2: not valid JSON"),
    ("[1, 2]", "line 2: not a JSON object"),
    (_line(id="q2", split="train"), "line 2: split 'train' is not one of dev, test"),
    (_line(id="q2", answerable="yes"), "line 2: field 'answerable' must be true or false"),
    (_line(id="q2", gold=[]), "line 2: an answerable question needs at least one gold quote"),
    (_line(id="q2", answerable=False), "line 2: an unanswerable question cannot have gold quotes"),
    (_line(id="q2", gold=[{"party": "Venstre"}]), "line 2: gold quote 1 must be an object"),
    (_line(q=""), "line 2: field 'q' must be non-empty text"),
    (_line(), "line 2: id 'q1' is already used on line 1"),
])
def test_malformed_questions_file(tmp_path, bad, message):
    path = tmp_path / "q.jsonl"
    path.write_text(_line() + "\n" + bad + "\n", encoding="utf-8")
    with pytest.raises(QuestionsFileError) as err:
        load_questions(path)
    assert isinstance(err.value, ChatbotError)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_missing_field_names_it():
    obj = json.loads(_line())
    del obj["q"]
    with pytest.raises(QuestionsFileError, match=r"x line 4: missing field 'q'"):
        parse_line(json.dumps(obj), 4, "x")
    obj = json.loads(_line())
    del obj["gold"]
    with pytest.raises(QuestionsFileError, match=r"x line 4: missing field 'gold'"):
        parse_line(json.dumps(obj), 4, "x")


def test_malformed_file_via_cli_is_one_line_and_exit_1(tmp_path, capsys):
    path = tmp_path / "q.jsonl"
    path.write_text(_line() + "\n\n{oops\n", encoding="utf-8")
    assert main(["eval", "--questions", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("chatbot: error: ") and f"{path} line 3: not valid JSON" in err


def test_missing_questions_file_via_cli(tmp_path, capsys):
    assert main(["eval", "--questions", str(tmp_path / "nope.jsonl")]) == 1
    assert "does not exist" in capsys.readouterr().err


# --------------------------------------------------------------------------- the runner, with the fake embedder

GRAVIDE = "gravide bør gis tilbud om LAR-behandling der det er faglig forsvarlig"


def _small_questions(tmp_path, bot):
    """Four questions with outcomes that do not depend on the embedder's fine detail."""
    hp = next(p for p in bot.answerer.index.passages if p.party == "Helsepartiet" and len(p.text) > 80)
    rows = [
        # answered with the passage holding the quote at rank 1 (the question is the quote itself)
        {"id": "a-no", "q": GRAVIDE, "lang": "no", "category": "single-party", "party": "Venstre",
         "gold": [{"party": "Venstre", "quote": GRAVIDE}], "answerable": True, "split": "dev"},
        # declined: it names only a party that is not in the sources
        {"id": "a-en", "q": "What does Arbeiderpartiet want for LAR?", "lang": "en", "category": "single-party",
         "party": "Venstre", "gold": [{"party": "Venstre", "quote": GRAVIDE}], "answerable": True, "split": "test"},
        {"id": "u-en", "q": "What does FrP think about drug policy?", "lang": "en", "category": "unanswerable",
         "party": None, "gold": [], "answerable": False, "split": "test"},
        # answered (a passage's own words), though marked unanswerable
        {"id": "u-no", "q": hp.text, "lang": "no", "category": "unanswerable", "party": None, "gold": [],
         "answerable": False, "split": "dev"},
    ]
    path = tmp_path / "small.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


def _run(argv, bot):
    out, err = io.StringIO(), io.StringIO()
    rc = run_cli(parser().parse_args(argv), bot=bot, out=out, err=err)
    return rc, out.getvalue(), err.getvalue()


KEYS = ["success@1", "mrr@10", "ndcg@10", "recall@5", "gold_recall@5", "success@400chars", "party@1",
        "abstention", "false_abstention", "n_answerable", "n_unanswerable"]


def test_eval_json_with_fake_embedder(tmp_path, fake_bot):
    path = _small_questions(tmp_path, fake_bot)
    # the premises the expected figures rest on
    top = fake_bot.ask(GRAVIDE, k=10).hits[0].passage
    assert top.party == "Venstre" and GRAVIDE in top.text
    assert sum(GRAVIDE in p.text for p in fake_bot.answerer.index.passages) == 1

    rc, out, err = _run(["eval", "--questions", str(path), "--json"], fake_bot)
    assert rc == 0
    data = json.loads(out)
    for key in KEYS + ["by_lang", "by_category", "by_split"]:
        assert key in data, key
    expected = {"success@1": 0.5, "mrr@10": 0.5, "ndcg@10": 0.5, "recall@5": 0.5, "gold_recall@5": 0.5,
                "success@400chars": 0.5, "party@1": 0.5, "abstention": 0.5, "false_abstention": 0.5,
                "n_answerable": 2, "n_unanswerable": 2}
    assert {k: data[k] for k in KEYS} == expected
    assert {k: data["by_lang"]["no"][k] for k in KEYS} == {
        "success@1": 1.0, "mrr@10": 1.0, "ndcg@10": 1.0, "recall@5": 1.0, "gold_recall@5": 1.0,
        "success@400chars": 1.0, "party@1": 1.0, "abstention": 0.0, "false_abstention": 0.0,
        "n_answerable": 1, "n_unanswerable": 1}
    assert {k: data["by_lang"]["en"][k] for k in KEYS} == {
        "success@1": 0.0, "mrr@10": 0.0, "ndcg@10": 0.0, "recall@5": 0.0, "gold_recall@5": 0.0,
        "success@400chars": 0.0, "party@1": 0.0, "abstention": 1.0, "false_abstention": 1.0,
        "n_answerable": 1, "n_unanswerable": 1}
    assert list(data["by_split"]) == ["dev", "test"]
    assert data["by_split"]["dev"]["success@1"] == 1.0 and data["by_split"]["test"]["abstention"] == 1.0
    assert data["by_category"]["unanswerable"]["success@1"] is None
    assert data["by_category"]["unanswerable"]["abstention"] == 0.5
    assert data["by_category"]["single-party"]["abstention"] is None
    assert data["config"]["mode"] == "hybrid" and data["config"]["k"] == 5
    assert "eval: hybrid: 4 questions" in err


def test_eval_k_names_the_keys_and_split_filters(tmp_path, fake_bot):
    path = _small_questions(tmp_path, fake_bot)
    rc, out, _ = _run(["eval", "--questions", str(path), "--json", "--k", "3", "--split", "dev"], fake_bot)
    data = json.loads(out)
    assert rc == 0 and data["recall@3"] == 1.0 and data["gold_recall@3"] == 1.0 and "recall@5" not in data
    assert data["n_answerable"] == 1 and data["n_unanswerable"] == 1 and list(data["by_split"]) == ["dev"]


def test_eval_table_is_default(tmp_path, fake_bot):
    path = _small_questions(tmp_path, fake_bot)
    rc, out, _ = _run(["eval", "--questions", str(path)], fake_bot)
    assert rc == 0
    lines = out.splitlines()
    assert any(line.split()[:2] == ["success@1", "0.500"] for line in lines if line.strip())
    assert "test (held out)" in out and "by category" in out


def test_floors_exit_1_with_one_line(tmp_path, fake_bot):
    path = _small_questions(tmp_path, fake_bot)
    rc, _, err = _run(["eval", "--questions", str(path), "--json", "--min-success1", "0.6"], fake_bot)
    assert rc == 1
    last = err.strip().splitlines()[-1]
    assert last == "chatbot: eval: success@1 0.500 is below the floor --min-success1 0.6"
    rc, _, err = _run(["eval", "--questions", str(path), "--json", "--min-mrr", "0.5", "--max-false-abstention",
                       "0.5", "--min-abstention", "0.5", "--min-party1", "0.5"], fake_bot)
    assert rc == 0  # a figure equal to its floor passes
    rc, _, err = _run(["eval", "--questions", str(path), "--json", "--max-false-abstention", "0.4"], fake_bot)
    assert rc == 1 and "false_abstention 0.500 is above the ceiling --max-false-abstention 0.4" in err


def test_check_floors_names_every_figure():
    figs = Figures({"success@1": 0.2, "mrr@10": 0.3, "ndcg@10": 0.3, "recall@5": 0.3, "gold_recall@5": 0.3,
                    "success@400chars": 0.3, "party@1": 0.3, "abstention": None, "false_abstention": 0.1}, {})
    args = parser().parse_args(["eval", "--min-success1", "0.1", "--min-recall", "0.5", "--min-gold-recall", "0.5",
                                "--min-success400", "0.2", "--min-abstention", "0.5", "--max-false-abstention", "0.1"])
    assert check_floors(figs, EvalOptions.from_args(args).floors, 5) == [
        "recall@5 0.300 is below the floor --min-recall 0.5",
        "gold_recall@5 0.300 is below the floor --min-gold-recall 0.5",
        "abstention is undefined (no questions it applies to) but --min-abstention 0.5 is set",
    ]


def test_compare_json_report_and_trec(tmp_path, fake_bot):
    path = _small_questions(tmp_path, fake_bot)
    md, trec = tmp_path / "out" / "report.md", tmp_path / "run.trec"
    rc, out, _ = _run(["eval", "--questions", str(path), "--compare", "--json", "--report", str(md),
                       "--trec-run", str(trec)], fake_bot)
    assert rc == 0
    data = json.loads(out)
    assert list(data) == ["configs"] and list(data["configs"]) == ["bm25", "dense", "hybrid"]
    for figs in data["configs"].values():
        assert all(k in figs for k in KEYS)
    assert data["configs"]["hybrid"]["success@1"] == 0.5
    text = md.read_text(encoding="utf-8")
    assert "| success@1 [no] |" in text and "## Misses — hybrid" in text
    assert "`a-en`" in text and "`u-no`" in text and "declined, though answerable" in text
    assert "answered, though unanswerable" in text and f"Venstre: «{GRAVIDE}»" in text
    lines = (tmp_path / "run.hybrid.trec").read_text().splitlines()
    first = lines[0].split()
    assert first[0] == "a-no" and first[1] == "Q0" and first[3] == "1" and first[4] == "1.000000"
    assert first[5] == "chatbot-hybrid" and all(len(line.split()) == 6 for line in lines)
    assert (tmp_path / "run.bm25.trec").exists() and (tmp_path / "run.dense.trec").exists()


def test_compare_table(tmp_path, fake_bot):
    path = _small_questions(tmp_path, fake_bot)
    rc, out, _ = _run(["eval", "--questions", str(path), "--compare"], fake_bot)
    assert rc == 0
    header = next(line for line in out.splitlines() if line.split()[-3:] == ["bm25", "dense", "hybrid"])
    assert header
    assert any(line.startswith("success@1 [en]") for line in out.splitlines())


def test_compare_with_another_model_opens_each_model_once(tmp_path, fake_bot, monkeypatch):
    from chatbot.models.spec import DEFAULT_MODEL
    from chatbot.evaluation.runner import extra_index_dir

    path = _small_questions(tmp_path, fake_bot)
    calls = []

    def open_bot(model):
        calls.append(model)
        return fake_bot

    args = parser().parse_args(["eval", "--questions", str(path), "--compare", "--json", "--model", "/x/my-model",
                                "--min-success1", "0.6"])
    out, err = io.StringIO(), io.StringIO()
    assert run_cli(args, open_bot=open_bot, out=out, err=err) == 1
    assert calls == [DEFAULT_MODEL, "/x/my-model"]
    assert list(json.loads(out.getvalue())["configs"]) == ["bm25", "dense", "hybrid", "dense:my-model",
                                                           "hybrid:my-model"]
    assert err.getvalue().splitlines()[-1] == "chatbot: eval (hybrid): success@1 0.500 is below the floor --min-success1 0.6"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert extra_index_dir("/x/my-model").parent == tmp_path / "cache" / "chatbot-rusomsorg" / "eval-index"
    assert extra_index_dir("/x/my-model").name.startswith("my-model-")


def test_report_escapes_pipes_and_lists_top3(tmp_path):
    q = Question("q-1", "Hva | hvorfor?", "no", "c", "A", (GoldQuote("A", "a|b quote"),), True, "dev", 3)
    o = Outcome(q, True, tuple(Returned(i, f"d{i}", "A", f"tekst {i} | med\nstrek", frozenset(), 1 / i, 0.9, None)
                               for i in range(1, 5)))
    section = report.miss_section(o, "no hit")
    rows = [line for line in section.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert rows == [f"| {i} | A |  | 0.900 | – | tekst {i} \\| med strek |" for i in (1, 2, 3)]
    assert report.cell("a|b\\c") == "a\\|b\\\\c"


# --------------------------------------------------------------------------- calibration

def test_decision_file_round_trip(tmp_path):
    from chatbot.query import decide
    from fakes import FAKE_DECISION

    path = tmp_path / "d.json"
    FAKE_DECISION.save(path)
    assert decide.load(path) == FAKE_DECISION
    path.write_text('{"format": 99}', encoding="utf-8")
    with pytest.raises(decide.DecisionError, match="not a decision file of format 1"):
        decide.load(path)
    path.write_text("{", encoding="utf-8")
    with pytest.raises(decide.DecisionError, match="cannot read the decision file"):
        decide.load(path)


def test_shipped_decision_is_fitted_for_the_default_model():
    from chatbot.models.spec import DEFAULT_MODEL
    from chatbot.query import decide

    shipped = decide.shipped()
    assert shipped.model_id == DEFAULT_MODEL
    assert set(shipped.fitted_on) == {"arbeid", "bolig", "familie", "forsvar", "helse", "innvandring", "kultur",
                                      "rusomsorg", "skatt"}  # never a sealed one
    for mode in ("hybrid", "dense", "bm25"):
        m = shipped.for_mode(mode)
        assert 0 < m.show_at <= m.answer_at < 1 and m.question is not None


def test_fitted_decision_is_the_answerers_own(fake_bot):
    """The evaluation scores through the answerer: asking with a fitted decision gives exactly what
    deciding on the collected candidates gives."""
    from chatbot.evaluation import fit
    from chatbot.evaluation.relevance import Judge
    from chatbot.evaluation.runner import default_questions_path

    questions = load_questions(default_questions_path())[:60]
    judge = Judge(fake_bot.answerer.index.passages)
    judged = {q.id: judge.judge(q) for q in questions if q.answerable}
    examples = fit.collect(fake_bot, "rus", questions, judged, "hybrid")
    model = fit.fit({m: examples for m in ("hybrid", "dense", "bm25")}, "fake-256", ("rus",))
    assert model.fitted_on == ("rus",) and model.meta["questions"]["hybrid"] == 60
    for ex in examples:
        asked = fake_bot.ask(ex.question.q, k=10, decision=model)
        if ex.searched is None:
            assert asked.answered is False
            continue
        decided = fake_bot.answerer.decide(ex.searched, 10, "hybrid", model)
        assert (asked.answered, [h.passage.id for h in asked.hits]) == (decided.answered, [h.passage.id for h in decided.hits])


def test_leave_one_out_fits_on_the_other_collections(tmp_path, monkeypatch):
    from chatbot.models.fake import FakeEmbedder
    from chatbot.evaluation import crosscorpus

    monkeypatch.setenv("CHATBOT_CACHE_DIR", str(tmp_path / "cache"))
    args = parser().parse_args(["eval", "--corpus", "helse,kultur,skatt", "--leave-one-out", "--json"])
    out, err = io.StringIO(), io.StringIO()
    assert crosscorpus.run_cli(args, out=out, err=err, embedder=FakeEmbedder()) == 0
    data = json.loads(out.getvalue())
    assert [c["corpus"] for c in data["collections"]] == ["helse", "kultur", "skatt"]
    assert [sorted(c["fitted_on"]) for c in data["collections"]] == [["kultur", "skatt"], ["helse", "skatt"], ["helse", "kultur"]]
    assert all(c["fictitious"] and c["textbook_headline"]["abstention"] == 0.0 for c in data["collections"])
    assert set(data["mean"]) == {"ours", "textbook", "ranking"}
    assert list(data["mean"]["ranking"]) == ["ranked_mrr@10", "ranked_recall@5", "candidate_recall"]
    for c in data["collections"]:  # the ranking alone: bounded by whether a relevant candidate was found at all
        r = c["ranking"]
        assert r["n_ranked"] == c["ours"]["n_answerable"]
        assert 0 <= r["ranked_mrr@10"] <= r["candidate_recall"] <= 1
        assert r["ranked_recall@5"] <= r["candidate_recall"]
    # a collection's figures in the JSON's order: the run's means, counts, groups, then shown precision
    ours = list(data["collections"][0]["ours"])
    assert ours[-4:] == ["by_lang", "by_category", "by_split", "shown_precision@5"]
    assert list(data["collections"][0]) == ["corpus", "language", "fictitious", "sealed", "fitted_on", "ours",
                                            "ranking", "textbook", "headline", "textbook_headline"]


def test_corpus_selection_errors():
    from chatbot.evaluation import corpora

    with pytest.raises(corpora.CorpusError, match="unknown collection"):
        corpora.select("nope")
    names = [c.name for c in corpora.all_corpora()]
    assert {"rusomsorg", "helse", "skatt", "innvandring", "kultur", "energi"} <= set(names)
    sealed = [c.name for c in corpora.all_corpora() if c.sealed]
    assert sealed == ["demokrati", "digital", "dyrevern", "eldre", "energi", "fiskeri", "forbruker", "frivillighet", "justis",
                      "livssyn", "utenriks"]
    assert all(c.fictitious for c in corpora.all_corpora() if c.sealed)


def test_questions_file_with_only_q_and_gold(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"q": "Hva vil Venstre med LAR?", "gold": [{"party": "Venstre", "quote": "LAR bør anses"}]}\n'
                    '{"q": "What about road tolls?", "gold": []}\n', encoding="utf-8")
    a, b = load_questions(path)
    assert (a.id, a.lang, a.category, a.split, a.answerable, a.party) == ("line-1", "nb", "unspecified", "test", True, None)
    assert (b.id, b.lang, b.answerable) == ("line-2", "en", False)


# --------------------------------------------------------------------------- imports

def test_cli_import_stays_light():
    code = "import sys, chatbot.cli; print(sorted(m for m in ('numpy', 'ir_measures', 'torch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_flat_best_score_picks_the_middle_of_its_run():
    from chatbot.evaluation.fit import plateau_middle

    scores = {0.1: 0.0, 0.2: 1.0, 0.3: 1.0, 0.4: 1.0, 0.5: 1.0, 0.6: 1.0, 0.7: 0.5, 0.8: 1.0}
    assert plateau_middle(sorted(scores), scores.get) == 0.4  # the first best run is 0.2..0.6
    assert plateau_middle([0.1, 0.2, 0.3], {0.1: 0.0, 0.2: 0.0, 0.3: 2.0}.get) == 0.3
    assert plateau_middle([0.1, 0.2], {0.1: 1.0, 0.2: 1.0}.get) == 0.1


def test_the_question_cutoff_maximises_the_utility_averaged_over_a_window():
    import numpy as np

    from chatbot.evaluation.fit import CUTOFF_GRID, _utility, question_cutoff

    # 10 unanswerable questions at 0.25 and one at 0.705; 50 answerable ones at 0.715. The utility is 0.909 from
    # 0.26 to 0.70, 1.0 at 0.71 alone, and -3 from 0.72 (every answerable one declined): its raw best sits on
    # the cliff's edge; averaged over ±0.05, the best is 0.66, the highest window holding the spike but not the cliff.
    asked = np.array([0.25] * 10 + [0.705] + [0.715] * 50)
    answerable = np.array([False] * 11 + [True] * 50)
    raw = max(CUTOFF_GRID, key=lambda t: (_utility(asked >= t, answerable), -t))
    assert round(float(raw), 2) == 0.71
    assert round(question_cutoff(asked, answerable), 2) == 0.66


def test_the_question_cutoff_is_bagged_over_collections(monkeypatch):
    import numpy as np

    from chatbot.evaluation import fit

    # Two collections with their own best cut-off: "a" is best cut at 0.36, "b" at 0.66 (their unanswerable
    # questions sit just below). Pooled, the two peaks are nearly even, and the windowed argmax takes one of them;
    # bagged, the cut-off is the mean of the resamples' choices, between the two, and the same on every run.
    a_asked = np.array([0.30] * 6 + [0.42] * 30)
    b_asked = np.array([0.60] * 6 + [0.72] * 30)
    answerable = np.array(([False] * 6 + [True] * 30) * 2)
    asked = np.concatenate([a_asked, b_asked])
    corpora = np.array(["a"] * 36 + ["b"] * 36)
    alone = {c: fit._windowed_argmax(asked[corpora == c], answerable[corpora == c]) for c in "ab"}
    assert [round(alone[c], 2) for c in "ab"] == [0.36, 0.66]
    bagged = fit.question_cutoff(asked, answerable, corpora)
    assert 0.36 < bagged < 0.66 and bagged == fit.question_cutoff(asked, answerable, corpora)
    # not bagged: without the collections, or with QUESTION_BAGS = 0
    pooled = fit._windowed_argmax(asked, answerable)
    assert fit.question_cutoff(asked, answerable) == pooled
    monkeypatch.setattr(fit, "QUESTION_BAGS", 0)
    assert fit.question_cutoff(asked, answerable, corpora) == pooled


def test_cutoffs_are_chosen_on_out_of_fold_scores(monkeypatch):
    """Each collection's examples are scored by a passage model fitted on the other collections only;
    with fewer than three collections the fit falls back to in-sample scores."""
    import numpy as np

    from chatbot.evaluation import fit
    from chatbot.query import features as F

    rng = np.random.default_rng(0)

    def example(corpus, i):
        x = rng.normal(size=(4, len(F.NAMES)))
        q = Question(f"{corpus}-{i}", "q", "nb", "paraphrase", None, (), True, "test")
        return fit.Example(corpus, q, None, x, np.array([1.0, 0.0, 0.0, 0.0]))

    examples = [example(c, i) for c in ("a", "b", "c") for i in range(5)]
    trained_on = []
    real = fit._fit_passages
    monkeypatch.setattr(fit, "_fit_passages", lambda ex, mode: trained_on.append({e.corpus for e in ex}) or real(ex, mode))
    scored = fit._out_of_fold(examples, "hybrid")
    assert trained_on == [{"b", "c"}, {"a", "c"}, {"a", "b"}]
    assert scored.asked is None  # every question answerable: no question model to score with
    for held in ("a", "b", "c"):
        model = real([e for e in examples if e.corpus != held], "hybrid")
        for e, p in zip(examples, scored.probs):
            if e.corpus == held:
                assert np.array_equal(p, model.probabilities(e.x))
    assert fit._out_of_fold([e for e in examples if e.corpus != "c"], "hybrid") is None


def test_a_sealed_collection_is_scored_but_never_fitted_on(monkeypatch):
    from pathlib import Path

    from chatbot.evaluation import crosscorpus
    from chatbot.evaluation.corpora import Corpus

    def loaded(name, sealed):
        corpus = Corpus(name, name, "nb", True, sealed, Path("."), Path("q.jsonl"))
        return crosscorpus.Loaded(corpus, None, [], {}, {"hybrid": [f"example of {name}"]})

    seen = []
    monkeypatch.setattr(crosscorpus.fit_mod, "fit", lambda by_mode, model_id, fitted_on: seen.append((fitted_on, by_mode["hybrid"])))
    every = [loaded("a", False), loaded("b", False), loaded("s", True)]
    crosscorpus.decision_without(every, "s", "m", ("hybrid",))
    crosscorpus.decision_without(every, "a", "m", ("hybrid",))
    crosscorpus.decision_without(every, None, "m", ("hybrid",))
    assert seen == [(("a", "b"), ["example of a", "example of b"]),
                    (("b",), ["example of b"]),
                    (("a", "b"), ["example of a", "example of b"])]


def _report_collection(name: str, sealed: bool):
    from chatbot.evaluation.corpus_report import CollectionOutcomes
    from chatbot.evaluation.records import GoldQuote, Outcome, Returned
    from chatbot.evaluation.scoring import figures, per_query_values

    hit = Question(f"{name}-1", "Hva vil A med skolen?", "nb", "paraphrase", None, (GoldQuote("A", "skole"),), True, "test")
    miss = Question(f"{name}-2", "what about roads?", "en", "paraphrase", None, (GoldQuote("A", "vei"),), True, "test")
    outs = [Outcome(hit, True, (Returned(1, "p1", "A", "Flere lærere i skolen.", frozenset({0}), 0.9),)),
            Outcome(miss, True, (Returned(1, "p2", "A", "Flere lærere i skolen.", frozenset(), 0.4),))]
    judged = {hit.id: {"p1": frozenset({0})}, miss.id: {}}
    figs = figures(outs, per_query_values(outs, judged, 5), 5)
    return CollectionOutcomes(name, sealed, ("other",), tuple(outs), figs)


def test_the_collections_report_lists_misses_and_hides_a_sealed_collections():
    from chatbot.evaluation.corpus_report import markdown_report

    cols = [_report_collection("open", False), _report_collection("shut", True)]
    text = markdown_report(cols, 5, "hybrid", True, show_sealed=False)
    assert "## open\n" in text and "## shut (sealed)\n" in text
    assert "#### `open-2` — what about roads?" in text and "`open-1`" not in text  # a hit is no miss
    assert "`shut-2`" not in text
    assert "1 misses, not shown: a sealed collection stays blind (`--show-misses` shows them)." in text
    assert "Decision fitted on: other." in text
    shown = markdown_report(cols, 5, "hybrid", True, show_sealed=True)
    assert "#### `shut-2` — what about roads?" in shown


@pytest.mark.parametrize("given, message", [
    ({"conversations": Path("d.jsonl"), "report": Path("r.md")}, "--report cannot go with --conversations"),
    ({"corpus": "all", "trec_run": Path("t")}, "--trec-run cannot go with --corpus"),
    ({"corpus": "all", "compare": True}, "--compare cannot go with --corpus"),
    ({"calibrate": True, "split": "test"}, "--split cannot go with --corpus or --calibrate"),
])
def test_options_a_way_of_running_would_ignore_are_refused(given, message):
    from chatbot.errors import ChatbotError
    from chatbot.evaluation.options import EvalOptions

    with pytest.raises(ChatbotError, match=message):
        EvalOptions(**given)
