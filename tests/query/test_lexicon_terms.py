"""The general parts of the query path: compound parts, term weights, coverage, the induced lexicon."""

import numpy as np

from chatbot.index import lexicon
from chatbot.query.terms import coverage, is_content_word, question_terms, weight
from chatbot.textnorm import compound_parts, tokens


def test_inflected_forms_meet():
    assert tokens("sprøyterommene")[0] == tokens("sprøyterom")[0] == "sproyterom"
    assert tokens("flyktningar")[0] == tokens("flyktninger")[0]


def test_compounds_split_into_common_words():
    assert compound_parts("døgnbehandling") == ("døgn", "behandling")
    assert compound_parts("behandlingsplasser") == ("behandling", "plasser")
    assert compound_parts("sykehus") == ()  # under eight letters: not split
    assert set(tokens("døgnbehandling")) >= {"dogn", "behandling"}


def test_generic_words_weigh_little():
    assert weight("flere", "nb") < 0.5 < 3 < weight("sprøyterom", "nb")
    assert weight("gratis", "nb") < weight("narkotika", "nb")
    assert not is_content_word("parties", "en") and not is_content_word("mener", "nb")
    assert is_content_word("hospitals", "en")


def test_coverage_counts_rare_words_more():
    terms = question_terms("flere sprøyterom", "nb")
    assert [t.text for t in terms] == ["flere", "sprøyterom"]
    generic_only, _ = coverage(terms, frozenset(tokens("flere plasser")))
    rare_only, rarest = coverage(terms, frozenset(tokens("sprøyterom i byene")))
    assert generic_only < 0.1 < 0.9 < rare_only
    assert rarest == weight("sprøyterom", "nb")


def test_translations_cover_an_english_word():
    terms = question_terms("injection rooms", "en", {"injection": ("sprøyterom",)})
    share, _ = coverage(terms, frozenset(tokens("Etablere sprøyterom")))
    assert terms[0].translated == ("sproyterom",) and share > 0.4


def test_a_translation_does_not_cover_by_its_compound_parts():
    # "ettervern" (aftercare) is not "vern" (protection): a translation counts by whole stems only
    terms = question_terms("aftercare", "en", {"aftercare": ("ettervern",)})
    assert terms[0].translated == ("ettervern",)
    assert coverage(terms, frozenset(tokens("styrke vernet")))[0] == 0.0
    assert coverage(terms, frozenset(tokens("Styrke ettervernet")))[0] == 1.0


def test_lexicon_pairs_mutual_nearest_neighbours_only():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(4, 16))
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    en = np.vstack([base, rng.normal(size=(1, 16))])  # the fifth English word has no partner
    en /= np.linalg.norm(en, axis=1, keepdims=True)
    no = base + 0.01 * rng.normal(size=base.shape)
    no /= np.linalg.norm(no, axis=1, keepdims=True)
    pairs = lexicon.induce(["hospital", "tax", "school", "library", "zebra"], en.astype(np.float32),
                           ["sykehus", "skatt", "skole", "bibliotek"], no.astype(np.float32))
    assert pairs == {"hospital": ["sykehus"], "tax": ["skatt"], "school": ["skole"], "library": ["bibliotek"]}


def test_lexicon_lookup_finds_plain_inflections():
    lex = {"hospital": ["sykehus"], "city": ["by"]}
    assert lexicon.lookup(lex, "Hospitals") == ("sykehus",)
    assert lexicon.lookup(lex, "cities") == ("by",)
    assert lexicon.lookup(lex, "zebra") == ()



def test_coverage_of_each_kind_of_match_with_exact_shares():
    from chatbot.query.terms import Coverage, Term

    whole = Term("a", ("a",), 2.0)
    translated = Term("b", ("b",), 1.0, ("bn",))
    near = Term("c", ("c",), 1.0)
    parts = Term("d", ("dd", "d1", "d2"), 4.0)
    terms = (whole, translated, near, parts)
    covers = Coverage(terms, {"c": ("cx",)})
    # whole 2 x 1.0, translation 1 x 1.0, near spelling 1 x 0.8, one of two compound parts 4 x 0.25
    assert covers(frozenset({"a", "bn", "cx", "d1"})) == ((2.0 + 1.0 + 0.8 + 1.0) / 8.0, 2.0)
    assert covers(frozenset({"cx"})) == (0.8 / 8.0, 1.0)
    assert covers(frozenset({"dd"})) == (4.0 / 8.0, 4.0)
    assert covers(frozenset()) == (0.0, 0.0)
    assert coverage(terms, frozenset({"a"}), {"c": ("cx",)}) == (0.25, 2.0)
    assert Coverage((), {})(frozenset({"a"})) == (0.0, 0.0)
