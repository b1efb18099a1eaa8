"""An English → Norwegian lexicon induced from the embedding model over the corpus vocabulary.

The model is cross-lingual: an English word and its Norwegian translation lie close. At
build time the index embeds its own vocabulary (the content words of its passages) and
pairs each common English word (wordfreq's English list) with the corpus word it is
closest to, kept only when the two are mutual nearest neighbours after discounting hub words
(CSLS). No list is written by hand and nothing is keyed to a programme: a new programme
brings its own words. The lexicon is saved in the index (``lexicon.json``); the word vectors
are kept beside it (``vocab.npy``) so that a rebuild embeds only new words.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

ENGLISH_WORDS = 20_000  # the most common English words (wordfreq) that may be looked up
MAX_VOCAB = 50_000  # corpus words embedded, most frequent first
HUB_NEIGHBOURS = 10  # CSLS: the mean similarity to this many nearest words on the other side
MUTUAL_TOP = 10  # the English word must be among the corpus word's nearest this many
MIN_COSINE = 0.80  # in carrier sentences every pair is above 0.9, so the mutual-neighbour test decides
# version of how words are embedded: 3 = each word in a carrier sentence of its language (``CARRIERS``), as
# passages are (``embed_passages``: float32 on ONNX, so a lexicon does not depend on the precision questions
# run at); 2 was the bare word as a question
WORD_VECTORS = 3
# A word alone is embedded mostly by its letters ("needle" lies next to "nytte"); in a sentence the model
# reads it as a word of that language, so translations meet. The same plain sentence in each language, about
# nothing in particular (nynorsk writes it the same way as bokmål). The word table (query/wordmatch.py) is made
# from the same vectors: bare words for it measured the same (README, *Evaluation*, 2026-12-08).
CARRIERS = {"en": "We must talk about {}.", "nb": "Vi må snakke om {}."}
LEXICON = "lexicon.json"
VOCAB = "vocab.json"
VOCAB_VECTORS = "vocab.npy"
_ALPHA = re.compile(r"^[^\W\d_]{3,}$")


def english_vocabulary() -> list[str]:
    from bm25s.stopwords import STOPWORDS_EN
    from wordfreq import top_n_list

    stop = set(STOPWORDS_EN)
    return [w for w in top_n_list("en", ENGLISH_WORDS) if _ALPHA.match(w) and w not in stop]


def english_vectors(embedder, cache_dir: Path | None) -> tuple[list[str], np.ndarray]:
    """The English words and their vectors (in the carrier sentence), cached per model (they do not depend on the
    corpus)."""
    words = english_vocabulary()
    path = None
    if cache_dir is not None:
        path = Path(cache_dir) / "lexicon" / f"en-{len(words)}-{embedder.checksum[:16]}-w{WORD_VECTORS}.npy"
        if path.is_file():
            try:
                vectors = np.load(path, allow_pickle=False)
                if vectors.shape == (len(words), embedder.dim):
                    return words, vectors
            except (OSError, ValueError):
                pass
    vectors = embed_words(embedder, words, "en")
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{np.random.randint(1 << 30)}.npy")
            np.save(tmp, vectors, allow_pickle=False)
            tmp.replace(path)
        except OSError:
            pass  # a cache that cannot be written costs time, not correctness
    return words, vectors


def embed_words(embedder, words: list[str], language: str) -> np.ndarray:
    """Vectors of ``words`` ("en" or "nb"), each in its language's carrier sentence (``CARRIERS``), embedded
    as passages are."""
    carrier = CARRIERS[language]
    return np.asarray(embedder.embed_passages([carrier.format(w) for w in words]), dtype=np.float32)


def corpus_vocabulary(texts: list[str]) -> list[str]:
    """Content words of the passages (lower case), most frequent first."""
    from ..textnorm import compound_parts, tokens, words

    counts: dict[str, int] = {}
    for text in texts:
        for w in words(text):
            lower = w.casefold()
            # the word and the parts of a compound: "formuesskatten" also offers "formue" and "skatten"
            for form in (lower, *compound_parts(lower)):
                if _ALPHA.match(form):
                    counts[form] = counts.get(form, 0) + 1
    found = [w for w in sorted(counts, key=lambda w: (-counts[w], w)) if tokens(w)]
    return found[:MAX_VOCAB]


def induce(en_words: list[str], en_vectors: np.ndarray, vocab: list[str], vocab_vectors: np.ndarray) -> dict[str, list[str]]:
    """English word -> the corpus word(s) it translates to, by mutual nearest neighbours under CSLS."""
    if not vocab or not en_words:
        return {}
    sims = en_vectors @ vocab_vectors.T  # (E, V)
    kv = min(HUB_NEIGHBOURS, sims.shape[1])
    ke = min(HUB_NEIGHBOURS, sims.shape[0])
    r_en = np.sort(sims, axis=1)[:, -kv:].mean(axis=1)  # how hub-like each English word is
    r_no = np.sort(sims, axis=0)[-ke:, :].mean(axis=0)  # how hub-like each corpus word is
    csls = 2 * sims - r_en[:, None] - r_no[None, :]
    best_no = csls.argmax(axis=1)
    top_en = np.argsort(-csls, axis=0)[:MUTUAL_TOP, :]  # (MUTUAL_TOP, V)
    out: dict[str, list[str]] = {}
    for e, n in enumerate(best_no):
        if sims[e, n] < MIN_COSINE or e not in top_en[:, n]:
            continue
        if en_words[e] == vocab[n]:
            continue  # the same word in both languages needs no translation
        out[en_words[e]] = [vocab[n]]
    return out


def build(embedder, texts: list[str], previous: Path | None, cache_dir: Path | None,
          say: Callable[[str], None] = lambda _m: None) -> Built:
    """The lexicon, the corpus vocabulary and its vectors, and the English words' vectors; vectors of
    words the previous build had are reused (``previous``: its folder, given only when its word vectors
    were made as this version makes them)."""
    vocab = corpus_vocabulary(texts)
    known: dict[str, np.ndarray] = {}
    if previous is not None:
        try:
            old_words = json.loads((previous / VOCAB).read_text(encoding="utf-8"))
            old_vectors = np.load(previous / VOCAB_VECTORS, allow_pickle=False)
            if len(old_words) == len(old_vectors) and old_vectors.shape[1:] == (embedder.dim,):
                known = dict(zip(old_words, old_vectors))
        except (OSError, ValueError, TypeError):
            known = {}
    new = [w for w in vocab if w not in known]
    if new:
        say(f"lexicon: embedding {len(new)} corpus words ({len(vocab) - len(new)} reused)")
        for w, v in zip(new, embed_words(embedder, new, "nb")):
            known[w] = v
    vectors = np.stack([known[w] for w in vocab]).astype(np.float32) if vocab else np.zeros((0, embedder.dim), np.float32)
    en_words, en_vecs = english_vectors(embedder, cache_dir)
    return Built(induce(en_words, en_vecs, vocab, vectors), vocab, vectors, en_words, en_vecs)


class Built(NamedTuple):
    """What ``build`` gives the index: the lexicon, and the word vectors it was made from."""

    pairs: dict[str, list[str]]
    vocab: list[str]
    vocab_vectors: np.ndarray
    english: list[str]
    english_vectors: np.ndarray

    def word_table(self) -> tuple[list[str], np.ndarray]:
        """The query-time word table (``query/wordmatch.py``): every corpus word, then the English words
        the corpus does not spell the same, as float16."""
        seen = set(self.vocab)
        extra = [i for i, w in enumerate(self.english) if w not in seen]
        words = list(self.vocab) + [self.english[i] for i in extra]
        return words, np.concatenate([self.vocab_vectors, self.english_vectors[extra]]).astype(np.float16)


def lookup(lexicon: dict[str, list[str]], word: str) -> tuple[str, ...]:
    """Translations of an English word, also of its plain inflections (-s, -es, -ies, -ed, -ing)."""
    word = word.casefold()
    if word in lexicon:
        return tuple(lexicon[word])
    for suffix, repl in (("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e"), ("'s", "")):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            stem = word[: -len(suffix)] + repl
            if stem in lexicon:
                return tuple(lexicon[stem])
    return ()
