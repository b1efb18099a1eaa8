"""The evaluation across collections: each collection's questions through the chatbot's own
query path, the decision fitted on the other collections (leave one collection out), and the
textbook pipeline on the same questions in the same run.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from ..fsutil import cache_name
from ..query.decide import DecisionModel
from . import fit as fit_mod
from . import measures as M
from .baseline import Textbook
from .corpora import Corpus
from .figures import Figures
from .measures import MRR_DEPTH
from .options import EvalOptions
from .questions import load_questions
from .ranking import RankingFigures, ranking
from .records import Outcome, Question, Returned
from .relevance import Judge


class Headline(NamedTuple):
    """A column of the collections table: a figure, over every question or over one language's."""

    figure: M.Figure
    lang: str | None = None

    def key(self, k: int) -> str:
        return self.figure.name(k) + (f" {self.lang}" if self.lang else "")

    def short(self, k: int) -> str:
        return self.figure.short(k) + (f" {self.lang}" if self.lang else "")


HEADLINE = (Headline(M.SUCCESS_AT_1), Headline(M.MRR), Headline(M.RECALL), Headline(M.RECALL, "en"),
            Headline(M.GOLD_RECALL), Headline(M.SHOWN_PRECISION), Headline(M.PARTY_AT_1), Headline(M.ABSTENTION),
            Headline(M.FALSE_ABSTENTION))
HeadlineFigures = dict[str, float | None]  # Headline.key(k) -> the figure (None: undefined)


@dataclass(frozen=True)
class CollectionRow:
    """One collection's figures: ours (held out when leaving one out) and the textbook's, if run."""

    corpus: str
    language: str
    fictitious: bool
    sealed: bool
    fitted_on: tuple[str, ...]  # the collections the decision was fitted on
    ours: Figures
    textbook: Figures | None = None
    ranking: RankingFigures | None = None  # ours, the candidates' order alone (nothing declined or cut)

    def to_dict(self, k: int) -> dict:
        out = {"corpus": self.corpus, "language": self.language, "fictitious": self.fictitious, "sealed": self.sealed,
               "fitted_on": list(self.fitted_on), "ours": self.ours.to_dict()}
        if self.ranking is not None:
            out["ranking"] = self.ranking.to_dict(k)
        if self.textbook is not None:
            out["textbook"] = self.textbook.to_dict()
        return {**out, "headline": headline(self.ours, k),
                "textbook_headline": headline(self.textbook, k) if self.textbook is not None else None}


@dataclass(frozen=True)
class CollectionsMean:
    """The headline figures averaged over the collections, for ours and (if run) the textbook's."""

    ours: HeadlineFigures | None = None
    textbook: HeadlineFigures | None = None
    ranking: dict[str, float | None] | None = None  # ours, the candidates' order alone

    def to_dict(self) -> dict[str, HeadlineFigures]:
        return {side: figs for side, figs in (("ours", self.ours), ("textbook", self.textbook), ("ranking", self.ranking))
                if figs is not None}


@dataclass
class Loaded:
    corpus: Corpus
    bot: object
    questions: list[Question]
    judgements: dict
    examples: dict  # mode -> list[fit.Example]


def index_dir_for(corpus: Corpus, cache_root: Path, model_id: str) -> Path:
    return cache_root / "eval-index" / cache_name(f"{corpus.sources}\0{model_id}", label=corpus.name)


def load_all(corpora: list[Corpus], embedder, cache_root: Path, modes: tuple[str, ...], err=sys.stderr,
             questions_override: Path | None = None) -> list[Loaded]:
    from ..service import Chatbot

    out = []
    for c in corpora:
        bot = Chatbot.open(sources_dir=c.sources, index_dir=index_dir_for(c, cache_root, embedder.model_id),
                           embedder=embedder, progress=None)
        questions = load_questions(questions_override or c.questions)
        judge = Judge(bot.answerer.index.passages)
        judgements = {q.id: judge.judge(q) for q in questions if q.answerable}
        examples = {m: fit_mod.collect(bot, c.name, questions, judgements, m) for m in modes}
        print(f"eval: {c.name}: {len(questions)} questions, {len(bot.answerer.index.passages)} passages", file=err, flush=True)
        out.append(Loaded(c, bot, questions, judgements, examples))
    return out


def decision_without(loaded: list[Loaded], held_out: str | None, model_id: str, modes: tuple[str, ...]) -> DecisionModel:
    """The decision fitted on every collection except ``held_out`` (None: on all of them). A sealed
    collection is never fitted on: with ``--include-sealed`` it is scored, never trained on."""
    train = [l for l in loaded if l.corpus.name != held_out and not l.corpus.sealed]
    if not train:
        raise ValueError("leave-one-out needs at least two collections")
    by_mode = {m: [e for l in train for e in l.examples[m]] for m in modes}
    for m in ("dense", "bm25"):  # a decision file holds every mode; unmeasured ones borrow hybrid's examples
        by_mode.setdefault(m, by_mode["hybrid"])
    return fit_mod.fit(by_mode, model_id, tuple(l.corpus.name for l in train))


def outcomes(l: Loaded, decision: DecisionModel, mode: str, k: int) -> list[Outcome]:
    depth = max(k, MRR_DEPTH)
    out = []
    for ex in l.examples[mode]:
        if ex.searched is None:
            out.append(Outcome(ex.question, False, ()))
            continue
        answer = l.bot.answerer.decide(ex.searched, depth, mode, decision)
        out.append(to_outcome(ex.question, answer, l.judgements))
    return out


def to_outcome(q: Question, answer, judgements: dict) -> Outcome:
    found = judgements.get(q.id, {})
    returned = tuple(Returned(rank=i, doc_id=h.passage.id, party=h.passage.party, text=h.passage.text,
                              gold_hits=found.get(h.passage.id, frozenset()), score=h.score, dense=h.dense, bm25=h.bm25)
                     for i, h in enumerate(answer.hits, 1)) if answer.answered else ()
    return Outcome(q, bool(answer.answered), returned, float(answer.timings_ms.get("total", 0.0)))


def baseline_outcomes(l: Loaded, k: int) -> tuple[list[Outcome], dict]:
    tb = Textbook(l.bot.catalog, l.bot.embedder)
    judgements = tb.judge_all(l.questions)
    return tb.ask_all(l.questions, max(k, MRR_DEPTH), judgements), judgements


def headline(figs: Figures, k: int) -> HeadlineFigures:
    out = {}
    for h in HEADLINE:
        source = figs.group("by_lang").get(h.lang, {}) if h.lang else figs
        out[h.key(k)] = source.get(h.figure.name(k))
    return out


# --------------------------------------------------------------------------- command line

def run_cli(args, out=sys.stdout, err=sys.stderr, embedder=None) -> int:
    """``chatbot eval --corpus NAME|all [--leave-one-out] [--calibrate]``: the options read once, then ``run``."""
    return run(EvalOptions.from_args(args), out=out, err=err, embedder=embedder)


def run(opts: EvalOptions, out=sys.stdout, err=sys.stderr, embedder=None) -> int:
    """``chatbot eval --corpus NAME|all [--leave-one-out] [--calibrate]``."""
    import json

    from ..models import factory
    from ..errors import ChatbotError
    from ..query import decide as decide_mod
    from . import corpora as corpora_mod
    from .corpus_report import CollectionOutcomes, markdown_report
    from .scoring import check_floors, figures, per_query_values

    k = opts.k
    chosen = corpora_mod.select(opts.corpus)
    if opts.corpus == "all" and not opts.include_sealed:
        chosen = [c for c in chosen if not c.sealed] or chosen
    every_mode = opts.calibrate or opts.leave_one_out or opts.mode != "hybrid"
    modes = ("hybrid", "dense", "bm25") if every_mode else ("hybrid",)
    embedder = embedder or factory.make_embedder(opts.model, backend=opts.backend)
    embedder.warm_up()
    from ..settings import default_cache_dir

    cache_root = default_cache_dir()
    loaded = load_all(chosen, embedder, cache_root, modes, err, Path(opts.questions) if opts.questions else None)

    if opts.calibrate:
        model = decision_without(loaded, None, embedder.model_id, modes)
        model.meta["questions_embedded_by"] = f"{getattr(embedder, 'backend', '?')} {getattr(embedder, 'query_model', '')}".strip()
        target = Path(opts.write_decision) if opts.write_decision else decide_mod.default_path(embedder.model_id)
        model.save(target)
        print(f"eval: decision fitted on {', '.join(model.fitted_on)} ({model.meta['questions']['hybrid']} questions); "
              f"written to {target}", file=err)
        for m, mm in model.modes.items():
            print(f"  {m}: answer_at {mm.answer_at:.3f}, show_at {mm.show_at:.3f}", file=out)
        return 0

    if opts.leave_one_out and len(loaded) < 2:
        raise ChatbotError("--leave-one-out needs at least two collections (--corpus all)")
    rows = []
    scored = []  # each collection's outcomes, for --report
    for l in loaded:
        if opts.leave_one_out:
            decision = decision_without(loaded, l.corpus.name, embedder.model_id, modes)
        else:
            decision = l.bot.answerer.decision
        outs = outcomes(l, decision, opts.mode, k)
        values = per_query_values(outs, l.judgements, k)
        textbook = None
        if not opts.no_baseline:
            b_outs, b_judged = baseline_outcomes(l, k)
            textbook = _with_precision(figures(b_outs, per_query_values(b_outs, b_judged, k), k), b_outs, k)
        ranked = ranking(l.examples[opts.mode], decision.for_mode(opts.mode), k)
        ours = _with_precision(figures(outs, values, k), outs, k)
        rows.append(CollectionRow(l.corpus.name, l.corpus.language, l.corpus.fictitious, l.corpus.sealed,
                                  tuple(decision.fitted_on), ours, textbook, ranked))
        scored.append(CollectionOutcomes(l.corpus.name, l.corpus.sealed, tuple(decision.fitted_on), tuple(outs), ours))
    summary = _mean_rows(rows, k)
    if opts.json:
        print(json.dumps({"k": k, "mode": opts.mode, "leave_one_out": bool(opts.leave_one_out),
                          "collections": [r.to_dict(k) for r in rows],
                          "mean": summary.to_dict()}, ensure_ascii=False, indent=1), file=out)
    else:
        print(table_text(rows, summary, k, opts.leave_one_out), file=out)
    if opts.report:
        from .report import write_output

        write_output(Path(opts.report), markdown_report(scored, k, opts.mode, bool(opts.leave_one_out),
                                                        opts.show_misses))
        print(f"eval: report written to {opts.report}", file=err)
    failed = check_floors(summary.ours or {}, opts.floors, k)
    if failed:
        print("chatbot: eval (mean over collections): " + "; ".join(failed), file=err)
        return 1
    return 0


def _with_precision(figs: Figures, outs: list[Outcome], k: int) -> Figures:
    from .metrics import calc_aggregate

    return figs.with_means(calc_aggregate(M.hand_measures(k, (M.SHOWN_PRECISION,)), outs))


def _mean_rows(rows: list[CollectionRow], k: int) -> CollectionsMean:
    """Each headline figure's mean over the collections where it is defined (keyed by the headline
    names, which are the figure names check_floors reads)."""
    out = {}
    for side in ("ours", "textbook"):
        heads = [headline(getattr(r, side), k) for r in rows if getattr(r, side) is not None]
        if not heads:
            continue
        out[side] = _means(heads, undefined=0.0)
    ranked = [r.ranking.to_dict(k) for r in rows if r.ranking is not None]
    if ranked:
        out["ranking"] = {key: value for key, value in _means(ranked, undefined=None).items() if key != "n_ranked"}
    return CollectionsMean(**out)


def _means(rows: list[dict], undefined: float | None) -> dict[str, float | None]:
    """Each key's mean over the rows where it is not None (``undefined`` where it never is)."""
    out = {}
    for key in rows[0]:
        values = [r[key] for r in rows if r[key] is not None]
        out[key] = sum(values) / len(values) if values else undefined
    return out


def table_text(rows: list[CollectionRow], summary: CollectionsMean, k: int, held_out: bool) -> str:
    """The collections as a Markdown table; ``held_out``: each was scored with the decision fitted on the others."""
    names = [h.key(k) for h in HEADLINE]
    head = ["collection", "lang", "run"] + [h.short(k) for h in HEADLINE]
    lines = [" | ".join(head), " | ".join("---" for _ in head)]

    def fmtv(v):
        return "–" if v is None else f"{v:.2f}"

    for r in rows:
        label = r.corpus + (" (sealed)" if r.sealed else "")
        h = headline(r.ours, k)
        lines.append(" | ".join([label, r.language, "ours" + (" (held out)" if held_out else "")]
                                + [fmtv(h[n]) for n in names]))
        if r.textbook is not None:
            t = headline(r.textbook, k)
            lines.append(" | ".join(["", "", "textbook"] + [fmtv(t[n]) for n in names]))
    for side, mean in (("ours", summary.ours), ("textbook", summary.textbook)):
        if mean is not None:
            lines.append(" | ".join(["mean", "", side] + [fmtv(mean.get(n)) for n in names]))
    table = "\n".join("| " + line + " |" for line in lines)
    ranked = [r for r in rows if r.ranking is not None]
    if not ranked:
        return table
    head = ["collection", "MRR@10, ranked", f"recall@{k}, ranked", "candidates hold a relevant one"]
    more = [" | ".join(head), " | ".join("---" for _ in head)]
    for r in ranked:
        more.append(" | ".join([r.corpus] + [fmtv(v) for v in (r.ranking.mrr, r.ranking.recall, r.ranking.candidates)]))
    if summary.ranking is not None:
        more.append(" | ".join(["mean"] + [fmtv(v) for v in summary.ranking.values()]))
    return (table + "\n\nThe candidates in the passage model's order, every answerable question answered and nothing cut "
            "(what the decision costs is the gap to the table above):\n\n" + "\n".join("| " + line + " |" for line in more))
