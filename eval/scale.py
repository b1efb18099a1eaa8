"""Scale on the real pipeline: generated corpora of 100k and 1M passages, built and queried with
the chatbot's own index machinery (issue 14, item 5).

    .venv/bin/python eval/scale.py run --passages 100000            # generate, build, open, query
    .venv/bin/python eval/scale.py run --passages 1000000 --clean   # ... and delete the work folder after

Each size lives in ``build/scale/N/`` (not committed): ``sources/`` with generated programmes (a
``catalog.toml`` and ``parties.toml`` in the format ``chatbot/catalog.py`` and ``chatbot/parties.py``
read, every document ``fictitious = true``) and ``index/``.

The programmes are Norwegian sentences, bullet points and headings recombined from the shipped
sources and the evaluation collections (the sealed collection is left out), under 100 fictitious
parties (the collections' six invented parties and 94 generated names) and documents of about 200
passages. The parties' names in the recombined sentences are not changed.

Dense vectors: embedding a million passages with the real model would take about two hours on
two cores (~150 passages/s), so passages get **synthetic vectors** of the model's dimension (384):
every sentence and bullet of the collections is embedded once with the real model, and a
passage's vector is the normalised sum of its pieces' vectors plus a little deterministic noise
(so retrieval over them is still meaningful). Questions are embedded by the real model. BM25,
the party filters, the manifest checks, load and fusion are the chatbot's own code. The lexicon
(English -> corpus words) is induced with the real model, as in a real build.

Each phase runs in its own process so that peak RSS is per phase: ``build`` (split, embed, BM25,
lexicon, write), ``query`` (open = catalog + ``index.load``, then ``Answerer.ask`` over ~200
distinct questions of the (not sealed) collections, without and with a party filter).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _code_option(argv: list[str]) -> str | None:
    """``--code DIR`` (another copy of the chatbot package to measure, e.g. the tree before a change),
    read before ``chatbot`` is imported, since it decides which ``chatbot`` that is."""
    for i, arg in enumerate(argv):
        if arg == "--code" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--code="):
            return arg.split("=", 1)[1]
    return None


CODE = _code_option(sys.argv[1:])
if CODE:
    sys.path.insert(0, CODE)

from chatbot.bench.embedding import Delegating  # noqa: E402
from chatbot.bench.procs import MemorySampler, child_json, peak_rss_mb, rss_mb  # noqa: E402

WORK = ROOT / "build" / "scale"
PASSAGES_PER_DOC = 200
N_PARTIES = 100
SEED = 14
_SENTENCE = re.compile(r"(?<=[.!?…])\s+(?=[\"«(\[A-ZÆØÅÄÖÜÉ0-9])")
_INVENTED = ("Fjordpartiet", "Nordlyspartiet", "Samholdspartiet", "Bylista", "Vardepartiet", "Tunpartiet")
_PREFIX = ("Skog", "Dal", "Elv", "Havn", "Bygd", "Vind", "Sol", "Stein", "Myr", "Lyng", "Bre", "Øy", "Vik",
           "Nes", "Li", "Berg", "Tind", "Strand", "Fonn", "Kyst")
_SUFFIX = ("lista", "alliansen", "forbundet", "rørsla", "ringen")
_KINDS = ("valgprogram", "partiprogram", "temaside", "prinsipprogram")


# ----------------------------------------------------------------------------- material


def collections():
    """The sources folders to recombine: the shipped one and every collection that is not sealed."""
    from chatbot.evaluation.corpora import all_corpora

    return [ROOT / "sources"] + [c.sources for c in all_corpora(ROOT / "eval" / "corpora") if not c.sealed]


def material():
    """(sentences, bullets, leads, headings) from the collections, split by the chatbot's own splitter."""
    from chatbot.catalog import load_catalog
    from chatbot.passages import split_document

    sentences, bullets, headings = {}, {}, {}
    for root in collections():
        catalog = load_catalog(root)
        for doc in catalog.documents:
            for p in split_document(doc, catalog.text(doc.source)):
                if p.section and p.section != doc.title:
                    headings[p.section] = None
                lead = p.section.rstrip(": ")
                if lead.endswith(" vil") or p.section.rstrip().endswith(":"):
                    bullets[re.sub(r"^\s*[-•*]\s*", "", p.text).strip()] = None
                else:
                    for s in _SENTENCE.split(p.text):
                        if len(s) >= 20:
                            sentences[s.strip()] = None
    heads = [h for h in headings if not h.rstrip().endswith(":") and not h.rstrip().endswith(" vil") and len(h) < 80]
    return list(sentences), list(bullets), heads


def party_names() -> list[str]:
    generated = [p + s for s in _SUFFIX for p in _PREFIX]
    return list(_INVENTED) + generated[:N_PARTIES - len(_INVENTED)]


def generate(n_passages: int, folder: Path) -> dict:
    """Write ``folder/sources`` (texts, catalog.toml, parties.toml); about ``n_passages`` passages."""
    sentences, bullets, headings = material()
    rng = random.Random(SEED)
    parties = party_names()
    src = folder / "sources"
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    n_docs = max(1, round(n_passages / PASSAGES_PER_DOC))
    catalog = ["# Generated by eval/scale.py: recombined sentences of the evaluation collections.",
               "# Every party and document here is fictitious.", ""]
    total_chars = 0
    for d in range(n_docs):
        party = parties[d % len(parties)]
        title = f"{rng.choice(headings)} ({d + 1})"
        lines = [title, ""]
        made = 0
        while made < PASSAGES_PER_DOC:
            lines += [rng.choice(headings), ""]
            for _ in range(rng.randint(3, 7)):
                if rng.random() < 0.25:
                    lines += [f"{party} vil:", ""]
                    k = rng.randint(2, 5)
                    lines += [f"- {b}" for b in rng.sample(bullets, k)] + [""]
                    made += k
                else:
                    lines += [" ".join(rng.sample(sentences, rng.randint(1, 2))), ""]
                    made += 1
        text = "\n".join(lines)
        total_chars += len(text)
        name = f"doc{d:05d}.txt"
        (src / name).write_text(text, encoding="utf-8")
        catalog += ["[[document]]", f'file = "{name}"', f'party = "{party}"', f'title = "{title}"',
                    f'kind = "{_KINDS[d % len(_KINDS)]}"', 'language = "nb"', "fictitious = true",
                    'provenance = "Generert av eval/scale.py; fiktivt parti, ikke et ekte program."', ""]
    (src / "catalog.toml").write_text("\n".join(catalog), encoding="utf-8")
    party_toml = ["# Generated by eval/scale.py: every party here is fictitious.", ""]
    for p in parties:
        party_toml += ["[[party]]", f'name = "{p}"', f'aliases = ["{p}", "{p}s"]', ""]
    # the real parties the collections' questions name: recognised, not in these sources
    for real in ("Venstre", "Helsepartiet", "Arbeiderpartiet", "Høyre"):
        party_toml += ["[[party]]", f'name = "{real}"', f'aliases = ["{real}"]', ""]
    (src / "parties.toml").write_text("\n".join(party_toml), encoding="utf-8")
    return {"documents": n_docs, "parties": len(parties), "chars": total_chars,
            "pieces": len(sentences) + len(bullets), "headings": len(headings)}


# ----------------------------------------------------------------------------- embedders


class SyntheticPassages(Delegating):
    """Passages: the normalised sum of the real vectors of their sentences (plus deterministic
    noise); questions and lexicon words: the real model. Model id and checksum are its own."""

    NOISE = 0.15

    def __init__(self, real, pieces: dict[str, np.ndarray]):
        super().__init__(real)
        self.real = real
        self.pieces = pieces
        self.model_id = f"{real.model_id}+synthetic-passages"
        self.embed_seconds = 0.0
        self.query_seconds = 0.0
        self.embedded = 0

    @property
    def checksum(self) -> str:
        return hashlib.sha256(f"synthetic-passages\0{self.real.checksum}".encode()).hexdigest()

    def remember_words(self, folder: Path) -> None:
        """Reuse the real query vectors of words an earlier build's lexicon embedded (vocab.npy)."""
        self.words = {}
        for vocab in folder.glob("*/index/current/vocab.json"):
            with __import__("contextlib").suppress(OSError, ValueError):
                self.words.update(zip(json.loads(vocab.read_text(encoding="utf-8")),
                                      np.load(vocab.with_name("vocab.npy"))))

    def embed_queries(self, texts):
        words = getattr(self, "words", None)
        if words and len(texts) > 1 and all(t in words for t in texts):
            return np.stack([words[t] for t in texts])
        t = time.perf_counter()
        texts = list(texts)  # in slices: the real embedder's memory grows with the size of one call
        out = np.concatenate([self.real.embed_queries(texts[i:i + 256]) for i in range(0, len(texts), 256)]) \
            if texts else np.zeros((0, self.dim), np.float32)
        self.query_seconds += time.perf_counter() - t
        return out

    def embed_passages(self, texts, progress=None):
        t = time.perf_counter()
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            body = text.rsplit(" · ", 1)[-1]
            vec = np.zeros(self.dim, dtype=np.float32)
            for piece in _SENTENCE.split(body.lstrip("-• ").strip()):
                v = self.pieces.get(piece.strip())
                if v is not None:
                    vec += v
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
            vec += self.NOISE * np.random.default_rng(seed).standard_normal(self.dim, dtype=np.float32) / np.sqrt(self.dim)
            out[i] = vec / np.linalg.norm(vec)
            if progress and (i + 1) % 100_000 == 0:
                progress(i + 1, len(texts))
        self.embedded += len(texts)
        self.embed_seconds += time.perf_counter() - t
        return out


def real_embedder():
    from chatbot.models.factory import make_embedder

    e = make_embedder(None, backend="auto", progress=lambda m: print(m, file=sys.stderr))
    e.warm_up()
    return e


def piece_vectors(real) -> dict[str, np.ndarray]:
    """The real passage vectors of every sentence and bullet of the collections (cached in build/scale)."""
    sentences, bullets, _ = material()
    pieces = sentences + bullets
    key = hashlib.sha256(("\n".join(pieces) + real.checksum).encode()).hexdigest()[:16]
    path = WORK / f"pieces-{key}.npy"
    if path.is_file():
        vectors = np.load(path)
    else:
        t = time.perf_counter()
        vectors = real.embed_passages(pieces)
        rate = len(pieces) / (time.perf_counter() - t)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors)
        (WORK / f"pieces-{key}.json").write_text(json.dumps({"pieces": len(pieces), "passages_per_s": rate}))
    return dict(zip(pieces, vectors))


def real_rate(real) -> float | None:
    for p in WORK.glob("pieces-*.json"):
        return json.loads(p.read_text())["passages_per_s"]
    return None


# ----------------------------------------------------------------------------- phases


def phase_build(folder: Path) -> dict:
    from chatbot.index import store as index_mod
    from chatbot.catalog import load_catalog

    sampler = MemorySampler()
    real = real_embedder()
    emb = SyntheticPassages(real, piece_vectors(real))
    emb.remember_words(WORK)
    t0 = time.perf_counter()
    catalog = load_catalog(folder / "sources")
    t_catalog = time.perf_counter() - t0
    messages = []
    t = time.perf_counter()
    index_mod.build(catalog, emb, folder / "index", progress=lambda m: messages.append((time.perf_counter() - t, m)))
    total = time.perf_counter() - t
    manifest = index_mod.read_manifest(folder / "index")
    n = manifest.counts.passages
    other = total - emb.embed_seconds - emb.query_seconds
    sizes = {name: meta.bytes for name, meta in manifest.files.items()}
    return {"passages": n, "documents": manifest.counts.documents, "catalog_s": t_catalog, "build_s": total,
            "embed_s": emb.embed_seconds, "lexicon_query_embed_s": emb.query_seconds, "other_s": other,
            "other_passages_per_s": n / other, "synthetic_passages_per_s": n / max(emb.embed_seconds, 1e-9),
            "peak_rss_mb": peak_rss_mb(), **sampler.stop(), "dense": manifest.dense,
            "index_mb": sum(sizes.values()) / 1e6, "file_mb": {k: round(v / 1e6, 1) for k, v in sizes.items() if v > 1e6},
            "log": [f"{s:7.1f}s {m}" for s, m in messages if not m.startswith("  embedded")][-12:]}


def questions(limit: int) -> list[str]:
    from chatbot.evaluation.corpora import all_corpora

    qs: dict[str, None] = {}
    for c in all_corpora(ROOT / "eval" / "corpora"):
        if c.sealed:
            continue
        for line in c.questions.read_text(encoding="utf-8").splitlines():
            if line.strip():
                qs[json.loads(line)["q"]] = None
    return list(qs)[:limit]


def phase_query(folder: Path, n_questions: int) -> dict:
    from chatbot.index import store as index_mod
    from chatbot.answer import Answerer
    from chatbot.catalog import load_catalog
    from chatbot.parties import load_parties
    from chatbot.query import decide
    from chatbot.records import Answer

    real = real_embedder()
    emb = SyntheticPassages(real, {})
    rss_model = rss_mb()
    t = time.perf_counter()
    catalog = load_catalog(folder / "sources")
    t_catalog = time.perf_counter() - t
    t = time.perf_counter()
    index = index_mod.load(folder / "index", catalog, emb)
    t_load = time.perf_counter() - t
    rss_open = rss_mb()
    integrity = getattr(index, "integrity", None)  # the background checksum check of the large files
    t = time.perf_counter()
    error = integrity.wait() if integrity is not None else None
    t_wait = time.perf_counter() - t
    answerer = Answerer(index, emb, load_parties(folder / "sources"), decision=decide.for_model(real.model_id))
    parties = sorted(index.parties)
    qs = questions(n_questions)
    answerer.ask(qs[0])  # warm: first-use caches (vocabulary, word lists)
    out = {"open_catalog_s": t_catalog, "open_index_s": t_load, "rss_after_model_mb": rss_model,
           "background_check_s": integrity.seconds if integrity is not None else None,
           "background_check_waited_s": t_wait, "background_check_error": error,
           "rss_after_open_mb": rss_open, "questions": len(qs)}
    for label, party_of in (("all", lambda i: None), ("party", lambda i: parties[i % len(parties)])):
        times, stopped, parts = [], 0, {}
        for i, q in enumerate(qs):
            t = time.perf_counter()
            found = answerer.search(q, party_of(i))
            if isinstance(found, Answer):
                stopped += 1
                continue
            answerer.decide(found, 5, "hybrid")
            times.append((time.perf_counter() - t) * 1000)
            for k, v in found.timings.items():
                parts.setdefault(k, []).append(v)
        times.sort()
        out[label] = {"n": len(times), "stopped_before_retrieval": stopped, "p50_ms": statistics.median(times),
                      "p95_ms": times[min(len(times) - 1, int(round(0.95 * len(times))) - 1)],
                      "parts_p50_ms": {k: round(statistics.median(v), 2) for k, v in parts.items()}}
    out["peak_rss_mb"] = peak_rss_mb()
    out["rss_end_mb"] = rss_mb()
    return out


def _child(args: list[str]) -> dict:
    try:
        return child_json([sys.executable, __file__, *(["--code", CODE] if CODE else []), *args])
    except (RuntimeError, ValueError) as exc:
        sys.stderr.write(f"{str(exc)[-4000:]}\n")
        raise SystemExit(f"scale: {' '.join(args)} failed") from None


def report(n: int, gen: dict, built: dict, queried: dict, rate: float | None) -> str:
    q, a, p = queried, queried["all"], queried["party"]
    lines = [f"### {n:,} passages requested: {built['passages']:,} passages, {built['documents']:,} documents, "
             f"{gen.get('parties', N_PARTIES)} parties, dense `{built['dense'].get('kind')}`",
             "", "| measure | value |", "|---|---|",
             f"| build total | {built['build_s']:.1f} s |",
             f"| – synthetic embedding | {built['embed_s']:.1f} s ({built['synthetic_passages_per_s']:,.0f} passages/s) |",
             f"| – lexicon words embedded by the real model | {built['lexicon_query_embed_s']:.1f} s |",
             f"| – everything else (split, BM25, lexicon, FAISS, write, checksums) | {built['other_s']:.1f} s "
             f"(**{built['other_passages_per_s']:,.0f} passages/s**) |"]
    if rate:
        lines.append(f"| real model, passages (measured on the collections' pieces) | {rate:.0f} passages/s "
                     f"(would be {built['passages'] / rate / 60:.0f} min) |")
    lines += [f"| build peak RSS | {built['peak_rss_mb'] / 1024:.2f} GB"
              + (f" (anonymous {built['peak_rss_anon_mb'] / 1024:.2f} GB, mapped files {built['peak_rss_file_mb'] / 1024:.2f} GB)"
                 if "peak_rss_anon_mb" in built else "") + " |",
              f"| index on disk | {built['index_mb'] / 1000:.2f} GB ({', '.join(f'{k} {v:.0f} MB' for k, v in built['file_mb'].items())}) |",
              f"| open: catalog | {q['open_catalog_s']:.2f} s |",
              f"| open: `index.load` | **{q['open_index_s']:.2f} s** |",
              *([f"| background full sha256 of the large files (after open, waited for before timing) | "
                 f"{q['background_check_s']:.1f} s ({q['background_check_error'] or 'all match'}) |"]
                if q.get("background_check_s") is not None else []),
              f"| RSS after model / after open | {q['rss_after_model_mb'] / 1024:.2f} / **{q['rss_after_open_mb'] / 1024:.2f} GB** |",
              f"| RSS peak / at the end (query process) | {q['peak_rss_mb'] / 1024:.2f} / {q['rss_end_mb'] / 1024:.2f} GB |",
              f"| hybrid `search`+`decide`, no filter: p50 / p95 | **{a['p50_ms']:.1f}** / {a['p95_ms']:.1f} ms (n={a['n']}) |",
              f"| hybrid, party filter: p50 / p95 | **{p['p50_ms']:.1f}** / {p['p95_ms']:.1f} ms (n={p['n']}) |",
              f"| parts p50, no filter (ms) | {', '.join(f'{k} {v}' for k, v in a['parts_p50_ms'].items())} |",
              f"| parts p50, filter (ms) | {', '.join(f'{k} {v}' for k, v in p['parts_p50_ms'].items())} |",
              f"| questions stopped before retrieval (party not in sources), not timed | {a['stopped_before_retrieval']} / {p['stopped_before_retrieval']} |",
              ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--code", metavar="DIR", help="measure another copy of the chatbot package (the folder holding chatbot/)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="generate, build, open and query one size")
    run.add_argument("--passages", type=int, default=100_000)
    run.add_argument("--questions", type=int, default=200)
    run.add_argument("--skip-build", action="store_true", help="reuse the generated sources and index")
    run.add_argument("--clean", action="store_true", help="delete the work folder at the end")
    for name in ("_build", "_query"):
        p = sub.add_parser(name)
        p.add_argument("folder", type=Path)
        p.add_argument("--questions", type=int, default=200)
    args = ap.parse_args(argv)
    if args.cmd == "_build":
        print(json.dumps(phase_build(args.folder)))
        return 0
    if args.cmd == "_query":
        print(json.dumps(phase_query(args.folder, args.questions)))
        return 0
    folder = WORK / str(args.passages)
    gen = {}
    if not args.skip_build:
        t = time.perf_counter()
        gen = generate(args.passages, folder)
        print(f"scale: generated {gen} in {time.perf_counter() - t:.1f} s", file=sys.stderr, flush=True)
        built = _child(["_build", str(folder)])
        (folder / "built.json").write_text(json.dumps(built, indent=1))
    built = json.loads((folder / "built.json").read_text())
    print(f"scale: built {json.dumps(built)}", file=sys.stderr, flush=True)
    queried = _child(["_query", str(folder), "--questions", str(args.questions)])
    print(f"scale: queried {json.dumps(queried)}", file=sys.stderr, flush=True)
    print(report(args.passages, gen, built, queried, real_rate(None)))
    if args.clean:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
