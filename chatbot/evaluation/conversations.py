"""The conversation evaluation: ``chatbot eval --conversations FILE [--json]``.

A dialogue file has one JSON object per line (``eval/conversations/*.jsonl``)::

    {"id": "t-rus-01", "corpus": "rusomsorg",
     "turns": [{"q": "Hva vil Helsepartiet med sprøyterom?", "gold": [{"party": "Helsepartiet", "quote": "…"}],
                "followup": false, "standalone": "Hva vil Helsepartiet med sprøyterom?", "answerable": true},
               {"q": "og Venstre?", "gold": [], "followup": true,
                "standalone": "Hva vil Venstre med sprøyterom?", "answerable": false}]}

``corpus`` names a collection of ``eval/corpora/`` (its sources and its own index). Every turn
is asked three ways, with the same gold and the usual relevance rule:

- in the conversation (``chatbot.chat.take_turn``: the follow-up rules, then ``bot.ask``);
- alone, as typed, without the conversation (what the chat did before follow-ups were read);
- as the hand-written ``standalone`` question (the reference: what a perfect reading would get).

Reported separately for follow-up turns and for standalone turns: success@1, MRR@10,
recall@k and the other usual figures, abstention and false abstention; how often a follow-up
was recognised (earlier turns changed the question), how often a standalone question was
rewritten (it must not be), and the time the rules take per turn.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import ChatbotError
from . import measures as M
from .figures import Figures
from .jsonl import json_object, numbered_lines, read_text, where
from .options import EvalOptions
from .records import GoldQuote, Outcome, Question, Returned
from .relevance import Judge

FLOORS = M.CONVERSATION_FLOORS  # on the groups of ``summarise``: followup, standalone and the rules
SHOWN = (M.SUCCESS_AT_1, M.MRR, M.RECALL, M.GOLD_RECALL, M.PARTY_AT_1, M.ABSTENTION, M.FALSE_ABSTENTION)


class DialoguesFileError(ChatbotError):
    """A conversation file that cannot be read or is badly formed."""


@dataclass(frozen=True)
class Turn:
    q: str
    gold: tuple[GoldQuote, ...]
    followup: bool
    standalone: str
    answerable: bool


@dataclass(frozen=True)
class Dialogue:
    id: str
    corpus: str
    turns: tuple[Turn, ...]
    line: int = 0
    sealed: bool = False  # "sealed": true in the file: a blind dialogue on any collection (its misses hidden)


def load_dialogues(path: Path) -> list[Dialogue]:
    text = read_text(Path(path), DialoguesFileError, "dialogues file")
    out: list[Dialogue] = []
    seen: set[str] = set()
    for n, line in numbered_lines(text, comments=True):
        out.append(parse_dialogue(line, n, path))
        if out[-1].id in seen:
            raise DialoguesFileError(f"{where(path, n)}: the id {out[-1].id!r} is used twice")
        seen.add(out[-1].id)
    if not out:
        raise DialoguesFileError(f"{path} has no dialogues")
    return out


def parse_dialogue(line: str, n: int = 1, path: Path | str = "<dialogues>") -> Dialogue:
    def bad(msg: str) -> DialoguesFileError:
        return DialoguesFileError(f"{where(path, n)}: {msg}")

    data = json_object(line, n, path, DialoguesFileError)
    turns = data.get("turns")
    if not isinstance(turns, list) or not turns:
        raise bad('"turns" must be a non-empty list')
    out = []
    for i, t in enumerate(turns, 1):
        if not isinstance(t, dict) or not isinstance(t.get("q"), str):
            raise bad(f'turn {i} needs "q" (text)')
        gold = t.get("gold", [])
        if not isinstance(gold, list) or not all(isinstance(g, dict) and isinstance(g.get("party"), str)
                                                 and isinstance(g.get("quote"), str) for g in gold):
            raise bad(f'turn {i}: "gold" must be a list of {{"party", "quote"}}')
        standalone = t.get("standalone", t["q"])
        if not isinstance(standalone, str):
            raise bad(f'turn {i}: "standalone" must be text')
        followup = t.get("followup", i > 1)
        answerable = t.get("answerable", bool(gold))
        out.append(Turn(t["q"], tuple(GoldQuote(g["party"], g["quote"]) for g in gold), bool(followup), standalone,
                        bool(answerable)))
    sealed = data.get("sealed", False)
    if not isinstance(sealed, bool):
        raise bad('"sealed" must be true or false')
    return Dialogue(str(data.get("id") or f"line-{n}"), str(data.get("corpus") or "rusomsorg"), tuple(out), n, sealed)


# --------------------------------------------------------------------------- running

@dataclass(frozen=True)
class TurnResult:
    dialogue: str
    index: int  # 0-based
    turn: Turn
    interpreted: str
    context_used: bool
    rule: str
    rules_ms: float
    chat: Outcome  # in the conversation
    alone: Outcome  # the typed words alone
    reference: Outcome  # the hand-written standalone question


def _question(qid: str, text: str, turn: Turn, party: str | None, category: str) -> Question:
    from ..querylang import detect_language

    return Question(qid, text, detect_language(turn.standalone), category, party, turn.gold, turn.answerable, "test")


def _outcome(q: Question, answer, found: dict) -> Outcome:
    returned = tuple(Returned(rank=i, doc_id=h.passage.id, party=h.passage.party, text=h.passage.text,
                              gold_hits=found.get(h.passage.id, frozenset()), score=h.score, dense=h.dense, bm25=h.bm25)
                     for i, h in enumerate(answer.hits, 1)) if answer.answered else ()
    return Outcome(q, bool(answer.answered), returned, float(answer.timings_ms.get("total", 0.0)))


def run_dialogue(bot, dialogue: Dialogue, k: int = 5, mode: str = "hybrid", judge: Judge | None = None) -> list[TurnResult]:
    from ..chat import Conversation, take_turn

    depth = max(k, M.MRR_DEPTH)
    judge = judge or Judge(bot.answerer.index.passages)
    conversation = Conversation()
    out = []
    for i, turn in enumerate(dialogue.turns):
        qid = f"{dialogue.id}#{i + 1}"
        named = list(dict.fromkeys(m.party for m in bot.answerer.parties.find(turn.standalone)))
        party = named[0] if len(named) == 1 else None
        category = "followup" if turn.followup else "standalone"
        base = _question(qid, turn.q, turn, party, category)
        found = judge.judge(base) if turn.answerable else {}
        chat_turn = take_turn(bot, conversation, turn.q, k=depth, mode=mode)
        alone = bot.ask(turn.q, k=depth, mode=mode)
        reference = bot.ask(turn.standalone, k=depth, mode=mode)
        out.append(TurnResult(
            dialogue.id, i, turn, chat_turn.reading.interpreted, chat_turn.reading.context_used, chat_turn.reading.kind,
            chat_turn.rules_ms, _outcome(base, chat_turn.answer, found),
            _outcome(base._replace(q=turn.q), alone, found),
            _outcome(base._replace(q=turn.standalone), reference, found)))
    return out


def judgements_of(results: list[TurnResult], judges: dict) -> dict:
    return {r.chat.question.id: judges[r.dialogue].judge(r.chat.question) for r in results if r.turn.answerable}


@dataclass(frozen=True, eq=False)  # equal as mappings, to a dict too
class Summary(Mapping):
    """The figures of a conversation run: one ``Figures`` per group of turns ("followup", "standalone",
    ...) and the rules' own figures ("rules"); a Mapping by group name, as the floors and reports read it."""

    groups: dict[str, Figures]  # "followup", "followup_alone", ..., "all"
    rules: dict  # recognised, wrongly_rewritten, ... and the rules' counts and timings
    followup_by_lang: dict[str, Figures]

    def __getitem__(self, name: str):
        if name == "rules":
            return self.rules
        if name == "followup_by_lang":
            return self.followup_by_lang
        return self.groups[name]

    def __iter__(self):
        yield from self.groups
        yield "rules"
        yield "followup_by_lang"

    def __len__(self) -> int:
        return len(self.groups) + 2

    def to_dict(self) -> dict:
        return {**{name: f.to_dict() for name, f in self.groups.items()}, "rules": self.rules,
                "followup_by_lang": {lang: f.to_dict() for lang, f in self.followup_by_lang.items()}}


def summarise(results: list[TurnResult], judgements: dict, k: int) -> Summary:
    from .scoring import aggregate, per_query_values

    def figs(outcomes: list[Outcome]) -> Figures:
        if not outcomes:
            return Figures({}, {"n_questions": 0})
        return aggregate(outcomes, per_query_values(outcomes, judgements, k), k)

    follow = [r for r in results if r.turn.followup]
    alone = [r for r in results if not r.turn.followup]
    later = [r for r in alone if r.index > 0]
    unanswerable_follow = [r for r in follow if not r.turn.answerable]
    unrecognised = [r for r in follow if not r.context_used]
    mean = lambda xs: (sum(xs) / len(xs)) if xs else None  # noqa: E731
    kinds: dict[str, int] = {}
    for r in follow:
        kinds[r.rule] = kinds.get(r.rule, 0) + 1
    rules = {
        M.RECOGNISED.pattern: mean([1.0 if r.context_used else 0.0 for r in follow]),
        M.WRONGLY_REWRITTEN.pattern: mean([1.0 if r.context_used else 0.0 for r in alone]),
        "wrongly_rewritten_after_first": mean([1.0 if r.context_used else 0.0 for r in later]),
        "interpreted_as_written": mean([1.0 if _same(r.interpreted, r.turn.standalone) else 0.0 for r in follow]),
        # a follow-up read as a question of its own can still be served: the turn names its topic again
        "n_unrecognised": len(unrecognised),
        "unrecognised_right_as_typed": mean([1.0 if _right(r) else 0.0 for r in unrecognised]),
        "abstention_party_without_topic": mean([0.0 if r.chat.answered else 1.0 for r in unanswerable_follow]),
        "rules_ms_mean": mean([r.rules_ms for r in results]),
        "rules_ms_median": _median([r.rules_ms for r in results]),
        "rules_ms_max": max((r.rules_ms for r in results), default=None),
        "n_followup": len(follow), "n_standalone": len(alone), "n_standalone_after_first": len(later),
        "followup_rules": dict(sorted(kinds.items())),
    }
    groups = {
        "followup": figs([r.chat for r in follow]),
        "followup_alone": figs([r.alone for r in follow]),
        "followup_reference": figs([r.reference for r in follow]),
        "standalone": figs([r.chat for r in alone]),
        "standalone_alone": figs([r.alone for r in alone]),
        "standalone_reference": figs([r.reference for r in alone]),
        "all": figs([r.chat for r in results]),
    }
    by_lang: dict[str, list[TurnResult]] = {}
    for r in follow:
        by_lang.setdefault(r.chat.question.lang, []).append(r)
    return Summary(groups, rules, {lang: figs([r.chat for r in rs]) for lang, rs in sorted(by_lang.items())})


def _right(r: TurnResult) -> bool:
    """The turn's answer in the conversation is right: its first passage relevant, or (unanswerable) declined."""
    if r.turn.answerable:
        return bool(r.chat.returned and r.chat.returned[0].relevant)
    return not r.chat.answered


def _median(xs: list[float]) -> float | None:
    xs = sorted(xs)
    if not xs:
        return None
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2


def _same(a: str, b: str) -> bool:
    norm = lambda s: " ".join(s.casefold().replace("?", " ").replace(".", " ").split())  # noqa: E731
    return norm(a) == norm(b)


def misses(results: list[TurnResult], judgements: dict) -> list[dict]:
    """Follow-up turns the conversation got wrong: an answerable turn whose first passage misses,
    or an unanswerable one that was answered."""
    out = []
    for r in results:
        if not r.turn.followup:
            continue
        if not _right(r):
            out.append({"id": r.chat.question.id, "q": r.turn.q, "interpreted": r.interpreted, "rule": r.rule,
                        "standalone": r.turn.standalone, "answerable": r.turn.answerable,
                        "answered": r.chat.answered,
                        "reference_first_hit": bool(r.reference.returned and r.reference.returned[0].relevant)})
    for r in results:
        if not r.turn.followup and r.context_used:
            out.append({"id": r.chat.question.id, "q": r.turn.q, "interpreted": r.interpreted, "rule": r.rule,
                        "standalone": r.turn.standalone, "rewritten_standalone": True})
    return out


# --------------------------------------------------------------------------- command line

def check_floors(summary: Summary, floors: dict[str, float], k: int) -> list[str]:
    """The conversation floors the summary misses, then the usual ones (--min-success1 …) over every turn."""
    from .scoring import check_floors as check

    failed = check(summary, floors, k, FLOORS)
    failed.extend(f"all turns: {f}" for f in check(summary.groups["all"], floors, k))
    return failed


def text_report(summary: Summary, meta: dict, k: int, missed: list[dict]) -> str:
    names = M.names(k, SHOWN)
    head = f"{'turns':<34}" + "".join(f"{n:>17}" for n in names) + f"{'n':>6}"
    lines = [f"conversations: {meta['file']} ({meta['dialogues']} dialogues, {meta['turns']} turns), k={k}, "
             f"mode {meta['mode']}, model {meta['model']}", "", head]
    rows = (("follow-up, in the conversation", "followup"), ("follow-up, alone as typed", "followup_alone"),
            ("follow-up, hand-written standalone", "followup_reference"),
            ("standalone, in the conversation", "standalone"), ("standalone, alone", "standalone_alone"),
            ("standalone, hand-written", "standalone_reference"))
    for label, key in rows:
        f = summary.groups[key]
        cells = "".join(f"{_fmt(f.get(n)):>17}" for n in names)
        lines.append(f"{label:<34}{cells}{f.get('n_questions', 0):>6}")
    r = summary.rules
    lines += ["",
              f"follow-ups recognised: {_fmt(r[M.RECOGNISED.pattern])} of {r['n_followup']}"
              + (f" (of the {r['n_unrecognised']} not recognised, {_fmt(r['unrecognised_right_as_typed'])} answered right "
                 f"as typed)" if r["n_unrecognised"] else "")
              + "; read exactly as hand-written: "
              + f"{_fmt(r['interpreted_as_written'])}; rules used: "
              + ", ".join(f"{kind} {n}" for kind, n in r["followup_rules"].items()),
              f"standalone questions rewritten: {_fmt(r[M.WRONGLY_REWRITTEN.pattern])} of {r['n_standalone']} "
              f"({_fmt(r['wrongly_rewritten_after_first'])} of the {r['n_standalone_after_first']} after a first turn)",
              f"abstention on follow-ups the sources cannot answer: {_fmt(r['abstention_party_without_topic'])}",
              f"time of the follow-up rules per turn: median {_fmt(r['rules_ms_median'], 3)} ms, mean {_fmt(r['rules_ms_mean'], 3)} ms, "
              f"max {_fmt(r['rules_ms_max'], 3)} ms (the first turn loads the word lists)"]
    if summary.followup_by_lang:
        lines.append("follow-up success@1 by language: " + ", ".join(
            f"{lang} {_fmt(f.get('success@1'))} (n={f.get('n_questions')})" for lang, f in summary.followup_by_lang.items()))
    if missed:
        lines += ["", "misses:"]
        for m in missed:
            if m.get("rewritten_standalone"):
                lines.append(f"  {m['id']}: standalone rewritten: «{m['q']}» -> «{m['interpreted']}»")
            else:
                lines.append(f"  {m['id']} [{m['rule']}]: «{m['q']}» -> «{m['interpreted']}» (written: «{m['standalone']}»"
                             f"{'' if m['answerable'] else ', unanswerable, answered'})")
    return "\n".join(lines)


def _fmt(v, digits: int = 2) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def run_cli(args, *, bot=None, open_bot: Callable | None = None, out=None, err=None) -> int:
    """``chatbot eval --conversations FILE``: the options read once, then ``run``."""
    return run(EvalOptions.from_args(args), bot=bot, open_bot=open_bot, out=out, err=err)


def run(opts: EvalOptions, *, bot=None, open_bot: Callable | None = None, out=None, err=None) -> int:
    """``chatbot eval --conversations FILE``. Tests pass ``bot`` (used for every collection) or
    ``open_bot(corpus) -> Chatbot``."""
    out = out or sys.stdout
    err = err or sys.stderr
    k = opts.k
    path = Path(opts.conversations)
    dialogues = load_dialogues(path)
    bots: dict[str, object] = {}

    def get(corpus: str):
        if corpus not in bots:
            if bot is not None:
                bots[corpus] = bot
            elif open_bot is not None:
                bots[corpus] = open_bot(corpus)
            else:
                bots[corpus] = _open(corpus, opts, bots)
        return bots[corpus]

    judges: dict[str, Judge] = {}
    results: list[TurnResult] = []
    t0 = time.perf_counter()
    for d in dialogues:
        b = get(d.corpus)
        if id(b) not in judges:
            judges[id(b)] = Judge(b.answerer.index.passages)
        results.extend(run_dialogue(b, d, k, opts.mode, judges[id(b)]))
        for r in results[-len(d.turns):]:
            judges.setdefault(r.dialogue, judges[id(b)])
    judgements = judgements_of(results, judges)
    unreachable = sorted(r.chat.question.id for r in results if r.turn.answerable and not judgements.get(r.chat.question.id))
    if unreachable:
        print(f"eval: warning: no passage of the index hits the gold of {len(unreachable)} turn(s): "
              f"{', '.join(unreachable)}", file=err)
    summary = summarise(results, judgements, k)
    model = next(iter(bots.values())).embedder.model_id if bots else ""
    meta = {"file": str(path), "dialogues": len(dialogues), "turns": len(results), "mode": opts.mode, "model": model,
            "seconds": round(time.perf_counter() - t0, 1)}
    missed = misses(results, judgements)
    hidden = 0
    if not opts.show_misses:  # a first look at a sealed set stays blind: its figures, not its misses
        sealed = {d.id for d in dialogues if d.sealed or _is_sealed(d.corpus)}
        kept = [m for m in missed if m["id"].split("#")[0] not in sealed]
        hidden, missed = len(missed) - len(kept), kept
    if opts.json:
        turns = [{"id": r.chat.question.id, "q": r.turn.q, "followup": r.turn.followup, "interpreted": r.interpreted,
                  "context_used": r.context_used, "rule": r.rule, "answered": r.chat.answered,
                  "first_hit": bool(r.chat.returned and r.chat.returned[0].relevant),
                  "reference_first_hit": bool(r.reference.returned and r.reference.returned[0].relevant),
                  "alone_first_hit": bool(r.alone.returned and r.alone.returned[0].relevant)} for r in results]
        if hidden:  # the turns' details would show the misses too
            sealed_turns = {r.chat.question.id for r in results if r.dialogue in sealed}
            turns = [t for t in turns if t["id"] not in sealed_turns]
        print(json.dumps({**meta, "k": k, **summary.to_dict(), "misses": missed, "misses_hidden": hidden,
                          "turns_detail": turns}, ensure_ascii=False, indent=1, default=str), file=out)
    else:
        report = text_report(summary, meta, k, missed)
        if hidden:
            report += (f"\n\n{hidden} misses on sealed collections or dialogues are not shown (--show-misses prints "
                       "them; once read, that set is development data)")
        print(report, file=out)
    failed = check_floors(summary, opts.floors, k)
    if failed:
        print("chatbot: eval --conversations: " + "; ".join(failed), file=err)
        return 1
    return 0


def _is_sealed(corpus_name: str) -> bool:
    """Whether the dialogues' collection is a sealed one of eval/corpora/ (an unknown name is not)."""
    from . import corpora as corpora_mod

    try:
        return corpora_mod.select(corpus_name)[0].sealed
    except corpora_mod.CorpusError:
        return False


def _open(corpus_name: str, opts: EvalOptions, bots: dict):
    from ..models import factory
    from ..settings import default_cache_dir
    from ..service import Chatbot
    from . import corpora as corpora_mod
    from .crosscorpus import index_dir_for

    corpus = corpora_mod.select(corpus_name)[0]
    if corpus.sealed and not opts.include_sealed:
        raise ChatbotError(f"collection {corpus.name} is sealed: its dialogues are run only with --include-sealed "
                           "(scored with the shipped decision, which no sealed collection was fitted on)")
    embedder = next((b.embedder for b in bots.values()), None)
    if embedder is None:
        embedder = factory.make_embedder(opts.model, backend=opts.backend)
        embedder.warm_up()
    opened = Chatbot.open(sources_dir=corpus.sources, index_dir=index_dir_for(corpus, default_cache_dir(), embedder.model_id),
                          embedder=embedder, progress=None)
    opened.answerer.warm_up()  # as a server does: the rules' timings then leave out first-use loading
    return opened
