"""What the JSON API answers, without any web framework: plain functions from arguments to JSON-ready dicts.

The HTTP layer (:mod:`chatbot.web.server`) and the Gradio endpoints call these, so ``/api/ask``, Gradio's
``/ask`` and ``chatbot ask --json`` give the same object. Bad arguments raise
:class:`~chatbot.errors.QuestionError` (HTTP 400) with a one-line message.
"""

from __future__ import annotations

from typing import Any

from ..errors import QuestionError
from ..query.prepare import MAX_K, MODES
DEFAULT_K = 5
COMPARE_K = 3


def whole_k(k: Any, default: int = DEFAULT_K) -> int:
    """``k`` from JSON or a query string: a whole number 1–50 (``None``: the default)."""
    if k is None or k == "":
        return default
    if isinstance(k, float) and k.is_integer():
        k = int(k)
    elif isinstance(k, str) and k.strip().isdigit():
        k = int(k.strip())
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= MAX_K:
        raise QuestionError(f"k must be a whole number from 1 to {MAX_K}")
    return k


def parties_arg(party: Any) -> list[str] | None:
    """One party, several separated by commas, or a list of names; ``None``/empty: no filter."""
    if party is None:
        return None
    if isinstance(party, str):
        names = party.split(",")
    elif isinstance(party, (list, tuple)) and all(isinstance(p, str) for p in party):
        names = [n for p in party for n in p.split(",")]
    else:
        raise QuestionError("party must be a party name, names separated by commas, or a list of names")
    names = [n.strip() for n in names if n.strip()]
    return names or None


def mode_arg(mode: Any) -> str:
    if mode is None or mode == "":
        return "hybrid"
    if mode not in MODES:
        raise QuestionError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")  # as Answerer.ask says it
    return mode


def question_arg(question: Any) -> str:
    """The question as text; anything else (null, a list) is an empty question, answered with its notice.
    (The HTTP layer refuses a non-string body field before this; Gradio's clients may send anything.)"""
    return question if isinstance(question, str) else ""


def ask(bot, question: Any, k: Any = None, party: Any = None, mode: Any = None) -> dict:
    """The ``chatbot ask --json`` object."""
    answer = bot.ask(question_arg(question), k=whole_k(k), party=parties_arg(party), mode=mode_arg(mode))
    return bot.to_dict(answer)


def compare(bot, question: Any, k: Any = None, mode: Any = None) -> dict:
    """Each party's best passages for the same question: {party: the /ask object}, parties in the page's order."""
    from .cards import sort_parties

    question, k, mode = question_arg(question), whole_k(k, COMPARE_K), mode_arg(mode)
    return {p: bot.to_dict(bot.ask(question, k=k, party=p, mode=mode))
            for p in sort_parties(bot.answerer.available_parties)}


def chat(bot, question: Any, history: Any = None, k: Any = None, party: Any = None, mode: Any = None,
         literal: Any = False) -> dict:
    """One turn of a conversation: the /ask object plus "interpreted", "context_used", "rule" and "history"
    (send "history" back with the next turn)."""
    from ..chat import replay, take_turn

    question, k, mode = question_arg(question), whole_k(k), mode_arg(mode)
    if history is not None and not isinstance(history, list):
        raise QuestionError("history must be a list of earlier turns")
    if not isinstance(literal, bool):
        raise QuestionError("literal must be true or false")
    conversation = replay(bot, history or [], k=k, mode=mode)
    turn = take_turn(bot, conversation, question, k=k, party=parties_arg(party), mode=mode, literal=literal,
                     compare_k=COMPARE_K)
    out = turn.to_dict(bot.catalog.by_source())
    kept = [item for item in (history or []) if isinstance(item, (str, dict))]
    out["history"] = kept + [{"question": out["question"], "interpreted": out["interpreted"],
                              "context_used": out["context_used"], "rule": out["rule"],
                              "reading_parties": out["reading_parties"],
                              "passages": [{"party": p["party"]} for p in out["passages"]]}]
    return out


def verify(bot, quote: Any, party: Any = None) -> dict:
    """The ``chatbot verify --json`` object for a quote attributed (optionally) to a party."""
    from .. import quotecheck

    quote = question_arg(quote)
    corpus = bot.quote_corpus()
    resolved = None
    if party is not None and party != "":
        if not isinstance(party, str):
            raise QuestionError("party must be a party name")
        try:
            resolved = quotecheck.resolve_party(party, bot.answerer.parties, corpus.parties)
        except quotecheck.QuoteError as exc:
            raise QuestionError(str(exc).replace("--party", "party")) from None
    try:
        return quotecheck.verify(quote, corpus, resolved).to_dict()
    except quotecheck.QuoteError as exc:
        raise QuestionError(str(exc)) from None


def health(live) -> dict:
    """Which corpus and index are being served, and what the source watcher has done."""
    bot = live.current
    manifest = bot.answerer.index.manifest
    embedder = bot.query_embedder
    return {
        "status": "ok" if live.status.state != "failed" else "degraded",
        "corpus_version": bot.corpus_version,
        "index": {
            "path": str(bot.answerer.index.path),
            "created": manifest.created,
            "format_version": manifest.format_version,
            "chatbot_version": manifest.chatbot_version,
            "documents": manifest.counts.documents,
            "passages": manifest.counts.passages,
            "dense": manifest.dense,
        },
        "model": {"id": manifest.model.id, "checksum": manifest.model.checksum,
                  "backend": getattr(embedder, "backend", None)},
        "sources": {"folder": str(live.sources_dir),
                    "documents": [{"source": d.source, "party": d.party, "title": d.title}
                                  for d in bot.catalog.documents]},
        "parties": list(bot.answerer.available_parties),
        "rebuilt_at_start_because": bot.rebuilt_because,
        "live_updates": live.status.to_dict(),
        "batching": embedder.stats.to_dict() if hasattr(embedder, "stats") else None,
    }
