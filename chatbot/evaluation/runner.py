"""Run the evaluation questions through a loaded Chatbot and compute the figures.

The model is loaded once per model; every configuration (mode) asks every question once,
with ``k = max(k, 10)`` so that MRR@10 and nDCG@10 see ten ranks, while recall@k,
gold recall@k and success@400chars read only the top k. The answerer shows only passages
that pass its thresholds, so fewer than k may come back; that is part of what is measured.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable, NamedTuple

from ..errors import ChatbotError
from ..fsutil import cache_name, slug
from .figures import Figures
from .measures import FLOORS, MRR_DEPTH  # noqa: F401  (FLOORS: the floors run_cli checks)
from .options import EvalOptions
from .questions import QuestionsFileError, load_questions, select_split
from .records import Outcome, PerQuery, Question, Returned
from .relevance import Judge
from .scoring import check_floors, figures, per_query_values

MODES = ("bm25", "dense", "hybrid")


class Config(NamedTuple):
    """One column of a comparison: a retrieval mode with a model (None: the configured default)."""

    name: str
    mode: str
    model: str | None = None


class Evaluation(NamedTuple):
    config: Config
    model_id: str
    k: int
    outcomes: tuple[Outcome, ...]
    per_query: tuple[PerQuery, ...]
    figures: Figures  # overall figures plus by_lang / by_category / by_split
    unreachable: tuple[str, ...]  # answerable questions no passage of the index hits


def default_questions_path() -> Path:
    from ..service import project_root

    return project_root() / "eval" / "questions.jsonl"


# --------------------------------------------------------------------------- running

def judge_all(bot, questions: list[Question]) -> dict[str, dict[str, frozenset[int]]]:
    """For each answerable question: every passage of the index that hits one of its gold quotes."""
    judge = Judge(bot.answerer.index.passages)
    return {q.id: judge.judge(q) for q in questions if q.answerable}


def ask_all(bot, questions: list[Question], k: int, mode: str,
            judgements: dict[str, dict[str, frozenset[int]]]) -> list[Outcome]:
    """Ask every question once (top max(k, 10)) and judge what came back."""
    depth = max(k, MRR_DEPTH)
    out = []
    for q in questions:
        t = time.perf_counter()
        answer = bot.ask(q.q, k=depth, mode=mode)
        ms = (time.perf_counter() - t) * 1000
        found = judgements.get(q.id, {})
        returned = tuple(Returned(rank=i, doc_id=h.passage.id, party=h.passage.party, text=h.passage.text,
                                  gold_hits=found.get(h.passage.id, frozenset()), score=h.score,
                                  dense=h.dense, bm25=h.bm25)
                         for i, h in enumerate(answer.hits, 1)) if answer.answered else ()
        out.append(Outcome(q, bool(answer.answered), returned, ms))
    return out


def evaluate(bot, questions: list[Question], k: int = 5, mode: str = "hybrid", config: Config | None = None,
             judgements: dict | None = None) -> Evaluation:
    """Ask, judge and score: one configuration on one loaded Chatbot."""
    if judgements is None:
        judgements = judge_all(bot, questions)
    outcomes = ask_all(bot, questions, k, mode, judgements)
    values = per_query_values(outcomes, judgements, k)
    unreachable = tuple(q.id for q in questions if q.answerable and not judgements.get(q.id))
    return Evaluation(config or Config(mode, mode), bot.embedder.model_id, k, tuple(outcomes), tuple(values),
                      figures(outcomes, values, k), unreachable)


# --------------------------------------------------------------------------- configurations

def configurations(opts: EvalOptions) -> list[Config]:
    """The runs to make: one mode, or (--compare) bm25/dense/hybrid with the default model plus
    dense/hybrid with --model when one is given."""
    if not opts.compare:
        return [Config(opts.mode, opts.mode, opts.model)]
    from ..models.spec import DEFAULT_MODEL

    configs = [Config(mode, mode, DEFAULT_MODEL) for mode in MODES]
    if opts.model and opts.model != DEFAULT_MODEL:
        label = _model_label(opts.model)
        configs += [Config(f"{mode}:{label}", mode, opts.model) for mode in ("dense", "hybrid")]
    return configs


def primary(configs: list[Config], opts: EvalOptions) -> int:
    """Which configuration the floors apply to: --mode with the first (default) model."""
    for i, c in enumerate(configs):
        if c.mode == opts.mode and c.model == configs[0].model:
            return i
    return 0


def _model_label(model: str) -> str:
    return Path(model.rstrip("/")).name or model


def extra_index_dir(model: str, cache_dir: Path | None = None) -> Path:
    """A separate index for a model compared with the default one, so the main index stays as is: in the
    settings' cache folder (``cache_dir``; None: the environment's, $CHATBOT_CACHE_DIR and so on)."""
    if cache_dir is None:
        from ..settings import default_cache_dir

        cache_dir = default_cache_dir()
    return Path(cache_dir) / "eval-index" / cache_name(model)


OpenBot = Callable[[str | None], object]


def _opener(opts: EvalOptions, bot, open_bot) -> OpenBot:
    if open_bot is not None:
        return open_bot
    if bot is not None:
        return lambda _model: bot

    def open_default(model: str | None):
        from ..models.spec import DEFAULT_MODEL
        from ..service import Chatbot

        config = opts.settings  # chatbot.settings.Settings, from the command line
        separate = opts.compare and model is not None and model != DEFAULT_MODEL
        index_dir = extra_index_dir(model, config.cache_dir if config else None) if separate else opts.index
        return Chatbot.open(sources_dir=opts.sources, index_dir=index_dir, model=model,
                            backend=opts.backend, config=config)

    return open_default


# --------------------------------------------------------------------------- command line

def run_cli(args: argparse.Namespace | EvalOptions, *, bot=None, open_bot: OpenBot | None = None, out=None,
            err=None) -> int:
    """``chatbot eval``: the command line's options, read once into an ``EvalOptions``, then ``run``."""
    return run(EvalOptions.from_args(args), bot=bot, open_bot=open_bot, out=out, err=err)


def run(opts: EvalOptions, *, bot=None, open_bot: OpenBot | None = None, out=None, err=None) -> int:
    """``chatbot eval``. Tests pass ``bot`` (used for every model) or ``open_bot(model) -> Chatbot``."""
    from . import report

    out = out or sys.stdout
    err = err or sys.stderr
    if opts.conversations:
        from . import conversations
        return conversations.run(opts, bot=bot, out=out, err=err)
    k = opts.k
    if opts.corpus or opts.calibrate:
        from . import crosscorpus

        if not opts.corpus:
            opts = replace(opts, corpus="all")
        embedder = bot.embedder if bot is not None else None
        return crosscorpus.run(opts, out=out, err=err, embedder=embedder)
    if opts.leave_one_out:
        raise ChatbotError("--leave-one-out goes with --corpus NAME|all")
    path = Path(opts.questions) if opts.questions else default_questions_path()
    questions = select_split(load_questions(path), opts.split)
    if not questions:
        raise QuestionsFileError(f"{path} has no questions in the {opts.split} split")
    opener = _opener(opts, bot, open_bot)

    configs = configurations(opts)
    bots: dict = {}
    judged: dict = {}
    evaluations: list[Evaluation] = []
    for cfg in configs:
        if cfg.model not in bots:
            bots[cfg.model] = opener(cfg.model)
        b = bots[cfg.model]
        if id(b) not in judged:
            judged[id(b)] = judge_all(b, questions)
        print(f"eval: {cfg.name}: {len(questions)} questions ({opts.split}), model {b.embedder.model_id}",
              file=err, flush=True)
        evaluations.append(evaluate(b, questions, k, cfg.mode, cfg, judged[id(b)]))

    for ev in evaluations[:1]:
        if ev.unreachable:
            print(f"eval: warning: no passage of the index hits the gold of {len(ev.unreachable)} question(s): "
                  f"{', '.join(ev.unreachable)}", file=err)

    meta = {"questions": str(path), "split": opts.split, "k": k}
    compare = len(evaluations) > 1 or opts.compare
    if opts.json:
        if compare:
            data = {"configs": {ev.config.name: report.to_json(ev, meta) for ev in evaluations}}
        else:
            data = report.to_json(evaluations[0], meta)
        print(json.dumps(data, ensure_ascii=False, indent=2), file=out)
    else:
        print(report.compare_text(evaluations, meta) if compare else report.single_text(evaluations[0], meta),
              file=out)
    if opts.report:
        report.write_output(Path(opts.report), report.markdown_report(evaluations, meta, compare))
    if opts.trec_run:
        for ev in evaluations:
            target = Path(opts.trec_run)
            if compare:
                target = target.with_name(f"{target.stem}.{slug(ev.config.name)}{target.suffix}")
            report.write_output(target, "".join(report.trec_lines(ev)))

    chosen = evaluations[primary(configs, opts)]
    failed = check_floors(chosen.figures, opts.floors, k)
    if failed:
        where = f" ({chosen.config.name})" if compare else ""
        print(f"chatbot: eval{where}: " + "; ".join(failed), file=err)
        return 1
    return 0

