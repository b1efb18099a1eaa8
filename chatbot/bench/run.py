"""One benchmark run: the suites in order on a copy of the sources in a temporary folder; a BenchResult."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .config import COLD_QUESTION, QUESTIONS
from .progress import log
from .records import BenchResult, CliBuild, ColdStarts, Environment, Pair, RealCorpus, Skipped


@dataclass(frozen=True)
class Options:
    """What to run, resolved from the command line (``--quick`` already applied)."""

    quick: bool = False
    runs: int = 3
    cold_runs: int = 3
    questions: int | None = None  # only the first N evaluation questions
    threads: int = 2  # FAISS threads for the scale runs
    sizes: tuple[int, ...] = ()
    app: bool = True
    backends: bool = True
    keep: bool = False
    command: str = "python eval/bench.py"


def load_questions(path: Path = QUESTIONS) -> list[str]:
    import json

    return [json.loads(line)["q"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_average() -> float | None:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def environment(load_at_start: float | None) -> Environment:
    from importlib import metadata

    versions = {}
    for dist in ("torch", "sentence-transformers", "transformers", "faiss-cpu", "bm25s", "onnxruntime", "gradio"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[dist] = metadata.version(dist)
    cpu = ""
    with contextlib.suppress(OSError):
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), "")
    return Environment(cores=os.cpu_count(), cpu=cpu, python=platform.python_version(), versions=versions,
                       load_at_start=load_at_start, load_at_end=load_average())


def run(options: Options) -> BenchResult:
    load_at_start = load_average()
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="chatbot-bench-"))
    try:
        real = bench_real(options, work)
        if options.sizes:
            from .synthetic import bench_scale

            scale = bench_scale(list(options.sizes), work, options.threads)
        else:
            scale = ()
    finally:
        if not options.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"kept {work}")
    return BenchResult(when=dt.datetime.now().astimezone().isoformat(timespec="seconds"), command=options.command,
                       runs=options.runs, cold_runs=options.cold_runs, threads=options.threads,
                       environment=environment(load_at_start), real=real, scale=scale,
                       elapsed_s=time.monotonic() - started)


def bench_real(options: Options, work: Path) -> RealCorpus:
    """Ours beside the textbook pipeline on a copy of the shipped sources."""
    from chatbot.models.factory import make_embedder
    from chatbot.models.onnx_embedder import OnnxEmbedder
    from chatbot.service import Chatbot

    from .build import bench_build, bench_textbook_build, copy_sources
    from .cold import bench_app, bench_cold, bench_imports
    from .embedding import backend_of, default_model_dir, threads_of
    from .procs import chatbot_command, child_command, run_child
    from .textbook import Textbook
    from .warm import bench_warm, ours_asker, textbook_asker

    log("preparing the default model (converted once, then cached) …")
    default_model_dir()
    sources = copy_sources(work / "sources")
    index_dir = work / "index"
    textbook_dir = work / "textbook-index"

    build_cli = None
    if not options.quick:
        log("`chatbot build` in a child process …")
        built = run_child(chatbot_command() + ["build", "--index", str(index_dir), "--sources", str(sources)])
        build_cli = CliBuild(built.wall_s, built.rss_mb)

    log("loading both pipelines in this process (ours: make_embedder(None), the shipped default) …")
    embedder = make_embedder(None, progress=log)
    embedder.warm_up()
    backend, onnx_threads = backend_of(embedder), threads_of(embedder)
    log(f"ours runs on {backend}" + (f" ({onnx_threads} intra-op threads)" if onnx_threads else ""))
    if options.quick:
        from chatbot.index import store as index_mod
        from chatbot.catalog import load_catalog

        index_mod.build(load_catalog(sources), embedder, index_dir)
    bot = Chatbot.open(sources_dir=sources, index_dir=index_dir, embedder=embedder, rebuild=False, progress=None)
    textbook = Textbook()
    textbook.build(sources, textbook_dir)
    questions = load_questions()[:options.questions or None]

    log(f"in-process builds (full, then one source edited) × {options.runs} …")
    build = Pair(bench_build(embedder, sources, work, options.runs),
                 bench_textbook_build(textbook, sources, work, options.runs))

    log(f"warm queries: {len(questions)} questions × {options.runs} runs, both pipelines interleaved …")
    warm = bench_warm({"ours": ours_asker(bot), "textbook": textbook_asker(textbook)}, questions, options.runs)
    torch_threads = warm_1thread = None
    if not options.quick:
        import torch

        torch_threads = torch.get_num_threads()
        if torch_threads != 1 or onnx_threads not in (None, 1):
            bot1 = bot
            if backend == "onnx":  # a twin of the shipped embedder on one intra-op thread
                one_thread = OnnxEmbedder(threads=1)
                one_thread.warm_up()
                bot1 = Chatbot.open(sources_dir=sources, index_dir=index_dir, embedder=one_thread, rebuild=False,
                                    progress=None)
            log(f"warm queries again on one thread (ours: {backend}, textbook: torch) …")
            torch.set_num_threads(1)
            try:
                one = bench_warm({"ours": ours_asker(bot1), "textbook": textbook_asker(textbook)}, questions,
                                 options.runs)
                warm_1thread = Pair(one["ours"], one["textbook"])
            finally:
                torch.set_num_threads(torch_threads)

    log(f"cold start × {options.cold_runs}: `chatbot ask` and the textbook script …")
    cold_ours = bench_cold(chatbot_command() + ["ask", "--index", str(index_dir), "--sources", str(sources),
                                                "--no-rebuild", COLD_QUESTION], options.cold_runs)
    cold_textbook = bench_cold(child_command("textbook-ask", textbook_dir, COLD_QUESTION), options.cold_runs)
    ours_phases = app = None
    imports = ()
    if not options.quick:
        log("cold start phases of `chatbot ask` …")
        ours_phases = bench_cold(child_command("breakdown", index_dir, sources, COLD_QUESTION), options.cold_runs)
        log("import cost of each heavy module (fresh interpreters) …")
        imports = bench_imports()
        if options.app:
            log(f"app cold start × {options.cold_runs} …")
            try:
                app = bench_app(index_dir, sources, options.cold_runs)
            except Exception as exc:  # the app is someone else's work in progress: report, don't abort
                log(f"app cold start skipped: {type(exc).__name__}: {exc}")
                app = Skipped(f"{type(exc).__name__}: {str(exc)[:300]}")
    backends = None
    if options.backends:
        from .backends import bench_backends

        try:
            backends = bench_backends(bot, textbook, index_dir, sources, work, questions, options.runs,
                                      options.cold_runs, cold_ours)
        except Exception as exc:
            log(f"backend comparison skipped: {type(exc).__name__}: {exc}")
            backends = Skipped(f"{type(exc).__name__}: {str(exc)[:300]}")
    index = bot.answerer.index
    return RealCorpus(backend=backend, onnx_threads=onnx_threads, build=build,
                      warm=Pair(warm["ours"], warm["textbook"]),
                      cold=ColdStarts(cold_ours, cold_textbook, ours_phases, app),
                      passages=len(index.passages), questions=len(questions),
                      dense_index=_dense_of(index.manifest), build_cli=build_cli, torch_threads=torch_threads,
                      warm_1thread=warm_1thread, imports=imports, backends=backends)


def _dense_of(manifest) -> dict | None:
    """The manifest's description of the dense index (chatbot.index.manifest.Manifest.dense)."""
    return dict(manifest.dense) or None
