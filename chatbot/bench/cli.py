"""The benchmark's command line: ``python eval/bench.py [options]`` (also ``chatbot bench``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .config import BACKEND_ENV, DEFAULT_SCALE, RESULTS, ROOT

DESCRIPTION = "Speed and scale benchmark: this chatbot beside the textbook pipeline, and dense search up to 1M passages."


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="eval/bench.py", description=DESCRIPTION)
    p.add_argument("--quick", action="store_true", help="real corpus and textbook only, one run (under a minute); writes nothing")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--scale", default=None, help="synthetic sizes, e.g. 10k,100k,1m (default; 'none' to skip)")
    p.add_argument("--runs", type=int, default=None, help="repeats of the warm-query and build measurements (default 3; quick 1)")
    p.add_argument("--cold-runs", type=int, default=None, help="cold starts per program (default 3; quick 1)")
    p.add_argument("--questions", type=int, default=None, help="only the first N evaluation questions (default: all)")
    p.add_argument("--threads", type=int, default=2, help="FAISS threads for the scale runs (default 2); ONNX Runtime "
                                                          "keeps the chatbot's own setting (and a 1-thread variant)")
    p.add_argument("--no-app", dest="app", action="store_false", help="skip the app.py cold start")
    p.add_argument("--backends", "--onnx", dest="backends", action="store_true", default=None,
                   help="compare torch / ONNX int8 (shipped) / ONNX fp32 (default in a full run, off with --quick)")
    p.add_argument("--no-backends", "--no-onnx", dest="backends", action="store_false",
                   help="skip the backend comparison")
    p.add_argument("--out", type=Path, default=None, help=f"write the Markdown here (default {RESULTS.relative_to(ROOT)} "
                                                          "for a full run, nothing for --quick)")
    p.add_argument("--no-write", action="store_true", help="write no Markdown file")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    from .progress import log
    from .run import Options, run
    from .synthetic import parse_sizes

    command = ("python eval/bench.py " + " ".join(argv)).strip()
    options = Options(quick=args.quick, runs=args.runs or (1 if args.quick else 3),
                      cold_runs=args.cold_runs or (1 if args.quick else 3), questions=args.questions,
                      threads=args.threads,
                      sizes=tuple([] if args.quick else parse_sizes(args.scale if args.scale is not None else DEFAULT_SCALE)),
                      app=args.app and not args.quick,
                      backends=(not args.quick) if args.backends is None else args.backends,
                      keep=args.keep, command=command)
    from chatbot.settings import unset

    dropped = unset(BACKEND_ENV)  # "ours" is what ships: the default backend, here and in every child
    if dropped:
        log(f"ignoring ${BACKEND_ENV}={dropped} for this run: ours is the shipped default (auto)")
    result = run(options)

    from .render import json_line, markdown
    from .summary import summarise

    summary = summarise(result)
    text = markdown(result, summary)
    target = None if args.no_write else (args.out or (None if args.quick else RESULTS))
    if target is not None:
        from chatbot.fsutil import atomic_write_text

        atomic_write_text(target, text + "\n")
        log(f"wrote {target}")
    log(f"done in {result.elapsed_s:.0f} s")
    print(json_line(result, summary) if args.json else text)
    return 0
