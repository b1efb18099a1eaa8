"""Fit the decision (``chatbot/query/decide.py``) on evaluation questions.

Every question goes through the chatbot's own query path (``Answerer.search``); each
candidate it retrieves becomes one example, labelled relevant when it hits a gold quote.
A logistic model per retrieval mode is fitted on all examples of the given collections, and
then the cut-offs: the question model's and ``answer_at`` to weigh abstention against false
abstention, ``show_at`` for the passages shown. The cut-offs are chosen on out-of-fold scores (each
collection scored by models fitted on the others), as a new programme will be scored. Nothing is
fitted on the collection scored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..query import features as F
from ..query.decide import DecisionModel, ModeModel, QuestionModel
from .records import Question

# abstention - FALSE_ABSTENTION_COST * false abstention is what the question model's cut-off (and answer_at,
# which gates only without a question model) maximise
FALSE_ABSTENTION_COST = 4.0
REGULARISATION = 1.0  # sklearn's C
# show_at maximises F-beta of the passages shown (beta > 1 weighs recall more) over the questions the
# question model answers. With beta 1 it was capped by answer_at, an extreme value (the middle of the plateau
# below the lowest best probability answered) that moved with every refit: 0.08 -> 0.14 when 15 list-lead
# passages of three collections went, and recall@5 with it. F2 over the whole grid, uncapped, moved less.
SHOW_BETA = 2.0
# The question model's cut-off maximises the utility (abstention - FALSE_ABSTENTION_COST x false abstention)
# averaged over a window of this half-width around it: the utility of out-of-fold scores is a step function, and
# its raw argmax jumped with small changes of the data (one collection's abstention 0.62 -> 0.38 after three other
# collections lost 15 list-lead passages; with the window the choice did not move). Tried and not kept: the
# highest cut-off declining at most 4 % of the answerable questions (README).
QUESTION_WINDOW = 0.05
# ... and that choice is bagged: the mean over this many resamples of the training collections (0: not bagged).
QUESTION_BAGS = 200
QUESTION_BAGS_SEED = 0
CUTOFF_GRID = np.linspace(0.01, 0.99, 99)
# A passage is shown only when it also reaches this share of its party's best passage's probability. Chosen on the
# nine development collections, each held out, by a rule set before the run (MRR and recall@5 down by at most
# 0.005, shown precision up by at least 0.03; README, "Across collections"); the sealed ones were scored after.
SHOW_RELATIVE = 0.2


@dataclass(frozen=True)
class Example:
    """One question's candidates through the query path: the features and their labels."""

    corpus: str
    question: Question
    searched: object | None  # answer.Searched, or None when the question stopped before retrieval
    x: np.ndarray
    y: np.ndarray  # 1 where the candidate hits a gold quote


def collect(bot, corpus: str, questions: list[Question], judgements: dict, mode: str) -> list[Example]:
    """Run every question through ``bot``'s query path (no decision yet)."""
    from ..answer import Searched

    out = []
    for q in questions:
        found = bot.answerer.search(q.q, None, mode)
        if not isinstance(found, Searched):
            out.append(Example(corpus, q, None, np.zeros((0, len(F.NAMES))), np.zeros(0)))
            continue
        hits = judgements.get(q.id, {})
        passages = bot.answerer.index.passages
        y = np.array([1.0 if passages[c.row].id in hits else 0.0 for c in found.own.candidates])
        out.append(Example(corpus, q, found, found.own.x, y))
    return out


def _fit_passages(examples: list[Example], mode: str) -> ModeModel:
    """The passage model's weights (cut-offs still at 0.5)."""
    from sklearn.linear_model import LogisticRegression

    names = F.MODE_FEATURES[mode]
    cols = F.columns(mode)
    rows = [e for e in examples if len(e.y)]
    x = np.vstack([e.x[:, cols] for e in rows])
    y = np.concatenate([e.y for e in rows])
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    clf = LogisticRegression(C=REGULARISATION, max_iter=2000)
    clf.fit((x - mean) / scale, y)
    return ModeModel(tuple(names), tuple(map(float, mean)), tuple(map(float, scale)), tuple(map(float, clf.coef_[0])),
                     float(clf.intercept_[0]), 0.5, 0.5)


@dataclass(frozen=True)
class Scored:
    """What a fitted pair of models says about each example: passage probabilities and P(answer)."""

    probs: list[np.ndarray]
    asked: np.ndarray | None  # the question model's probability per example, None without one


def _score(examples: list[Example], model: ModeModel, question: QuestionModel | None) -> Scored:
    probs = [model.probabilities(e.x) if len(e.y) else np.zeros(0) for e in examples]
    if question is None:
        return Scored(probs, None)
    rows = _question_rows(examples, model)
    return Scored(probs, np.array([question.probability(r) for r in rows]))


def _out_of_fold(examples: list[Example], mode: str) -> Scored | None:
    """Each collection's examples scored by models fitted on the other collections, as a new programme
    will be: cut-offs chosen on these hold for text the weights never saw (in-sample probabilities are
    sharper than a new collection's, and cut-offs fitted on them moved with every refit). None with
    fewer than three collections."""
    corpora = sorted({e.corpus for e in examples})
    if len(corpora) < 3:
        return None
    probs: list[np.ndarray | None] = [None] * len(examples)
    asked = np.zeros(len(examples))
    have_question = True
    for c in corpora:
        train = [e for e in examples if e.corpus != c]
        held = [i for i, e in enumerate(examples) if e.corpus == c]
        model = _fit_passages(train, mode)
        question = _fit_question(train, model)
        scored = _score([examples[i] for i in held], model, question)
        have_question &= scored.asked is not None
        for j, i in enumerate(held):
            probs[i] = scored.probs[j]
            asked[i] = scored.asked[j] if scored.asked is not None else 1.0
    return Scored(probs, asked if have_question else None)


def fit_mode(examples: list[Example], mode: str) -> ModeModel:
    draft = _fit_passages(examples, mode)
    question = _fit_question(examples, draft)
    scored = _out_of_fold(examples, mode) or _score(examples, draft, question)
    if question is not None and scored.asked is not None:
        y = np.array([1.0 if e.question.answerable else 0.0 for e in examples])
        kept = np.array([e.searched is not None for e in examples])
        corpora = np.array([e.corpus for e in examples])
        at = question_cutoff(scored.asked[kept], y[kept] > 0, corpora[kept])
        question = QuestionModel(question.mean, question.scale, question.coef, question.intercept, float(at))
    answer_at, show_at = _cutoffs(examples, scored, question)
    # No passage gate after the question model: the question model alone answers or declines. A second
    # cut-off on the best passage's probability stacked on it was fitted to the training collections'
    # probability levels; held out, it declined a nynorsk collection's answerable questions (bolig: false
    # abstention 0.25 with it, 0.12 without; no collection gained). answer_at then only caps show_at.
    return ModeModel(draft.features, draft.mean, draft.scale, draft.coef, draft.intercept, answer_at, show_at,
                     question, gate=False, show_relative=SHOW_RELATIVE)


def _question_rows(examples: list[Example], model: ModeModel) -> np.ndarray:
    rows = []
    for e in examples:
        probs = model.probabilities(e.x) if len(e.y) else np.zeros(0)
        if e.searched is None:
            rows.append(F.question_row(np.zeros((0, len(F.NAMES))), probs, False))
        else:
            rows.append(e.searched.question_row(probs))
    return np.vstack(rows)


def _fit_question(examples: list[Example], model: ModeModel) -> QuestionModel | None:
    """The question model's weights over the questions that reached retrieval (its cut-off still at 0.5:
    fit_mode chooses it on out-of-fold scores); None when they are all answerable or all not."""
    from sklearn.linear_model import LogisticRegression

    kept = [e for e in examples if e.searched is not None]
    y = np.array([1.0 if e.question.answerable else 0.0 for e in kept])
    if len(set(y)) < 2:
        return None
    x = _question_rows(kept, model)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    clf = LogisticRegression(C=REGULARISATION, max_iter=2000)
    clf.fit((x - mean) / scale, y)
    return QuestionModel(tuple(map(float, mean)), tuple(map(float, scale)), tuple(map(float, clf.coef_[0])),
                         float(clf.intercept_[0]), 0.5)


def _grid(values: np.ndarray, decimals: int | None = None) -> np.ndarray:
    """Cut-offs to try: the values seen (rounded when asked) and a fixed 0.02 step, strictly inside (0, 1)."""
    grid = np.concatenate([values, np.linspace(0.02, 0.98, 49)])
    grid = np.unique(grid if decimals is None else np.round(grid, decimals))
    return grid[(grid > 0.0) & (grid < 1.0)]


def plateau_middle(grid, score) -> float:
    """The cut-off in the middle of the best-scoring run of ``grid`` (sorted): where the score is
    flat over a range, its lowest end would sit on the edge of what the fit has seen (one cut-off
    of 0.02 answered nonsense) and its highest on the other edge; the middle is the stable choice."""
    grid = list(grid)
    values = [score(t) for t in grid]
    best = max(values)
    i = values.index(best)
    j = i
    while j + 1 < len(values) and values[j + 1] == best:
        j += 1
    return float(grid[(i + j) // 2])


def question_cutoff(asked: np.ndarray, answerable: np.ndarray, corpora: np.ndarray | None = None) -> float:
    """The cut-off on P(answer) whose utility, averaged over ±QUESTION_WINDOW, is highest (the lowest such).

    With ``corpora`` (each question's collection) and QUESTION_BAGS > 0, the mean of that choice over
    QUESTION_BAGS resamples of the collections (drawn with replacement, a fixed seed): bagged, because the
    windowed utility often has two peaks of nearly equal height, and its argmax jumped between them when
    one collection's features changed a little (README, *Evaluation*, 2026-12-07)."""
    if corpora is None or QUESTION_BAGS <= 0:
        return _windowed_argmax(asked, answerable)
    names = sorted(set(corpora))
    if len(names) < 2:
        return _windowed_argmax(asked, answerable)
    rows = [np.flatnonzero(corpora == c) for c in names]
    rng = np.random.default_rng(QUESTION_BAGS_SEED)
    picks = []
    for _ in range(QUESTION_BAGS):
        drawn = np.concatenate([rows[i] for i in rng.integers(0, len(names), len(names))])
        picks.append(_windowed_argmax(asked[drawn], answerable[drawn]))
    return float(np.round(np.mean(picks), 2))


def _windowed_argmax(asked: np.ndarray, answerable: np.ndarray) -> float:
    utility = np.array([_utility(asked >= t, answerable) for t in CUTOFF_GRID])
    smooth = np.array([utility[np.abs(CUTOFF_GRID - t) <= QUESTION_WINDOW + 1e-9].mean() for t in CUTOFF_GRID])
    return float(CUTOFF_GRID[int(np.argmax(smooth))])


def _utility(answered: np.ndarray, answerable: np.ndarray) -> float:
    abst = float((~answered[~answerable]).mean()) if (~answerable).any() else 1.0
    false_abst = float((~answered[answerable]).mean()) if answerable.any() else 0.0
    return abst - FALSE_ABSTENTION_COST * false_abst


def _cutoffs(examples: list[Example], scored: Scored, question: QuestionModel | None = None) -> tuple[float, float]:
    probs = scored.probs
    best = np.array([float(p.max()) if len(p) else 0.0 for p in probs])
    answerable = np.array([e.question.answerable for e in examples])
    if question is not None and scored.asked is not None:
        asked = scored.asked >= question.answer_at
        best = np.where(asked, best, 0.0)  # declined by the question model: no passage cut-off answers it
    grid = _grid(best, decimals=4)
    answer_at = plateau_middle(grid, lambda t: _utility(best >= t, answerable))
    decides = question is not None and scored.asked is not None  # the question model answers or declines
    # show_at: passage F-beta over the candidates of answered, answerable questions
    pairs = [(p, e.y) for p, e, b in zip(probs, examples, best)
             if e.question.answerable and (b > 0 if decides else b >= answer_at) and len(p)]
    if not pairs:
        return float(answer_at), float(answer_at)
    p_all = np.concatenate([p for p, _ in pairs])
    y_all = np.concatenate([y for _, y in pairs])

    def fbeta(t: float) -> float:
        shown = p_all >= t
        tp = float((shown & (y_all > 0)).sum())
        if tp == 0:
            return 0.0
        precision = tp / float(shown.sum())
        recall = tp / float((y_all > 0).sum())
        b2 = SHOW_BETA ** 2
        return (1 + b2) * precision * recall / (b2 * precision + recall)

    if decides:  # answer_at gates nothing: show_at is not capped by it (and answer_at is kept at least as high)
        show_at = float(max(CUTOFF_GRID, key=lambda t: (fbeta(t), t)))
        return max(float(answer_at), show_at), show_at
    show_grid = [t for t in grid if t <= answer_at] or [answer_at]
    show_at = max(show_grid, key=lambda t: (fbeta(t), t))
    return float(answer_at), float(show_at)


def fit(examples_by_mode: dict[str, list[Example]], model_id: str, fitted_on: tuple[str, ...]) -> DecisionModel:
    modes = {mode: fit_mode(ex, mode) for mode, ex in examples_by_mode.items()}
    return DecisionModel(model_id, modes, fitted_on, note="fitted by `chatbot eval --calibrate`",
                         meta={"examples": {m: int(sum(len(e.y) for e in ex)) for m, ex in examples_by_mode.items()},
                               "questions": {m: len(ex) for m, ex in examples_by_mode.items()}})
