#!/usr/bin/env python
"""Speed and scale benchmark (``make bench``): a thin entry to ``chatbot.bench``; see its docstring,
and ``python eval/bench.py --help``."""

import sys

from chatbot.bench import main

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
