"""Turn a question into an Answer: prepare it, retrieve candidates, and let the calibrated
decision choose the passages to show, or decline.

No text is generated: an Answer holds the sources' passages and, at most, fixed notices.
The steps live in ``chatbot/query/``: ``prepare`` (cleaning, length, parties, filter,
notices), ``retrieve`` (dense + BM25 candidates and their features), ``decide`` (the fitted
logistic decision). Evaluation and calibration call these same steps through ``Answerer``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .models.protocol import Embedder
from .index.store import Index
from .parties import PartyDirectory
from .query import decide as decide_mod
from .notices import and_list, say
from .query.prepare import (MODES, NOTICE_EMPTY, NOTICE_NONE, NOTICE_ONLY_PARTIES, NOTICE_ONLY_PARTY,  # noqa: F401
                            NOTICE_OTHERS_HAVE, NOTICE_PARTY_NONE, Prepared, check_arguments, prepare)
from .query.retrieve import PassageKeys, Retrieved, retrieve
from .query.repeats import without_repeats
from .query.terms import question_terms
from .querylang import EMPTY as EMPTY_GLOSSARY
from .querylang import Glossary, query_forms
from .records import Answer, Hit
from .textnorm import tokens, words


@dataclass(frozen=True)
class AnswerSettings:
    """Sizes; what to show is the calibrated decision's (``decide.DecisionModel``)."""

    candidates: int = 30  # from each retriever
    max_question_chars: int = 2000

    def __post_init__(self):
        if self.candidates < 1 or self.max_question_chars < 10:
            raise ValueError("invalid AnswerSettings")


@dataclass(frozen=True)
class Searched:
    """A prepared question and what retrieval found for it within its parties. How other parties'
    passages fit never enters the decision (issue 10: another party saying more is no reason to decline)."""

    prepared: Prepared
    own: Retrieved
    vector: np.ndarray | None
    lexical_query: str
    timings: dict
    terms: tuple = ()  # the question's content terms (query.terms.question_terms), translations included

    def question_row(self, probs):
        from .query.features import question_row

        return question_row(self.own.x, probs, bool(self.prepared.restrict), self.own.unknown)


class Answerer:
    """Answers questions from one loaded index with one warmed-up embedder and one decision model."""

    def __init__(self, index: Index, embedder: Embedder, parties: PartyDirectory,
                 settings: AnswerSettings = AnswerSettings(), glossary: Glossary = EMPTY_GLOSSARY,
                 decision: "decide_mod.DecisionModel | None" = None):
        self.index = index
        self.embedder = embedder
        self.parties = parties
        self.settings = settings
        self.glossary = glossary
        self._decision = decision
        self.passage_keys = PassageKeys(index)

    @property
    def decision(self) -> "decide_mod.DecisionModel":
        """The decision model given, else the one fitted for this embedder's model (read on first use)."""
        if self._decision is None:
            self._decision = decide_mod.for_model(self.embedder.model_id, warn=_warn)
        return self._decision

    @property
    def available_parties(self) -> tuple[str, ...]:
        return self.index.parties

    # ------------------------------------------------------------------ the query path

    WARM_UP_QUESTIONS = ("Hva vil partiene gjøre med sykehusene?", "What do the parties want for schools?")

    def warm_up(self) -> None:
        """Answer a question in each language once and drop the answers: what the query path loads on
        first use (wordfreq's word lists, the word table, the ONNX sessions' first runs) is loaded now,
        not by the first users of a server, who would otherwise all wait for it at once (50 concurrent
        first requests took 7 s)."""
        for question in self.WARM_UP_QUESTIONS:
            self.ask(question)

    def ask(self, question: str, k: int = 5, party: str | tuple[str, ...] | list[str] | None = None,
            mode: str = "hybrid", decision: "decide_mod.DecisionModel | None" = None) -> Answer:
        t0 = time.perf_counter()
        found = self.search(question, party, mode, k)
        if isinstance(found, Answer):
            return found
        answer = self.decide(found, k, mode, decision)
        answer.timings_ms["total"] = (time.perf_counter() - t0) * 1000
        return answer

    def search(self, question: str, party=None, mode: str = "hybrid", k: int = 5) -> Searched | Answer:
        """Prepare and retrieve; an ``Answer`` when the question stops before retrieval."""
        check_arguments(question, k, mode)
        prepared = prepare(question, party, self.parties, self.available_parties, mode, self.settings.max_question_chars)
        if isinstance(prepared, Answer):
            return prepared
        timings: dict[str, float] = {}
        t = time.perf_counter()
        vocab = self.index.bm25.vocab_dict
        forms = query_forms(prepared.query, self.glossary,
                            known=lambda w: bool(tokens(w)) and all(x in vocab for x in tokens(w)))
        english = forms.language == "en"
        translations = self._translations(prepared.query) if english else {}
        added = set(forms.added_terms)  # the glossary's terms are in forms.norwegian already
        lexical_query = " ".join([prepared.query, forms.norwegian,
                                  *[w for ws in translations.values() for w in ws if w not in added]]).strip()
        terms = question_terms(prepared.query, forms.language, translations, getattr(self.index, "nynorsk_words", None))
        timings["query"] = (time.perf_counter() - t) * 1000
        vector = None
        if mode in ("dense", "hybrid"):
            t = time.perf_counter()
            vector = self.embedder.embed_queries([prepared.query])[0]  # the model is cross-lingual
            timings["embed"] = (time.perf_counter() - t) * 1000
        allowed = self.index.party_rows(prepared.restrict).allowed if prepared.restrict else None
        own = retrieve(self.index, self.passage_keys, vector, lexical_query, terms, english, allowed, mode,
                       self.settings.candidates)
        timings.update(own.timings)
        return Searched(prepared, own, vector, lexical_query, timings, terms)

    def decide(self, found: Searched, k: int, mode: str, decision: "decide_mod.DecisionModel | None" = None) -> Answer:
        """The answer the decision model gives for what retrieval found."""
        model = (decision or self.decision).for_mode(mode)
        p = found.prepared
        chosen = self._choose(found, model, k, p.restrict)
        timings = dict(found.timings)
        lang = p.notice_language
        missing = _as_typed(found.own.missing_words, p.searched)
        about = dict(mode=mode, searched=p.searched, truncated=p.truncated, language=lang,
                     filtered_out=p.filtered_out, missing_words=missing)
        said = [say("missing_word" if len(missing) == 1 else "missing_words", lang,
                    words=and_list([f"«{w}»" for w in missing], lang))] if missing else []
        if chosen:
            hits = tuple(Hit(rank=i + 1, passage=self.index.passages[c.row], score=prob, dense=c.cos,
                             bm25=c.bm25 if c.bm25_rank is not None or c.bm25 > 0 else None,
                             also=tuple(self.index.passages[r] for r in also))
                         for i, (c, prob, also) in enumerate(chosen))
            return Answer(p.question, True, " ".join(list(p.notices) + said) or None, p.named, hits, p.missing,
                          timings_ms=timings, **about)
        notices = list(p.notices)
        others: tuple[str, ...] = ()
        if p.restrict:
            if not p.filtered_out or set(p.filtered_out) != set(p.named) - set(p.missing):
                # the filter's (or the named) parties have nothing; unless the question only names
                # parties the filter leaves out, which the filtered-out notice already says
                notices.append(say("party_none", lang, party=and_list(p.restrict, lang)))
            others = self._others_with_passages(found, model, mode)
            if others:
                notices.append(say("others_have_filter" if p.filtered else "others_have", lang,
                                   others=and_list(others, lang)))
        else:
            notices.append(say("none", lang))
        notices.extend(said)
        return Answer(p.question, False, " ".join(notices), p.named, missing_parties=p.missing,
                      timings_ms=timings, others_with_passages=others, **about)

    # ------------------------------------------------------------------ helpers

    def _choose(self, searched: Searched, model, k: int, restrict: tuple[str, ...]):
        found = searched.own
        if not found.candidates:
            return []
        probs = model.probabilities(found.x)
        order = sorted(range(len(probs)), key=lambda i: (-probs[i], found.candidates[i].row))
        question = model.question
        if question is not None and question.probability(searched.question_row(probs)) < question.answer_at:
            return []
        if (question is None or model.gate) and probs[order[0]] < model.answer_at:
            return []
        party_of = {c.row: _party(self.index, c) for c in found.candidates}  # looked up once per candidate
        best_of: dict[str, float] = {}  # each party's best probability (order is best first)
        for i in order:
            best_of.setdefault(party_of[found.candidates[i].row], float(probs[i]))
        shown = [(found.candidates[i], float(probs[i])) for n, i in enumerate(order)
                 if n == 0 or probs[i] >= max(model.show_at,
                                              model.show_relative * best_of[party_of[found.candidates[i].row]])]
        if question is not None and len(restrict) != 1:
            shown = self._parties_that_answer(shown, found, probs, question, bool(restrict), party_of)
        # a repeat of a better passage of its party is folded into it: the fuller text at the better place,
        # the other's location kept as "also said at" (query/repeats.py)
        folded = without_repeats([(c, prob, ()) for c, prob in shown], lambda item: party_of[item[0].row],
                                 lambda item: self.index.passages[item[0].row].text, _fold)
        return with_each_party(folded, k, self.index, restrict)

    def _parties_that_answer(self, shown: list, found, probs, question, restricted: bool,
                             party_of: dict[int, str]) -> list:
        """``shown`` without the passages of a party whose own candidates the question model would
        decline: one shared generic word does not put a party among the answers. The best passage's
        party always stays (the question as a whole was answered). ``party_of``: each candidate's
        party, by passage row."""
        from .query.features import question_row

        first = party_of[shown[0][0].row]
        rows: dict[str, list[int]] = {}
        for i, c in enumerate(found.candidates):
            rows.setdefault(party_of[c.row], []).append(i)
        declined = set()
        for party in {party_of[c.row] for c, _ in shown} - {first}:
            idx = rows[party]
            row = question_row(found.x[idx], probs[idx], restricted, found.unknown)
            if question.probability(row) < question.answer_at:
                declined.add(party)
        return [item for item in shown if party_of[item[0].row] not in declined] if declined else shown

    def _others_with_passages(self, found: Searched, model, mode: str) -> tuple[str, ...]:
        """Parties outside the restriction whose passages the decision would answer with."""
        rows = self.index.party_rows(found.prepared.restrict)
        if not len(rows.others):
            return ()
        other = retrieve(self.index, self.passage_keys, found.vector, found.lexical_query, found.terms, found.own.english,
                         rows.others, mode, self.settings.candidates)
        if not other.candidates:
            return ()
        probs = model.probabilities(other.x)
        if model.question is not None:
            from .query.features import question_row

            if model.question.probability(question_row(other.x, probs, False, other.unknown)) < model.question.answer_at:
                return ()
            cut = model.show_at
        else:
            cut = model.answer_at
        best = float(probs.max())
        parties = {self.index.passages[c.row].party for c, pr in zip(other.candidates, probs) if pr >= max(cut, best / 2)}
        return tuple(sorted(parties))

    def _translations(self, query: str) -> dict[str, tuple[str, ...]]:
        from .index.lexicon import lookup
        from .query.terms import is_content_word

        lexicon = getattr(self.index, "lexicon", None)
        out = {}
        for word in words(query):
            if not is_content_word(word, "en"):
                continue
            # the glossary overrides the lexicon induced from the model for the words it has: an induced pair is often
            # a neighbour by shared letters, not a translation ("needle" -> "nytte", beside the glossary's "sprøyte")
            found = tuple(dict.fromkeys(self.glossary.lookup(word) or (lookup(lexicon, word) if lexicon else ())))
            if found:
                out[word.casefold()] = found
        return out


def _as_typed(terms: tuple[str, ...], question: str) -> tuple[str, ...]:
    """Each term (lower case) as the question spells it ("Brasil", not "brasil")."""
    if not terms:
        return ()
    typed: dict[str, str] = {}
    for w in words(question):
        typed.setdefault(w.casefold(), w)
    return tuple(typed.get(t, t) for t in terms)


def _fold(better: tuple, repeat: tuple, fuller: bool) -> tuple:
    """(candidate, probability, rows said again) for a passage and its repeat: the fuller passage, with
    the better one's probability and the other's row among those it says again."""
    if fuller:
        return repeat[0], better[1], better[2] + (better[0].row,) + repeat[2]
    return better[0], better[1], better[2] + (repeat[0].row,) + repeat[2]


def _warn(message: str) -> None:
    import sys

    print(f"chatbot: warning: {message}", file=sys.stderr)


def _party(index: Index, candidate) -> str:
    """The party of a retrieval candidate's passage."""
    return index.passages[candidate.row].party


def with_each_party(ranked: list, k: int, index: Index, restrict: tuple[str, ...]) -> list:
    """Top k; when no single party was asked for, each party with a qualifying passage keeps at least one place."""
    top = ranked[:k]
    if len(restrict) == 1 or len(top) < k:
        return top
    party_of = lambda item: _party(index, item[0])  # noqa: E731
    shown = {party_of(item) for item in top}
    for item in ranked[k:]:
        party = party_of(item)
        if party in shown:
            continue
        counts: dict[str, int] = {}
        for it in top:
            counts[party_of(it)] = counts.get(party_of(it), 0) + 1
        for j in range(len(top) - 1, -1, -1):
            if counts[party_of(top[j])] > 1:
                top.pop(j)
                top.append(item)
                shown.add(party)
                break
    return top
