"""A conversation over one :class:`~chatbot.service.Chatbot`: each turn is read by the follow-up
rules (:mod:`chatbot.followup`) and answered by the same ``bot.ask`` as a single question.

``Conversation`` is a plain record (the turns so far); ``take_turn`` reads a new turn against
it, asks, and appends. A compare request is also put to each party on its own, for a side by
side view. Nothing here writes text of its own beyond "Tolket som: «…»".
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Sequence

from .followup import COMPARE, Context, Reading, Rules
from .records import Answer

COMPARE_K = 3
MAX_TURNS = 50  # the context kept per conversation (only the last turns matter to the rules)
SEEN_K = 5  # the passages of a turn counted as seen by "what else …?": the top ones, as the page shows them


@dataclass(frozen=True)
class ChatTurn:
    """One exchange: what was typed, how it was read, and the answer to the question searched."""

    reading: Reading
    answer: Answer
    by_party: dict[str, Answer] = field(default_factory=dict)  # a compare request: each party's own answer
    rules_ms: float = 0.0  # time the follow-up rules took

    @property
    def question(self) -> str:
        return self.reading.question

    def to_dict(self, documents=None) -> dict:
        """The ``chatbot ask --json`` object plus ``interpreted``, ``context_used`` and how the turn was read."""
        out = self.answer.to_dict(documents)
        out["question"] = self.reading.question
        out["interpreted"] = self.reading.interpreted
        out["context_used"] = self.reading.context_used
        out["rule"] = self.reading.kind
        out["reading_parties"] = list(self.reading.parties)
        out["note"] = self.reading.note()
        if self.reading.kind == COMPARE:
            out["compare"] = {p: a.to_dict(documents) for p, a in self.by_party.items()}
        return out


@dataclass
class Conversation:
    """The turns of one conversation, oldest first."""

    contexts: list[Context] = field(default_factory=list)
    turns: list[ChatTurn] = field(default_factory=list)

    def clear(self) -> None:
        self.contexts.clear()
        self.turns.clear()

    def __len__(self) -> int:
        return len(self.turns)


def rules_for(bot) -> Rules:
    rules = getattr(bot, "_followup_rules", None)
    if rules is None or rules.available != tuple(bot.answerer.available_parties):
        rules = Rules(bot.answerer.parties, bot.answerer.available_parties, bot.answerer.settings.max_question_chars)
        try:
            bot._followup_rules = rules
        except AttributeError:  # pragma: no cover - a frozen stand-in
            pass
    return rules


def read_turn(bot, conversation: Conversation, question: str, literal: bool = False) -> Reading:
    rules = rules_for(bot)
    return rules.literal(question) if literal else rules.read(question, conversation.contexts)


def take_turn(bot, conversation: Conversation, question: str, *, k: int = 5, party: Any = None,
              mode: str = "hybrid", literal: bool = False, compare_k: int = COMPARE_K) -> ChatTurn:
    """Read ``question`` against the conversation, answer it, and add it to the conversation."""
    rules = rules_for(bot)
    t = time.perf_counter()
    reading = read_turn(bot, conversation, question if isinstance(question, str) else "", literal)
    rules_ms = (time.perf_counter() - t) * 1000
    seen = _seen(conversation) if reading.more else frozenset()
    if reading.nobody_else(bot.answerer.available_parties):
        answer = _nobody_else(reading, mode)
    else:
        answer = _only_the_excluded_have(ask_reading(bot, reading, k=k, party=party, mode=mode, seen=seen), reading)
    by_party: dict[str, Answer] = {}
    if reading.kind == COMPARE and reading.compare:
        for p in reading.compare:
            if p in bot.answerer.available_parties and (party is None or p in _as_list(party)):
                by_party[p] = bot.ask(_for_party(reading, p), k=compare_k, party=p, mode=mode)
    t = time.perf_counter()
    context = replace(rules.context(reading, shown_parties(answer)), seen=seen_ids(answer))
    rules_ms += (time.perf_counter() - t) * 1000
    turn = ChatTurn(reading, answer, by_party, rules_ms)
    conversation.turns.append(turn)
    conversation.contexts.append(context)
    del conversation.turns[:-MAX_TURNS], conversation.contexts[:-MAX_TURNS]
    return turn


def ask_reading(bot, reading: Reading, *, k: int = 5, party: Any = None, mode: str = "hybrid",
                seen: frozenset[str] = frozenset()) -> Answer:
    """Ask the question a reading searched. The parties it is about are named in it; when the
    directory would not find them there (an unusual spelling), they are given as the filter.
    Passages in ``seen`` ("what else …?": shown earlier in the conversation) come after the others."""
    restrict = party
    if party is None and reading.context_used and reading.parties:
        found = tuple(dict.fromkeys(m.party for m in bot.answerer.parties.find(reading.interpreted)))
        if set(found) != set(reading.parties):
            available = set(bot.answerer.available_parties)
            restrict = [p for p in reading.parties if p in available] or None
    if not seen:
        return bot.ask(reading.interpreted, k=k, party=restrict, mode=mode)
    answer = bot.ask(reading.interpreted, k=k + len(seen), party=restrict, mode=mode)
    return _beyond(answer, seen, k)


def _beyond(answer: Answer, seen: frozenset[str], k: int) -> Answer:
    """The passages not seen yet first, then the ones already shown, ranked again from 1. When every
    passage found was shown before, the answer says so, and shows them again (nothing is lost)."""
    if not answer.answered:
        return answer
    ranked = sorted(answer.hits, key=lambda h: h.rank)
    fresh = [h for h in ranked if h.passage.id not in seen]
    kept = (fresh + [h for h in ranked if h.passage.id in seen])[:k]
    hits = tuple(replace(h, rank=i) for i, h in enumerate(kept, 1))
    if fresh:
        return replace(answer, hits=hits)
    from .notices import say

    notice = " ".join(x for x in (say("nothing_more", answer.language), answer.notice) if x)
    return replace(answer, hits=hits, notice=notice)


def _seen(conversation: Conversation) -> frozenset[str]:
    """The passages shown in the conversation so far (its kept turns)."""
    return frozenset(i for c in conversation.contexts for i in c.seen)


def seen_ids(answer: Answer, k: int = SEEN_K) -> tuple[str, ...]:
    if not answer.answered:
        return ()
    return tuple(h.passage.id for h in sorted(answer.hits, key=lambda h: h.rank)[:k])


def _nobody_else(reading: Reading, mode: str) -> Answer:
    """"anyone else?" when every party is in play already: no search, a plain notice."""
    from .notices import and_list, say

    lang = reading.language
    return Answer(reading.question, False, say("nobody_else", lang, parties=and_list(reading.excluded, lang)), (),
                  mode=mode, searched=reading.interpreted, language=lang)


def _only_the_excluded_have(answer: Answer, reading: Reading) -> Answer:
    """After "anyone else?", when only the parties left out have passages, the notice says so instead of
    suggesting the user add them to the filter: they have just seen those passages."""
    others = answer.others_with_passages
    if answer.answered or not reading.excluded or not others or not set(others) <= set(reading.excluded):
        return answer
    from .notices import and_list, say

    lang = answer.language
    named = and_list(others, lang)
    notice = answer.notice or ""
    for key in ("others_have", "others_have_filter"):
        notice = notice.replace(say(key, lang, others=named), say("others_were_asked", lang, others=named))
    return replace(answer, notice=notice)


def shown_parties(answer: Answer) -> tuple[str, ...]:
    if not answer.answered:
        return ()
    return tuple(dict.fromkeys(h.passage.party for h in sorted(answer.hits, key=lambda h: h.rank)))


def replay(bot, history: Sequence[Any], *, k: int = 5, mode: str = "hybrid") -> Conversation:
    """A conversation from the turns of an API caller: each item the user's text, or an object as
    returned by ``/chat`` (with ``question``/``q``, and ``interpreted``, ``reading_parties`` and
    ``passages`` when it has them, so it is not asked again)."""
    conversation = Conversation()
    rules = rules_for(bot)
    for item in history or ():
        if isinstance(item, str):
            take_turn(bot, conversation, item, k=k, mode=mode)
            continue
        if not isinstance(item, dict):
            continue
        question = item.get("question") if isinstance(item.get("question"), str) else item.get("q")
        if not isinstance(question, str):
            continue
        interpreted = item.get("interpreted")
        if not isinstance(interpreted, str):
            take_turn(bot, conversation, question, k=k, mode=mode)
            continue
        parties = item.get("reading_parties", item.get("parties", []))
        parties = tuple(p for p in parties if isinstance(p, str)) if isinstance(parties, list) else ()
        reading = Reading(question, interpreted, parties, bool(item.get("context_used")), str(item.get("rule", "standalone")),
                          language=rules.parse(interpreted).language)
        passages = [p for p in item.get("passages", []) or [] if isinstance(p, dict)]
        shown = tuple(dict.fromkeys(p.get("party") for p in passages if isinstance(p.get("party"), str)))
        seen = tuple(p["id"] for p in passages[:SEEN_K] if isinstance(p.get("id"), str))
        conversation.contexts.append(replace(rules.context(reading, shown), seen=seen))
    return conversation


def _for_party(reading: Reading, party: str) -> str:
    """The compare question for one party: the searched question's frame for that party alone."""
    from .followup import TEMPLATES, _join

    many, _ = TEMPLATES.get(reading.language, TEMPLATES["nb"])
    return many.format(parties=_join([party], reading.language), topic=reading.topic) if reading.topic else reading.interpreted


def _as_list(party: Any) -> list[str]:
    return [party] if isinstance(party, str) else list(party or [])


# --------------------------------------------------------------------------- command line

NEW_COMMANDS = ("/ny", "/new", "/tøm", "/clear")
LITERAL_COMMANDS = ("/bokstavelig", "/literal", "/ordrett")
LITERAL_HINT = {"nb": "skriv /bokstavelig for å søke på ordene slik de står",
                "nn": "skriv /bokstavelig for å søkje på orda slik dei står",
                "en": "type /literal to search the words as typed"}


def plain_turn(turn: ChatTurn, documents) -> str:
    """A turn as plain text: how it was read, then the answer (side by side per party for a comparison)."""
    from .render import plain

    lines: list[str] = []
    note = turn.reading.note()
    if note:
        lines.append(f"{note} ({LITERAL_HINT.get(turn.reading.language, LITERAL_HINT['nb'])})")
        lines.append("")
    if turn.by_party:
        for party, answer in turn.by_party.items():
            lines.append(f"== {party} ==")
            lines.append(plain(answer, documents))
            lines.append("")
        return "\n".join(lines).rstrip()
    lines.append(plain(turn.answer, documents))
    return "\n".join(lines)


def run_cli(args, bot=None, stdin=None, stdout=None) -> int:
    """``chatbot chat [--json] [--literal]``: one user turn per line; an empty line starts a new conversation."""
    import json
    import sys

    from .errors import ChatbotError

    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    from .query.prepare import MAX_K

    if not 1 <= args.k <= MAX_K:
        raise ChatbotError(f"--k must be between 1 and {MAX_K}")
    if bot is None:
        from .service import Chatbot

        bot = Chatbot.open(sources_dir=args.sources, index_dir=args.index, model=args.model,
                           backend=args.backend, rebuild=not args.no_rebuild)
    documents = bot.catalog.by_source()
    for stream in (stdin, stdout):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    interactive = not args.json and hasattr(stdin, "isatty") and stdin.isatty()
    conversation = Conversation()
    if interactive:
        print("Still et spørsmål (Ctrl-D avslutter; tom linje eller /ny starter en ny samtale; "
              "/bokstavelig søker forrige spørsmål ordrett).", file=stdout, flush=True)

    def lines():
        while True:
            if interactive:
                try:
                    line = input("› ")
                except EOFError:
                    print(file=stdout)
                    return
                yield line
            else:
                line = stdin.readline()
                if not line:
                    return
                yield line.rstrip("\n").rstrip("\r")

    for line in lines():
        command = line.strip().casefold()
        if not line.strip() or command in NEW_COMMANDS:
            conversation = Conversation()
            if not args.json:
                print("(Ny samtale)", file=stdout, flush=True)
            continue
        literal = args.literal
        if command in LITERAL_COMMANDS and not args.json:
            if not conversation.turns:
                continue
            line, literal = conversation.turns[-1].question, True
            conversation.turns.pop()
            conversation.contexts.pop()
        turn = take_turn(bot, conversation, line, k=args.k, party=args.party, mode=args.mode, literal=literal)
        if args.json:
            print(json.dumps(turn.to_dict(documents), ensure_ascii=False), file=stdout, flush=True)
        else:
            print(plain_turn(turn, documents), file=stdout, flush=True)
            print(file=stdout, flush=True)
    return 0
