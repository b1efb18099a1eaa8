"""How common a nynorsk word is, read through its bokmål form: a word map made by Apertium.

Question words are weighted by their general-language frequency (``query/terms.py``), and wordfreq's
Norwegian list is bokmål: there "gjere" (zipf 2.3), "ikkje", "meir" or "kommunane" look rare, so a
nynorsk question's function words and common verbs weighed as much as its topic ("kva vil Helsepartiet
gjere med rusbehandling?" had "gjere" as its heaviest word, and was declined). This map gives each
nynorsk form the bokmål word it translates: the commonest bokmål words (wordfreq) translated into
nynorsk by Apertium's general bokmål-nynorsk pair, in both of its standards (a- and e-infinitives), and
each nynorsk form that differs kept with its most frequent source ("gjere" -> "gjøre", "skular" ->
"skoler"). A nynorsk word then weighs what its bokmål form weighs. Nothing here is written for one
programme or topic.

The map is made once per machine and Apertium version (about 15 seconds; cached in the cache folder)
and written into each index (``nynorsk-words.json``), so a question is weighed with the map its index
was built with. Without Apertium the map is empty and nynorsk words keep their bokmål-list frequency
(the build says so: ``MISSING``, as ``standards.MISSING`` for the nynorsk passages).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from . import standards

WORDS = 10_000  # the commonest bokmål words (wordfreq) translated
MODES = ("nob-nno", "nob-nno_e")  # Apertium's two nynorsk standards: "gjera" and "gjere"
FORMAT = 1  # bump when how the map is made changes
SEPARATOR = "\n\n"  # one word per paragraph: Apertium keeps the blank lines

MISSING = (f"{standards.PACKAGE} is not installed: nynorsk question words are weighed by the bokmål word list "
           f"alone (apt-get install {standards.PACKAGE}; README, 'Nynorsk')")

Translate = Callable[[str, list[str]], list[str]]  # (mode, bokmål words) -> their nynorsk forms, in order


def available() -> bool:
    return standards.available() and all(standards.mode_file(m) is not None for m in MODES)


def setting() -> str | None:
    """What the manifest records (beside ``standards.setting``): how the map is made, None without Apertium."""
    return f"apertium {'+'.join(MODES)}, {WORDS} words, format {FORMAT}" if available() else None


def build(cache_dir: Path | None, say: Callable[[str], None] = lambda _m: None,
          translate: Translate | None = None) -> dict[str, str]:
    """The map {nynorsk form: bokmål word}, from the cache when it holds one for this Apertium, else made
    now (and cached). ``translate``: a stand-in for tests (never cached). Empty without Apertium, or when
    Apertium fails (said once: the index is still built, nynorsk words keep their bokmål-list weight)."""
    if translate is None and not available():
        say(MISSING)
        return {}
    words = bokmal_words()
    path = None
    if translate is None and cache_dir is not None:
        path = Path(cache_dir) / "nynorsk" / f"words-{_cache_key(words)}.json"
        cached = _read(path)
        if cached is not None:
            return cached
    try:
        made = make(words, translate or _apertium)
    except (OSError, subprocess.SubprocessError, RuntimeError, ValueError) as exc:
        say(f"nynorsk question words: Apertium failed ({type(exc).__name__}: {str(exc)[:200]}); "
            "nynorsk words are weighed by the bokmål word list alone")
        return {}
    say(f"nynorsk question words: {len(made)} nynorsk forms read at their bokmål frequency (Apertium, once per machine)")
    if path is not None:
        from ..fsutil import atomic_write_text

        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, json.dumps(made, ensure_ascii=False, sort_keys=True))
        except OSError:
            pass  # a cache that cannot be written costs time, not correctness
    return made


def bokmal_words() -> list[str]:
    from wordfreq import top_n_list

    return [w for w in top_n_list("nb", WORDS) if w.isalpha()]


def make(words: list[str], translate: Translate) -> dict[str, str]:
    """{nynorsk form: the most frequent bokmål word translated to it}, for forms that differ from their
    source and are commoner as that source than as written (in wordfreq's bokmål list)."""
    from ..textnorm import zipf

    best: dict[str, tuple[float, str]] = {}
    with ThreadPoolExecutor(len(MODES)) as pool:  # one Apertium process per standard, side by side
        translated = list(pool.map(lambda mode: translate(mode, words), MODES))
    for mode, forms in zip(MODES, translated):
        if len(forms) != len(words):
            raise RuntimeError(f"{len(forms)} words came back for {len(words)} ({mode})")
        for source, form in zip(words, forms):
            form = form.strip().casefold()
            if form == source or not form.isalpha():
                continue  # the same word, several words, or Apertium's marks ("*", "#", "@")
            z = zipf(source, "nb")
            if z > zipf(form, "nb") and z > best.get(form, (-1.0, ""))[0]:
                best[form] = (z, source)
    return {form: source for form, (_z, source) in sorted(best.items())}


def _apertium(mode: str, words: list[str]) -> list[str]:
    # Apertium's marks stay (unlike standards.apertium): a marked form is no word, and ``make`` drops it
    return [part.strip() for part in standards.run(mode, SEPARATOR.join(words), 600).strip().split(SEPARATOR)]


def _cache_key(words: list[str]) -> str:
    """Changes with the word list, this module's FORMAT, and the Apertium files the modes run."""
    h = hashlib.sha256(f"{FORMAT}\0{len(words)}\0{hashlib.sha256(' '.join(words).encode()).hexdigest()}".encode())
    for mode in MODES:
        found = standards.mode_file(mode)
        try:
            text = found.read_text(encoding="utf-8", errors="replace") if found is not None else "missing"
        except OSError:
            text = "unreadable"
        h.update(text.encode())
        for name in sorted(set(t.strip("'\"") for t in text.split() if t.strip("'\"").startswith("/"))):
            try:
                st = Path(name).stat()
                h.update(f"{name}\0{st.st_size}\0{st.st_mtime_ns}".encode())
            except OSError:
                h.update(f"{name}\0missing".encode())
    return h.hexdigest()[:16]


def _read(path: Path) -> dict[str, str] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        return None
    return data
