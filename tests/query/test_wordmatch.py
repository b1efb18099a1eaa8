"""The question's key word against each passage's closest word (chatbot/query/wordmatch.py)."""

from types import SimpleNamespace

import numpy as np

from chatbot.query import wordmatch
from chatbot.query.terms import Term

# three unit vectors: "tann" and "dental" close (cos 0.8), "skatt" orthogonal to both
VECTORS = np.array([[1.0, 0.0, 0.0], [0.8, 0.6, 0.0], [0.0, 0.0, 1.0]], dtype=np.float16)
TABLE = wordmatch.WordTable(["tann", "dental", "skatt"], VECTORS)
PASSAGES = [SimpleNamespace(text="Gratis tannhelse og Tann for alle", section=""),
            SimpleNamespace(text="Lavere skatt", section="Økonomi"),
            SimpleNamespace(text="Ingen kjente ord her", section="")]


def matches(terms, rows):
    index = SimpleNamespace(passages=PASSAGES)
    return wordmatch.matches(TABLE, wordmatch.PassageWords(index, TABLE), terms, rows)


def test_the_heaviest_term_is_matched_to_each_passages_closest_word():
    terms = (Term("care", ("care",), 1.0), Term("dental", ("dental",), 4.0))
    got = matches(terms, [0, 1, 2])
    assert np.allclose(got, [0.8, 0.0, 0.0], atol=1e-3)
    assert matches(terms, []).shape == (0,)


def test_a_key_word_the_table_lacks_matches_nothing():
    terms = (Term("tann", ("tann",), 1.0), Term("tannregulering", ("tannregulering",), 5.0))
    assert matches(terms, [0, 1]).tolist() == [0.0, 0.0]
    assert matches((), [0]).tolist() == [0.0]


def test_the_key_term_is_the_first_of_the_heaviest():
    a, b, c = Term("a", ("a",), 2.0), Term("b", ("b",), 3.0), Term("c", ("c",), 3.0)
    assert wordmatch.key_term((a, b, c)) is b
    assert wordmatch.key_term(()) is None


def test_passage_words_are_the_table_ids_of_distinct_words_in_order():
    assert TABLE.ids_of_text("Skatt, tann og SKATT; dental").tolist() == [2, 0, 1]
    assert TABLE.ids_of_text("og i på").tolist() == []


def test_the_question_model_reads_the_best_match_among_the_five_most_probable():
    from chatbot.query import features as F

    x = np.zeros((7, len(F.NAMES)))
    x[:, F.NAMES.index("word_match")] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.99]
    probs = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3])  # 0.6 and 0.99: the sixth and seventh most probable
    row = F.question_row(x, probs, False)
    assert row[F.QUESTION_NAMES.index("best_word_match")] == 0.5
    assert F.question_row(np.zeros((0, len(F.NAMES))), np.zeros(0), True)[-1] == 0.0
    assert "word_match" not in F.MODE_FEATURES["hybrid"]  # the passage model does not read it
