"""Suites: cold starts (process start to the first answer on stdout, or to the app's first ``/ask``
reply), the phases of a cold ``chatbot ask``, and the import cost of each heavy module."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from dataclasses import fields
from pathlib import Path
from typing import Sequence

from .config import APP, COLD_QUESTION
from .procs import Server, child_command, child_json, free_port, run_child, since_spawn, vm_mb
from .records import ColdStart, ImportCost, Phases, Skipped
from .stats import median

IMPORTED = ("chatbot.service", "faiss", "bm25s", "torch", "transformers", "transformers.models.bert.modeling_bert",
            "sentence_transformers", "onnxruntime", "tokenizers")


def merge_phases(reports: Sequence[Phases]) -> Phases:
    """The median of each phase over runs; the backend of every run ("a/b" if they differ); torch
    imported if it was in any run."""
    found = {}
    for f in fields(Phases):
        values = [getattr(p, f.name) for p in reports if getattr(p, f.name) is not None]
        if not values:
            continue
        if f.name == "backend":
            found[f.name] = "/".join(dict.fromkeys(values))
        elif f.name == "torch_imported":
            found[f.name] = any(values)
        else:
            found[f.name] = median(values)
    return Phases(**found)


def phases_from(stderr: str) -> Phases | None:
    """The phases a child reported as a JSON object on its last line of stderr, if it did."""
    last = stderr.strip().splitlines()[-1:] if stderr.strip() else []
    with contextlib.suppress(ValueError, IndexError, TypeError):
        data = json.loads(last[0])
        if isinstance(data, dict):
            names = {f.name for f in fields(Phases)}
            return Phases(**{k: v for k, v in data.items() if k in names})
    return None


def bench_cold(argv: list[str], runs: int, env: dict | None = None, note: str | None = None) -> ColdStart:
    """``argv`` ``runs`` times: seconds to its first line on stdout and peak RSS (medians), phases if reported."""
    firsts, rss, phases = [], [], []
    for _ in range(runs):
        out = run_child(argv, env)
        firsts.append(out.first_s)
        rss.append(out.rss_mb)
        found = phases_from(out.stderr)
        if found is not None:
            phases.append(found)
    return ColdStart(first_answer_s=median(firsts), runs=tuple(firsts), peak_rss_mb=median(rss),
                     phases=merge_phases(phases) if phases else None, note=note)


def bench_app(index_dir: Path, sources: Path, runs: int) -> ColdStart | Skipped:
    """``python app.py --port N``: seconds to the first /ask answer through gradio_client; peak RSS (VmHWM)."""
    if not APP.is_file():
        return Skipped("app.py does not exist yet")
    from gradio_client import Client  # imported before the clock starts

    firsts, rss = [], []
    for _ in range(runs):
        port = free_port()
        with Server("bench-app", [sys.executable, APP, "--port", port, "--index", index_dir, "--sources", sources],
                    port) as server:
            server.wait_ready(180, path="/", interval=0.05)
            client = Client(f"http://127.0.0.1:{port}/", verbose=False)
            result = client.predict(COLD_QUESTION, api_name="/ask")
            firsts.append(time.monotonic() - server.started)
            if not result:
                raise RuntimeError("app.py gave an empty /ask answer")
            rss.append(vm_mb("VmHWM", server.pid))
    return ColdStart(first_answer_s=median(firsts), runs=tuple(firsts), peak_rss_mb=median(rss))


def bench_imports(modules: Sequence[str] = IMPORTED) -> tuple[ImportCost, ...]:
    out = []
    for module in modules:
        try:
            data = child_json(child_command("import", module))
            out.append(ImportCost(module, data["import_s"], data["rss_mb"]))
        except RuntimeError:
            out.append(ImportCost(module, None, None))
    return tuple(out)


# ---------------------------------------------------------------------------- child suites


def import_cost(module: str) -> None:
    """Child suite ``import``: import one module; its seconds and the RSS after, as JSON."""
    t = time.perf_counter()
    __import__(module)
    print(json.dumps({"module": module, "import_s": time.perf_counter() - t, "rss_mb": vm_mb("VmRSS")}))


def breakdown(index_dir: str, sources: str, question: str, onnx_file: str = "") -> None:
    """Child suite ``breakdown``: the shipped `chatbot ask`, phase by phase (same calls as Chatbot.open with
    the default backend); with ``onnx_file``, the same on that ONNX graph (OnnxEmbedder(onnx_file=...))."""
    phases = {"started": since_spawn()}
    from chatbot.render import plain  # noqa: F401  (`chatbot ask` imports it)
    from chatbot.service import Chatbot  # noqa: F401
    from chatbot.models import factory, onnx_embedder

    phases["chatbot_imported"] = since_spawn()
    with contextlib.suppress(ImportError):  # without it the auto backend falls back to torch
        import onnxruntime  # noqa: F401

        phases["onnxruntime_imported"] = since_spawn()
    if onnx_file:
        embedder = onnx_embedder.OnnxEmbedder(onnx_file=Path(onnx_file))
    else:
        embedder = factory.make_embedder(None)
    embedder.warm_up()
    phases["model_loaded"] = since_spawn()
    open_and_answer(embedder, index_dir, sources, question, phases)


def open_and_answer(embedder, index_dir: str, sources: str, question: str, phases: dict) -> None:
    """The rest of a cold `chatbot ask` once the model is loaded: open the index, answer, report phases."""
    from chatbot.render import plain
    from chatbot.service import Chatbot

    from .embedding import backend_of

    bot = Chatbot.open(sources_dir=Path(sources), index_dir=Path(index_dir), embedder=embedder, rebuild=False,
                       progress=None)
    phases["index_loaded"] = since_spawn()
    answer = bot.ask(question)
    print(plain(answer, bot.catalog.by_source()), flush=True)
    phases["answered"] = since_spawn()
    phases["backend"] = backend_of(embedder)
    phases["torch_imported"] = "torch" in sys.modules
    print(json.dumps(phases), file=sys.stderr)
