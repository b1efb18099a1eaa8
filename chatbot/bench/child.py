"""The benchmark's child processes, one suite each, run in a fresh interpreter by the parent:

    python -m chatbot.bench.child textbook-ask INDEX_DIR QUESTION
    python -m chatbot.bench.child breakdown INDEX_DIR SOURCES QUESTION [ONNX_FILE]
    python -m chatbot.bench.child import MODULE
    python -m chatbot.bench.child scale-build N OUT_DIR THREADS
    python -m chatbot.bench.child scale-serve INDEX_FILE DATA_DIR THREADS

Each prints its answer (or one JSON object as its last line) on stdout; ``breakdown`` reports its
phases as JSON on its last line of stderr. Only the suite's own module is imported, so that an
import or a cold start is timed from a near-empty interpreter.
"""

from __future__ import annotations

import importlib
import sys

SUITES = {  # name -> (module, function)
    "textbook-ask": ("chatbot.bench.textbook", "ask_cold"),
    "breakdown": ("chatbot.bench.cold", "breakdown"),
    "import": ("chatbot.bench.cold", "import_cost"),
    "scale-build": ("chatbot.bench.synthetic", "build_child"),
    "scale-serve": ("chatbot.bench.synthetic", "serve_child"),
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in SUITES:
        print(f"usage: python -m chatbot.bench.child {{{','.join(SUITES)}}} ARGS…", file=sys.stderr)
        return 2
    module, function = SUITES[argv[0]]
    getattr(importlib.import_module(module), function)(*argv[1:])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
