"""How closely a passage's words come to the question's heaviest word, by the model's own word vectors.

The index keeps a word table (``words.json`` + ``words.npy``, written by ``index.store`` from the
lexicon's vectors): every corpus word and the common English words, each embedded by the model in
the lexicon's carrier sentence of its language (``index.lexicon.CARRIERS``). For the question's rarest content word (the one the general-language weights say carries
it), the match of a passage is the cosine of that word to the passage's closest word. An English
question's key word meets its Norwegian translation, a bokmål word its nynorsk form, a misspelling
nothing; a word the table lacks matches nothing (0). The question model reads the best match among
the leading candidates: "dental care" in a health programme with no word near "dental" stands out
from a question whose key word the programmes use. Nothing here is written for one programme.
"""

from __future__ import annotations

import threading

import numpy as np

from ..textnorm import words

MIN_LETTERS = 3  # words shorter than this are not in the table (lexicon._ALPHA)


class WordTable:
    """Words and their unit vectors (float16 on disk, float32 once read: ``index.store.read_word_table``)."""

    def __init__(self, words_: list[str], vectors: np.ndarray):
        if len(words_) != len(vectors):
            raise ValueError("a word table needs one vector per word")
        self.words = words_
        self.vectors = vectors
        self._ids = {w: i for i, w in enumerate(words_)}

    def __len__(self) -> int:
        return len(self.words)

    def id_of(self, word: str) -> int | None:
        return self._ids.get(word.casefold())

    def ids_of_text(self, text: str) -> np.ndarray:
        """The table ids of a text's distinct words (lower case), in first-seen order."""
        seen = dict.fromkeys(w.casefold() for w in words(text) if len(w) >= MIN_LETTERS)
        return np.array([i for w in seen if (i := self._ids.get(w)) is not None], dtype=np.int64)


EMPTY = WordTable([], np.zeros((0, 1), np.float16))


class PassageWords:
    """The table ids of each passage's words, made from its text on first use and kept."""

    def __init__(self, index, table: WordTable):
        self._index = index
        self._table = table
        self._ids: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()

    def __call__(self, row: int) -> np.ndarray:
        found = self._ids.get(row)
        if found is None:
            p = self._index.passages[row]
            found = self._table.ids_of_text(p.text + " " + p.section)
            with self._lock:
                self._ids[row] = found
        return found


def key_term(terms) -> object | None:
    """The question's heaviest content term (the first of equals), or None."""
    return max(terms, key=lambda t: t.weight, default=None)


def matches(table: WordTable, passage_words: PassageWords, terms, rows: list[int]) -> np.ndarray:
    """For each row, the cosine of the question's key word to the passage's closest word (0: none)."""
    out = np.zeros(len(rows))
    term = key_term(terms)
    if term is None or not len(table) or not rows:
        return out
    at = table.id_of(term.text)
    if at is None:
        return out
    ids = [passage_words(r) for r in rows]
    lengths = np.array([len(i) for i in ids])
    if not lengths.sum():
        return out
    flat = np.concatenate(ids)
    sims = np.asarray(table.vectors[flat], dtype=np.float32) @ np.asarray(table.vectors[at], dtype=np.float32)  # no copy in float32
    have = lengths > 0
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])[have]
    out[have] = np.maximum.reduceat(sims, starts)
    return out
