"""Nynorsk passages indexed in bokmål as well, translated by Apertium (Debian's ``apertium-nno-nob``).

The embedding model has seen far more bokmål than nynorsk, and BM25 meets a word only in the form
it is written. So each passage of a document catalogued as ``language = "nn"`` is also translated
into bokmål at build time: its vector is the normalised sum of the vectors of the two forms, and its
BM25 keys are those of both ("sjukehus" and "sykehus", "bustad" and "bolig"). What is shown and quoted
is always the text as written. Nothing here is written for one programme: the translation is
Apertium's general nynorsk-bokmål pair.

Apertium is a Debian package, not a Python one (``make`` installs it where it can; ``apt-get install
apertium-nno-nob``). Without it an index is built from the nynorsk text alone, and the build says so.
Which of the two an index was built with is in its manifest (``setting``), so installing it later
makes the index stale and the next start rebuilds it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

PAIR = "nno-nob"
PACKAGE = "apertium-nno-nob"
MODE_DIRS = (Path("/usr/share/apertium/modes"), Path("/usr/local/share/apertium/modes"))
SEPARATOR = "\n\n¶¶¶\n\n"  # a line Apertium passes through untouched: many texts in one call
MISSING = (f"{PACKAGE} is not installed: nynorsk passages are indexed as written, without their bokmål "
           f"form (apt-get install {PACKAGE}; README, 'Nynorsk')")

Translate = Callable[[list[str]], list[str]]


def available() -> bool:
    """Apertium and its nynorsk-bokmål pair are installed (a cheap check: no process is started)."""
    return shutil.which("apertium") is not None and mode_file(PAIR) is not None


def mode_file(pair: str) -> Path | None:
    """Where Apertium's mode for ``pair`` ("nno-nob", "nob-nno_e", …) is installed, or None."""
    return next((d / f"{pair}.mode" for d in MODE_DIRS if (d / f"{pair}.mode").is_file()), None)


FORMS = 2  # how the bokmål form is made from Apertium's output: bump when it changes (2: its "#" marks dropped)


def setting() -> dict:
    """What the manifest records: whether nynorsk passages get their bokmål form, by what, and how."""
    return {"nynorsk_to_bokmal": f"apertium {PAIR}" if available() else None, "forms": FORMS}


def apertium(texts: list[str], timeout: float = 600.0) -> list[str]:
    """``texts`` translated from nynorsk to bokmål in one Apertium call (unknown words left as written)."""
    if not texts:
        return []
    if len(texts) == 1:
        return [_run(texts[0], timeout).strip()]
    parts = [p.strip() for p in _run(SEPARATOR.join(texts), timeout).split(SEPARATOR.strip())]
    if len(parts) != len(texts):  # a text that held the separator itself: one call each
        return [apertium([t], timeout)[0] for t in texts]
    return parts


def run(pair: str, text: str, timeout: float) -> str:
    """Apertium's output for ``text`` through ``pair`` (``-u``: unknown words are not marked)."""
    done = subprocess.run(["apertium", "-u", pair], input=text, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"apertium {pair} failed: {done.stderr.strip()[-300:]}")
    return done.stdout


def _run(text: str, timeout: float) -> str:
    # "#" marks a word Apertium could not inflect ("Gjøre#"): the word stays, the mark goes
    return run(PAIR, text, timeout).replace("#", "")


class BokmalForms:
    """The bokmål form of each nynorsk passage, by row: ``embedding`` (title · heading · text, what is
    embedded) and ``keys`` (text and heading, what BM25 indexes, as for every passage)."""

    def __init__(self, embedding: dict[int, str], keys: dict[int, str]):
        self.embedding = embedding
        self.keys = keys

    def __len__(self) -> int:
        return len(self.embedding)


NONE = BokmalForms({}, {})


def bokmal_forms(passages: Sequence, languages: dict[str, str], translate: Translate | None = None,
                 say: Callable[[str], None] = lambda _m: None) -> BokmalForms:
    """``BokmalForms`` of the passages whose document (``languages``: source -> language) is nynorsk.
    ``translate``: a stand-in for tests; None: Apertium when installed, else nothing (said once)."""
    rows = [i for i, p in enumerate(passages) if languages.get(p.source) == "nn"]
    if not rows:
        return NONE
    if translate is None:
        if not available():
            say(MISSING)
            return NONE
        translate = apertium
    texts = []
    for i in rows:
        p = passages[i]
        texts += [p.embedding_text(), f"{p.text} {p.section}"]
    try:
        out = list(translate(texts))
        if len(out) != len(texts):
            raise RuntimeError(f"{len(out)} texts came back for {len(texts)}")
    except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
        from ..errors import IndexError_

        raise IndexError_(f"translating the nynorsk passages into bokmål failed ({type(exc).__name__}: "
                          f"{str(exc)[:200]})", hint=f"reinstall {PACKAGE} (apt-get install --reinstall {PACKAGE}), "
                          f"or remove it to index nynorsk as written") from None
    say(f"nynorsk: {len(rows)} passages also indexed in bokmål ({PACKAGE})")
    return BokmalForms({i: out[2 * n] for n, i in enumerate(rows)}, {i: out[2 * n + 1] for n, i in enumerate(rows)})


class BothForms:
    """An embedder for build time: an item that is a (nynorsk, bokmål) pair is embedded as the normalised
    sum of the two forms' passage vectors; a plain text as the wrapped embedder embeds it."""

    def __init__(self, inner):
        self.inner = inner
        self.model_id = inner.model_id
        self.checksum = inner.checksum

    def embed_passages(self, items: Sequence, progress=None) -> np.ndarray:
        flat: list[str] = []
        spans: list[tuple[int, int]] = []
        for item in items:
            forms = (item,) if isinstance(item, str) else tuple(item)
            spans.append((len(flat), len(flat) + len(forms)))
            flat.extend(forms)
        total = len(items)
        relay = None if progress is None else (lambda done, _all: progress(min(total, round(done * total / len(flat))), total))
        vectors = np.asarray(self.inner.embed_passages(flat, progress=relay), dtype=np.float32)
        out = np.zeros((len(items), vectors.shape[1]), dtype=np.float32)
        for n, (a, b) in enumerate(spans):
            v = vectors[a:b].sum(axis=0)
            out[n] = v / (np.linalg.norm(v) or 1.0)
        return out
