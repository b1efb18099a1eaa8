"""Suite: index builds in this process with a warm model: a full build (empty cache) and the rebuild
after one source was edited (our embedding cache re-embeds only changed passages; the textbook
pipeline re-embeds everything)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from .config import SOURCES
from .records import BuildFigures
from .stats import median


def copy_sources(dest: Path, sources: Path = SOURCES) -> Path:
    shutil.copytree(sources, dest)
    for p in dest.iterdir():
        p.chmod(0o644)
    return dest


def edit_one_source(sources: Path) -> str:
    """Change one sentence of one programme (its last non-empty line), as an editor would; its file name."""
    from chatbot.catalog import load_catalog

    doc = load_catalog(sources).documents[0]
    path = sources / doc.source
    lines = path.read_text(encoding="utf-8").split("\n")
    i = max(j for j, line in enumerate(lines) if line.strip())
    lines[i] = lines[i].rstrip() + " Endret for benchmarken."
    path.write_text("\n".join(lines), encoding="utf-8")
    return doc.source


def bench_build(embedder, sources: Path, work: Path, runs: int) -> BuildFigures:
    """Ours: ``chatbot.index.store.build`` with ``embedder``, full and after one edited source."""
    from chatbot.index import store as index_mod
    from chatbot.catalog import load_catalog

    full, rebuild, reembedded = [], [], None
    passages = 0
    for r in range(runs):
        index_dir = work / f"build-{r}"
        catalog = load_catalog(sources)
        t = time.perf_counter()
        final = index_mod.build(catalog, embedder, index_dir)
        full.append(time.perf_counter() - t)
        passages = json.loads((final / "manifest.json").read_text())["counts"]["passages"]
        edited = copy_sources(work / f"sources-edited-{r}", sources)
        edit_one_source(edited)
        messages: list[str] = []
        t = time.perf_counter()
        index_mod.build(load_catalog(edited), embedder, index_dir, progress=messages.append)
        rebuild.append(time.perf_counter() - t)
        line = next((m for m in messages if m.startswith("embedding ")), "")
        reembedded = int(line.split()[1]) if line else None
        shutil.rmtree(index_dir, ignore_errors=True)
        shutil.rmtree(edited, ignore_errors=True)
    return BuildFigures(passages=passages, full_s=median(full), passages_per_s=passages / median(full),
                        rebuild_s=median(rebuild), reembedded=reembedded)


def bench_textbook_build(textbook, sources: Path, work: Path, runs: int) -> BuildFigures:
    """The textbook pipeline: full, and again after one edited source (no cache: every chunk re-embedded)."""
    full, rebuild, chunks = [], [], 0
    for r in range(runs):
        t = time.perf_counter()
        chunks = textbook.build(sources)
        full.append(time.perf_counter() - t)
        edited = copy_sources(work / f"tb-sources-edited-{r}", sources)
        edit_one_source(edited)
        t = time.perf_counter()
        textbook.build(edited)
        rebuild.append(time.perf_counter() - t)
        shutil.rmtree(edited, ignore_errors=True)
    return BuildFigures(passages=chunks, full_s=median(full), passages_per_s=chunks / median(full),
                        rebuild_s=median(rebuild), reembedded=chunks)
