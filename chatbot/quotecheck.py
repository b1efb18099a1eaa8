"""Quote check: is a quote someone attributes to a party in the sources, exactly, nearly, or not at all?

Works on the source texts as stored (no model, no index). Both the quote and every source
are reduced to a sequence of words (NFKC, casefold; punctuation, quote marks, dashes and
line breaks only separate words; invisible format characters such as soft hyphens and
zero-width spaces are dropped), and each source word keeps its character offsets in the
file. Ranges the catalog excludes (website chrome) are never searched, as for passages.

- **exact**: the quote's words occur contiguously in one document. With an ellipsis
  ("…", "...", "[…]", "[...]", "(…)") the pieces must occur in order in one document, each
  gap at most ``MAX_ELLIPSIS_GAP`` words. ``text == file_text[start:end]``; the span runs from
  the first word to the last, extended over the quote's own leading/trailing punctuation
  where the file has it ("." or "»").
- **near**: the best span by word alignment (a semi-global edit distance over candidate
  windows, the windows chosen by the quote's rarer words), ``similarity = matched words /
  max(quote words, span words)`` at least ``NEAR_THRESHOLD`` and at least
  ``MIN_NEAR_MATCHED`` words in common. The differences are the words missing from the
  quote, added by it, or changed.
- **none**: with the closest span, when it shares at least two words and is at least 30 %
  similar, for reference.

A quote is checked against every party's documents; the party it is attributed to only
decides how the result is reported ("found, but for another party").
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from .errors import ChatbotError

NEAR_THRESHOLD = 0.75  # one edit in four words; measured in tests/test_quotecheck.py (README "Quote check")
MIN_NEAR_MATCHED = 3  # a near match shares at least this many words with the quote
MAX_ELLIPSIS_GAP = 80  # words an ellipsis may stand for between two pieces
MAX_PIECES = 21  # pieces of a quote between ellipses (at most 20 ellipses)
MAX_QUOTE_CHARS = 5000  # about a page; longer text is refused with a message
MAX_RAW_CHARS = 100_000  # refused before any work (pasted documents, binary junk)
CLOSEST_MIN_MATCHED = 2  # a "none" answer shows the closest span only when it shares this many words
CLOSEST_MIN_SIMILARITY = 0.3  # ... and is at least this similar
MAX_MATCHES = 20  # matches listed (exact occurrences of a very short quote can be many)
_CANDIDATES = 8  # windows aligned per quote

FOUND_EXACT, FOUND_NEAR, FOUND_NONE = "exact", "near", "none"


class QuoteError(ChatbotError):
    """The quote cannot be checked (empty, no words, too long); the message says why."""


# ----------------------------------------------------------------------------- words

_CATEGORY: dict[str, int] = {}
_SEP, _WORD, _SKIP = 0, 1, 2


def _kind(ch: str) -> int:
    kind = _CATEGORY.get(ch)
    if kind is None:
        cat = unicodedata.category(ch)
        if ch in "ʼʻ":  # modifier-letter apostrophes (category Lm) are apostrophes: they separate, as ' does
            kind = _SEP
        elif cat[0] in "LNM":
            kind = _WORD
        elif cat == "Cf":  # soft hyphen, zero-width space/joiners, bidi marks: invisible, not a break
            kind = _SKIP
        else:
            kind = _SEP
        _CATEGORY[ch] = kind
    return kind


@dataclass(frozen=True)
class Words:
    """Normalised words of a text, each with the character span it came from."""

    words: tuple[str, ...]
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.words)


def _normal_parts(raw: str) -> list[str]:
    """NFKC + casefold one raw word; may give several words ("½" -> "1", "2") or none."""
    norm = unicodedata.normalize("NFKC", raw).casefold()
    norm = unicodedata.normalize("NFKC", norm)  # casefold can leave text that is not NFKC
    parts, current = [], []
    for ch in norm:
        kind = _kind(ch)
        if kind == _WORD:
            current.append(ch)
        elif kind == _SEP and current:
            parts.append("".join(current))
            current = []
    if current:
        parts.append("".join(current))
    return parts


def words_of(text: str, start: int = 0, end: int | None = None) -> Words:
    """The normalised words of ``text[start:end]`` with offsets into ``text``."""
    end = len(text) if end is None else end
    words: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i = start
    while i < end:
        if _kind(text[i]) != _WORD:
            i += 1
            continue
        j = i
        last = i  # end of the last word character (trailing format characters are not the word's)
        while j < end and _kind(text[j]) != _SEP:
            if _kind(text[j]) == _WORD:
                last = j + 1
            j += 1
        raw = "".join(ch for ch in text[i:last] if _kind(ch) == _WORD)
        for part in _normal_parts(raw):
            words.append(part)
            starts.append(i)
            ends.append(last)
        i = j
    return Words(tuple(words), tuple(starts), tuple(ends))


# ----------------------------------------------------------------------------- sources

@dataclass(frozen=True)
class Segment:
    """A stretch of one document's text that is programme text (between excluded ranges)."""

    doc: int  # index into SourceCorpus.documents
    words: Words
    positions: dict[str, tuple[int, ...]] = field(compare=False, repr=False)


@dataclass(frozen=True)
class SourceDocument:
    party: str
    source: str  # file name under sources/
    title: str
    label: str  # party and document as cited, e.g. "Helsepartiet, Prinsipprogram (vedtatt 8. februar 2017)"
    cite_as: str
    text: str  # the file's text exactly as stored


@dataclass(frozen=True)
class SourceCorpus:
    """Every catalogued document's words, ready to be searched."""

    documents: tuple[SourceDocument, ...]
    segments: tuple[Segment, ...]
    weights: dict[str, float] = field(compare=False, repr=False)  # rarity of each word in the corpus

    @property
    def parties(self) -> tuple[str, ...]:
        return tuple(sorted({d.party for d in self.documents}))


def _segment_bounds(length: int, excluded: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    bounds, pos = [], 0
    for start, end in sorted(excluded):
        if start > pos:
            bounds.append((pos, start))
        pos = max(pos, end)
    if pos < length:
        bounds.append((pos, length))
    return bounds


def build_corpus(documents: Iterable[tuple[Any, str]]) -> SourceCorpus:
    """From (catalog Document, text as stored) pairs."""
    docs: list[SourceDocument] = []
    segments: list[Segment] = []
    counts: dict[str, int] = {}
    for number, (doc, text) in enumerate(documents):
        docs.append(SourceDocument(party=doc.party, source=doc.source, title=doc.title,
                                   label=doc.citation_label(), cite_as=doc.cite_as or doc.title, text=text))
        for start, end in _segment_bounds(len(text), doc.excluded):
            words = words_of(text, start, end)
            if not words.words:
                continue
            positions: dict[str, list[int]] = {}
            for k, w in enumerate(words.words):
                positions.setdefault(w, []).append(k)
                counts[w] = counts.get(w, 0) + 1
            segments.append(Segment(number, words, {w: tuple(p) for w, p in positions.items()}))
    total = sum(counts.values()) or 1
    weights = {w: math.log(1 + total / c) for w, c in counts.items()}
    return SourceCorpus(tuple(docs), tuple(segments), weights)


def load_corpus(sources_dir: Path) -> SourceCorpus:
    """The catalogued documents of a sources folder (``chatbot.catalog``), texts as stored."""
    from .catalog import load_catalog

    catalog = load_catalog(Path(sources_dir))
    return build_corpus((doc, catalog.text(doc.source)) for doc in catalog.documents)


# ----------------------------------------------------------------------------- the quote

_ELLIPSIS = re.compile(r"\[\s*(?:…|\.\s*\.\s*\.+)\s*\]|\(\s*(?:…|\.\s*\.\s*\.+)\s*\)|…|\.\s?\.\s?\.(?:\s?\.)*")
_TAG = re.compile(r"</?[A-Za-z!][^<>]{0,500}>")
_QUOTE_MARKS = "«»\"“”„‟‘’‚‛'‹›`´"
_DASHES = "-‐‑‒–—―−"


def _unify(ch: str) -> str:
    if ch in _QUOTE_MARKS:
        return '"'
    if ch in _DASHES:
        return "-"
    return ch


@dataclass(frozen=True)
class Quote:
    """A quote as checked: cleaned text, its pieces between ellipses, and their words."""

    text: str  # cleaned: HTML tags removed, entities decoded, control characters as spaces
    pieces: tuple[Words, ...]  # offsets into ``text``; more than one when the quote has ellipses
    lead: str  # punctuation before the first word ("«", "(")
    trail: str  # punctuation after the last word (".", ".»")
    notes: tuple[str, ...] = ()

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(w for p in self.pieces for w in p.words)

    @property
    def boundaries(self) -> frozenset[int]:
        """Word counts after which an ellipsis stands (between pieces)."""
        out, n = set(), 0
        for piece in self.pieces[:-1]:
            n += len(piece)
            out.add(n)
        return frozenset(out)


def parse_quote(raw: str) -> Quote:
    """Clean and split a quote; QuoteError (one line) when there is nothing to check or too much."""
    if raw is None or not raw.strip():
        raise QuoteError("the quote is empty; give the words to check, e.g. chatbot verify \"Venstre vil ...\"")
    if len(raw) > MAX_RAW_CHARS:
        raise QuoteError(f"the quote is {len(raw):,} characters long; the check takes quotes of at most "
                         f"{MAX_QUOTE_CHARS:,} characters (about a page): check a shorter part")
    notes = []
    text = raw
    if _TAG.search(text):
        text = _TAG.sub(" ", text)
        notes.append("HTML-koder er fjernet fra sitatet")
    if "&" in text:
        decoded = html.unescape(text)
        if decoded != text:
            text = decoded
    # control characters and lone surrogates (undecodable bytes) become spaces
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\n\t" else ch for ch in text)
    if len(text) > MAX_QUOTE_CHARS:
        raise QuoteError(f"the quote is {len(text):,} characters long; the check takes quotes of at most "
                         f"{MAX_QUOTE_CHARS:,} characters (about a page): check a shorter part")
    pieces: list[Words] = []
    pos = 0
    for m in list(_ELLIPSIS.finditer(text)) + [None]:
        end = m.start() if m else len(text)
        piece = words_of(text, pos, end)
        if piece.words:
            pieces.append(piece)
        if m:
            pos = m.end()
    if not pieces:
        raise QuoteError("the quote has no words to check (only punctuation, symbols or invisible characters)")
    if len(pieces) > MAX_PIECES:
        raise QuoteError(f"the quote has {len(pieces) - 1} ellipses; the check takes at most {MAX_PIECES - 1} "
                         "(check the parts separately)")
    first, last = pieces[0], pieces[-1]
    lead = _punct(text[_piece_start(text, first):first.starts[0]])
    trail = _punct(text[last.ends[-1]:_piece_end(text, last)])
    return Quote(text=text, pieces=tuple(pieces), lead=lead, trail=trail, notes=tuple(notes))


def _piece_start(text: str, piece: Words) -> int:
    """Where the piece's leading punctuation starts: after the previous ellipsis, if any."""
    before = [m.end() for m in _ELLIPSIS.finditer(text, 0, piece.starts[0])]
    return before[-1] if before else 0


def _piece_end(text: str, piece: Words) -> int:
    m = _ELLIPSIS.search(text, piece.ends[-1])
    return m.start() if m else len(text)


def _punct(s: str) -> str:
    return "".join(_unify(ch) for ch in s if not ch.isspace() and _kind(ch) == _SEP)


# ----------------------------------------------------------------------------- results

@dataclass(frozen=True)
class Difference:
    """One difference between the quote and the source span.

    kind: "missing" (words of the source the quote leaves out), "added" (words in the quote
    the source does not have) or "changed" (quote words where the source has others).
    ``start``/``end``: the source side's character offsets (equal for "added": where the
    words would go). ``quote``/``source``: the words as written on each side.
    """

    kind: str
    quote: str
    source: str
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "quote": self.quote, "source": self.source, "start": self.start, "end": self.end}


@dataclass(frozen=True)
class Match:
    """A span of one source file: ``document.text[start:end] == text``."""

    party: str
    source: str
    start: int
    end: int
    text: str
    similarity: float
    matched_words: int
    differences: tuple[Difference, ...] = ()
    exact: bool = False
    byte_start: int = 0
    byte_end: int = 0
    line: int = 1
    pieces: tuple[tuple[int, int], ...] = ()  # with an ellipsis: each piece's span
    citation: str = ""
    negation: tuple[str, ...] = ()  # negating words among the differences ("ikke"): the meaning may be reversed

    def to_dict(self) -> dict[str, Any]:
        return {"party": self.party, "source": self.source, "start": self.start, "end": self.end,
                "byte_start": self.byte_start, "byte_end": self.byte_end, "line": self.line,
                "text": self.text, "similarity": round(self.similarity, 4), "matched_words": self.matched_words,
                "differences": [d.to_dict() for d in self.differences],
                "pieces": [{"start": s, "end": e} for s, e in self.pieces], "citation": self.citation,
                "negation": list(self.negation)}


@dataclass(frozen=True)
class Verdict:
    """The answer to "is this quote in the sources?"."""

    found: str  # "exact" | "near" | "none"
    claimed_party: str | None  # the party the quote was attributed to (resolved name), if any
    party_match: bool | None  # None without a claim; False when found only under other parties
    matches: tuple[Match, ...]  # for "none": the closest span, if any; at most MAX_MATCHES
    quote: str  # the quote as checked (cleaned)
    quote_words: int
    notice: str
    notes: tuple[str, ...] = ()
    parties: tuple[str, ...] = ()  # the parties in the sources
    total_matches: int = 0  # before the list was cut to MAX_MATCHES

    @property
    def exit_code(self) -> int:
        """0 exact/near under the claimed party (or no claim), 1 none, 3 found only under another party."""
        if self.found == FOUND_NONE:
            return 1
        return 3 if self.party_match is False else 0

    def to_dict(self) -> dict[str, Any]:
        return {"found": self.found, "claimed_party": self.claimed_party, "party_match": self.party_match,
                "found_parties": list(self.found_parties), "notice": self.notice, "notes": list(self.notes),
                "quote": self.quote, "quote_words": self.quote_words, "total_matches": self.total_matches,
                "matches": [m.to_dict() for m in self.matches]}

    @property
    def found_parties(self) -> tuple[str, ...]:
        """The parties the quote is found under, as ``found`` says (for exact: word for word)."""
        if self.found == FOUND_NONE:
            return ()
        return tuple(sorted({m.party for m in self.matches if m.exact or self.found == FOUND_NEAR}))


# ----------------------------------------------------------------------------- search

@dataclass(frozen=True)
class _Alignment:
    segment: Segment
    lo: int  # first aligned source word (segment index)
    hi: int  # one past the last aligned source word
    matched: int
    span_words: int  # source words in the span that count (elided gaps do not)
    ops: tuple[tuple[str, int, int], ...]  # ("=", "s", "a", "m", "e"(elided)), quote index, source index
    similarity: float


def _exact(quote: Quote, corpus: SourceCorpus) -> list[tuple[Segment, list[tuple[int, int]]]]:
    """Every occurrence: per segment, the (lo, hi) word span of each piece."""
    found = []
    for seg in corpus.segments:
        words = seg.words.words
        first = quote.pieces[0].words
        for p in seg.positions.get(first[0], ()):
            if words[p:p + len(first)] != first:
                continue
            rest = _rest(quote.pieces, 1, seg, p + len(first), set())
            if rest is not None:
                found.append((seg, [(p, p + len(first))] + rest))
    return found


def _rest(pieces: tuple[Words, ...], k: int, seg: Segment, prev: int,
          failed: set[tuple[int, int]]) -> list[tuple[int, int]] | None:
    """Spans for pieces[k:] in order after word ``prev``, each within MAX_ELLIPSIS_GAP words of the last."""
    if k == len(pieces):
        return []
    if (k, prev) in failed:
        return None
    words, pw = seg.words.words, pieces[k].words
    for q in seg.positions.get(pw[0], ()):
        if prev <= q <= prev + MAX_ELLIPSIS_GAP and words[q:q + len(pw)] == pw:
            rest = _rest(pieces, k + 1, seg, q + len(pw), failed)
            if rest is not None:
                return [(q, q + len(pw))] + rest
    failed.add((k, prev))
    return None


def _windows(quote: Quote, corpus: SourceCorpus, count: int,
             party: str | None = None) -> list[tuple[Segment, int, int]]:
    """The stretches of source text richest in the quote's words, weighted by rarity."""
    qwords = set(quote.words)
    m = len(quote.words)
    length = m + (len(quote.pieces) - 1) * MAX_ELLIPSIS_GAP
    scored = []
    for seg in corpus.segments:
        if party is not None and corpus.documents[seg.doc].party != party:
            continue
        # positions of the quote's words, with their rarity; a best window starts at one of them
        hits = sorted((p, corpus.weights.get(w, 0.0)) for w in qwords for p in seg.positions.get(w, ()))
        if not hits:
            continue
        span = min(length, len(seg.words))
        best = []
        total, k = 0.0, 0  # sliding sum of the weights of hits[i:k], the hits in [p, p + span)
        for i, (p, _) in enumerate(hits):
            while k < len(hits) and hits[k][0] < p + span:
                total += hits[k][1]
                k += 1
            best.append((total, p))
            total -= hits[i][1]
        best.sort(key=lambda x: (-x[0], x[1]))
        taken: list[int] = []
        for score, p in best:
            if any(abs(p - t) < max(2, span // 2) for t in taken):
                continue
            taken.append(p)
            start = min(p, len(seg.words) - span)
            scored.append((score, seg, start, start + span))
            if len(taken) >= count:
                break
    scored.sort(key=lambda x: -x[0])
    slack = max(3, m // 3)
    regions: list[tuple[Segment, int, int]] = []
    for _, seg, s, e in scored[:count]:  # overlapping windows become one region
        lo, hi = max(0, s - slack), min(len(seg.words), e + slack)
        for r, (seg2, lo2, hi2) in enumerate(regions):
            if seg2 is seg and lo <= hi2 and lo2 <= hi:
                regions[r] = (seg, min(lo, lo2), max(hi, hi2))
                break
        else:
            regions.append((seg, lo, hi))
    return regions


def _align(quote: Quote, seg: Segment, lo: int, hi: int, text: str | None = None) -> _Alignment | None:
    """Semi-global word alignment: all of the quote against the best stretch of seg[lo:hi]."""
    q = quote.words
    w = seg.words.words[lo:hi]
    m, n = len(q), len(w)
    if n == 0:
        return None
    free = quote.boundaries
    inf = float("inf")
    # cost[i][j]: best cost aligning q[:i] with a stretch of w ending at j; back[i][j]: the move.
    # An edit costs k, a matched word earns 1: fewest edits first, then most words matched.
    k = m + n + 1
    cost = [[0] * (n + 1)]
    back = [[""] * (n + 1)]
    for i in range(1, m + 1):
        row = [i * k] + [inf] * n
        brow = ["a"] + [""] * n
        prev = cost[i - 1]
        qi = q[i - 1]
        gap = 0 if i in free else k
        for j in range(1, n + 1):
            diag = prev[j - 1] + (-1 if qi == w[j - 1] else k)
            up = prev[j] + k
            left = row[j - 1] + gap
            if diag <= up and diag <= left:
                row[j] = diag
                brow[j] = "=" if qi == w[j - 1] else "s"
            elif up <= left:
                row[j] = up
                brow[j] = "a"
            else:
                row[j] = left
                brow[j] = "e" if gap == 0 else "m"
        cost.append(row)
        back.append(brow)
    last = cost[m]
    best_j = min(range(n + 1), key=lambda j: (last[j], j))
    ops: list[tuple[str, int, int]] = []
    i, j = m, best_j
    while i > 0:
        move = back[i][j]
        if move in ("=", "s"):
            ops.append((move, i - 1, lo + j - 1))
            i, j = i - 1, j - 1
        elif move == "a":
            ops.append(("a", i - 1, lo + j))
            i -= 1
        else:
            ops.append((move, i, lo + j - 1))
            j -= 1
    ops.reverse()
    src = [o for o in ops if o[0] in ("=", "s", "m", "e")]
    if not src:
        return None
    # trim unmatched source words at either end (they only lower the similarity)
    while ops and ops[0][0] in ("m", "e"):
        ops.pop(0)
    while ops and ops[-1][0] in ("m", "e"):
        ops.pop()
    breaks = _sentence_break(seg.words, text)
    ops = _pair_ends(_loose_ends(ops, breaks), len(seg.words), breaks)
    src = [o for o in ops if o[0] in ("=", "s", "m", "e")]
    if not src:
        return None
    elided = 0
    for o in ops:  # an ellipsis stands for at most MAX_ELLIPSIS_GAP words, as for exact quotes
        elided = elided + 1 if o[0] == "e" else 0
        if elided > MAX_ELLIPSIS_GAP:
            return None
    matched = sum(1 for o in ops if o[0] == "=")
    span_words = sum(1 for o in ops if o[0] in ("=", "s", "m"))
    similarity = matched / max(m, span_words)
    return _Alignment(seg, src[0][2], src[-1][2] + 1, matched, span_words, tuple(ops), similarity)


_SENTENCE_END = re.compile(r"[.!?:;…]\s|\n\s*\n")


def _sentence_break(words: Words, text: str | None):
    """``breaks(a, b)``: whether a sentence ends between source words a and b (a < b); unknown text: always."""
    def breaks(a: int, b: int) -> bool:
        if text is None:
            return True
        found = _SENTENCE_END.search(text, words.ends[a], words.starts[b] + 1)
        return found is not None and found.start() < words.starts[b]

    return breaks


def _pair_ends(ops: list[tuple[str, int, int]], count: int, breaks) -> list[tuple[str, int, int]]:
    """Quote words added at either end, paired with the source words next to the span in the same sentence:
    "… og et behandlende opplegg" against "… og et rehabiliterende tiltak." is two words changed, which
    shows the reader what the source says instead."""
    src = [k for k, o in enumerate(ops) if o[0] in ("=", "s", "m", "e")]
    if not src:
        return ops
    ops = list(ops)
    j = ops[src[-1]][2]
    for k in range(src[-1] + 1, len(ops)):
        if ops[k][0] != "a" or j + 1 >= count or breaks(j, j + 1):
            break
        j += 1
        ops[k] = ("s", ops[k][1], j)
    j = ops[src[0]][2]
    for k in range(src[0] - 1, -1, -1):
        if ops[k][0] != "a" or j - 1 < 0 or breaks(j - 1, j):
            break
        j -= 1
        ops[k] = ("s", ops[k][1], j)
    return ops


def _loose_ends(ops: list[tuple[str, int, int]], breaks=None) -> list[tuple[str, int, int]]:
    """Two or more quote words replaced at either end of the span are words the quote adds, not changes,
    when the source words they would replace lie in another sentence.

    (Without this the span would reach into the neighbouring sentence to pair them with arbitrary words;
    within the same sentence, "… et behandlende opplegg" against "… et rehabiliterende tiltak." is a change.)
    """
    breaks = breaks or (lambda a, b: True)
    equal = [k for k, o in enumerate(ops) if o[0] == "="]
    if not equal:
        return ops
    first, last = equal[0], equal[-1]
    head, tail = ops[:first], ops[last + 1:]
    head_src = [j for op, _i, j in head if op == "s"]
    tail_src = [j for op, _i, j in tail if op == "s"]
    if len(head_src) >= 2 and breaks(min(head_src), ops[first][2]):
        head = [("a", i, ops[first][2]) for op, i, _ in head if op in ("s", "a")]
    if len(tail_src) >= 2 and breaks(ops[last][2], max(tail_src)):
        tail = [("a", i, ops[last][2] + 1) for op, i, _ in tail if op in ("s", "a")]
    return head + ops[first:last + 1] + tail


def _best_alignments(quote: Quote, corpus: SourceCorpus, party: str | None = None) -> list[_Alignment]:
    """Aligned candidate spans, best first (in ``party``'s documents only, if given)."""
    m = len(quote.words)
    count = max(2, min(_CANDIDATES, 6000 // max(m, 1)))  # long quotes: fewer, costlier windows
    found = []
    for seg, lo, hi in _windows(quote, corpus, count, party):
        a = _align(quote, seg, lo, hi, corpus.documents[seg.doc].text)
        if a is not None and a.matched:
            found.append(a)
    docs = corpus.documents  # ties in party order (alphabetical), then file and place
    found.sort(key=lambda a: (-a.similarity, -a.matched, docs[a.segment.doc].party, docs[a.segment.doc].source, a.lo))
    unique: list[_Alignment] = []
    for a in found:  # the best of overlapping spans only
        if not any(b.segment is a.segment and a.lo < b.hi and b.lo < a.hi for b in unique):
            unique.append(a)
    return unique


# ----------------------------------------------------------------------------- verdict

def verify(raw_quote: str, corpus: SourceCorpus, party: str | None = None) -> Verdict:
    """Check a quote against the sources; ``party`` is the (resolved) party it is attributed to."""
    quote = parse_quote(raw_quote)
    parties = corpus.parties
    exact = _exact(quote, corpus)
    aligned: list[_Alignment] = []
    if exact:
        matches = sorted((_exact_match(quote, corpus, seg, spans) for seg, spans in exact),
                         key=lambda m: (m.party, m.source, m.start))  # party order: alphabetical
        found = FOUND_EXACT
    else:
        aligned = _best_alignments(quote, corpus)
        matches = [_near_match(quote, corpus, a) for a in aligned if _is_near(a)]
        found = FOUND_NEAR if matches else FOUND_NONE
    if party is not None and party in parties and not any(m.party == party for m in matches):
        # the best spans elsewhere can crowd out the claimed party's: look at its documents alone
        matches += [_near_match(quote, corpus, a) for a in _best_alignments(quote, corpus, party) if _is_near(a)]
        if found == FOUND_NONE and matches:
            found = FOUND_NEAR
    if found == FOUND_NONE:
        closest = [a for a in aligned
                   if a.matched >= CLOSEST_MIN_MATCHED and a.similarity >= CLOSEST_MIN_SIMILARITY][:1]
        matches = [_near_match(quote, corpus, a) for a in closest]
    party_match = None
    if party is not None and found != FOUND_NONE:
        ours = [x for x in matches if x.party == party]
        # an exact quote is the claimed party's only if its exact words are there
        party_match = any(x.exact for x in ours) if found == FOUND_EXACT else bool(ours)
        matches = ours + [x for x in matches if x.party != party]
        if found == FOUND_EXACT and not party_match:
            matches = [x for x in matches if x.exact] + [x for x in matches if not x.exact]
    notice = _notice(found, party, party_match, matches, parties)
    return Verdict(found=found, claimed_party=party, party_match=party_match, matches=tuple(matches[:MAX_MATCHES]),
                   quote=quote.text.strip(), quote_words=len(quote.words), notice=notice, notes=quote.notes,
                   parties=parties, total_matches=len(matches) if found != FOUND_NONE else 0)


def _is_near(a: _Alignment) -> bool:
    return a.similarity >= NEAR_THRESHOLD and a.matched >= MIN_NEAR_MATCHED


def _notice(found: str, party: str | None, party_match: bool | None, matches: list[Match],
            parties: tuple[str, ...]) -> str:
    where = _join(sorted({m.party for m in matches}))
    if found == FOUND_NONE:
        text = f"Sitatet finnes ikke i kildene ({', '.join(parties)})."
        if party is not None and party not in parties:
            text += f" {party} har ingen dokumenter i kildene."
        return text
    how = "ordrett" if found == FOUND_EXACT else "nesten ordrett"
    if party is None:
        return f"Sitatet finnes {how} hos {where}."
    if party_match:
        text = f"Sitatet finnes {how} hos {party}."
        others = [m for m in matches if m.party != party]
        if found == FOUND_EXACT and others:
            text += f" Det står også hos {_join(sorted({m.party for m in others}))}."
        elif others and others[0].similarity > matches[0].similarity:
            best = max(others, key=lambda m: m.similarity)
            text += f" Nærmere hos {best.party} (likhet {best.similarity * 100:.0f} %)."
        return text
    missing = f" ({party} har ingen dokumenter i kildene)" if party not in parties else ""
    ours = [m for m in matches if m.party == party]
    if ours:  # exact elsewhere, near in the claimed party's documents
        where = _join(sorted({m.party for m in matches if m.exact}))
        return (f"Sitatet finnes ordrett, men hos {where}, ikke hos {party}. Hos {party} finnes det nesten "
                f"ordrett (likhet {ours[0].similarity * 100:.0f} %).")
    return f"Sitatet finnes {how}, men hos {where}, ikke hos {party}{missing}."


def _join(names: list[str]) -> str:
    if not names:
        return ""
    return names[0] if len(names) <= 1 else f"{', '.join(names[:-1])} og {names[-1]}"


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _finish(corpus: SourceCorpus, seg: Segment, start: int, end: int, **kw) -> Match:
    doc = corpus.documents[seg.doc]
    text = doc.text
    b_start = len(text[:start].encode("utf-8"))
    b_end = b_start + len(text[start:end].encode("utf-8"))
    line = _line(text, start)
    citation = f"{doc.label}, «{doc.cite_as}», {doc.source}, linje {line}, tegn {start}–{end}"
    return Match(party=doc.party, source=doc.source, start=start, end=end, text=text[start:end],
                 byte_start=b_start, byte_end=b_end, line=line, citation=citation, **kw)


def _exact_match(quote: Quote, corpus: SourceCorpus, seg: Segment, spans: list[tuple[int, int]]) -> Match:
    text = corpus.documents[seg.doc].text
    ws = seg.words
    start, end = ws.starts[spans[0][0]], ws.ends[spans[-1][1] - 1]
    # the quote's own punctuation around it, where the file has the same ("." "»" "(")
    for ch in quote.trail:
        if end < len(text) and _unify(text[end]) == ch:
            end += 1
        else:
            break
    for ch in reversed(quote.lead):
        if start > 0 and _unify(text[start - 1]) == ch:
            start -= 1
        else:
            break
    pieces = tuple((ws.starts[lo], ws.ends[hi - 1]) for lo, hi in spans) if len(spans) > 1 else ()
    n = len(quote.words)
    return _finish(corpus, seg, start, end, similarity=1.0, matched_words=n, exact=True, pieces=pieces)


# ("ei" and "no" are left out: an article in nynorsk and bokmål, "now" in nynorsk)
NEGATIONS = frozenset({"ikke", "ikkje", "aldri", "ingen", "inga", "intet", "ingenting", "inkje", "verken",
                       "korkje", "not", "never", "none", "nor", "neither"})


def _normal_parts_all(text: str) -> tuple[str, ...]:
    return words_of(text).words


def _near_match(quote: Quote, corpus: SourceCorpus, a: _Alignment) -> Match:
    ws = a.segment.words
    text = corpus.documents[a.segment.doc].text
    qwords = [w for p in quote.pieces for w in zip(p.starts, p.ends)]
    differences: list[Difference] = []
    run: list[tuple[str, int, int]] = []
    pieces: list[tuple[int, int]] = []
    piece_lo: int | None = None

    def flush() -> None:
        if not run:
            return
        q_idx = [i for op, i, _ in run if op in ("s", "a")]
        s_idx = [j for op, _, j in run if op in ("s", "m")]
        quote_text = quote.text[qwords[q_idx[0]][0]:qwords[q_idx[-1]][1]] if q_idx else ""
        if s_idx:
            s, e = ws.starts[s_idx[0]], ws.ends[s_idx[-1]]
            source_text = text[s:e]
        else:
            j = run[0][2]  # "added" before source word j
            s = e = ws.ends[j - 1] if j > a.lo else ws.starts[a.lo]
            source_text = ""
        kind = "changed" if q_idx and s_idx else ("added" if q_idx else "missing")
        differences.append(Difference(kind, quote_text, source_text, s, e))
        run.clear()

    last_src = None
    for op in a.ops:
        kind, _, j = op
        if kind == "=" or kind == "e":
            flush()
        else:
            run.append(op)
        if kind in ("=", "s", "m"):
            if piece_lo is None:
                piece_lo = j
            last_src = j
        if kind == "e" and piece_lo is not None and last_src is not None:
            pieces.append((piece_lo, last_src))
            piece_lo = None
    flush()
    if len(quote.pieces) > 1 and piece_lo is not None and last_src is not None:
        pieces.append((piece_lo, last_src))
    start, end = ws.starts[a.lo], ws.ends[a.hi - 1]
    spans = tuple((ws.starts[lo], ws.ends[hi]) for lo, hi in pieces) if len(pieces) > 1 else ()
    negation = tuple(sorted({w for d in differences for side in (d.quote, d.source)
                             for w in _normal_parts_all(side) if w in NEGATIONS}))
    return _finish(corpus, a.segment, start, end, similarity=a.similarity, matched_words=a.matched, negation=negation,
                   differences=tuple(differences), exact=False, pieces=spans)


# ----------------------------------------------------------------------------- parties

def resolve_party(name: str, directory: Any, corpus_parties: Iterable[str]) -> str:
    """The party a --party value means ("the Health Party" -> "Helsepartiet"); QuoteError if unknown."""
    wanted = " ".join(name.split()).casefold()
    corpus_parties = tuple(corpus_parties)
    if not wanted:
        raise QuoteError("--party is empty; give a party name, e.g. --party Venstre")
    for party in corpus_parties:
        if party.casefold() == wanted:
            return party
    for alias, party, _ambiguous in getattr(directory, "aliases", ()):
        if alias.casefold() == wanted and (len(alias) > 3 or alias == " ".join(name.split())):
            return party
    mentions = directory.find(name) if directory is not None else []
    if mentions:
        return mentions[0].party
    raise QuoteError(f"unknown party {name!r}; the sources have {', '.join(corpus_parties)}")


# ----------------------------------------------------------------------------- plain text

LEGEND = "[-…-] står i kilden, men ikke i sitatet; {+…+} står i sitatet, men ikke i kilden"


def marked(match: Match, document_text: str) -> str:
    """The source span with the differences marked wdiff-style: [-source words-]{+quote words+}."""
    out, pos = [], match.start
    for d in match.differences:
        out.append(document_text[pos:d.start])
        if d.source:
            out.append(f"[-{d.source}-]")
        if d.quote:
            if d.source:
                out.append(f"{{+{d.quote}+}}")
            else:  # added words: before the span's first word, else after the word before them
                out.append(f"{{+{d.quote}+}} " if d.start == match.start else f" {{+{d.quote}+}}")
        pos = d.end
    out.append(document_text[pos:match.end])
    return "".join(out)


def plain(verdict: Verdict, corpus: SourceCorpus) -> str:
    texts = {d.source: d.text for d in corpus.documents}
    lines = [verdict.notice]
    lines += [f"({note})" for note in verdict.notes]
    if verdict.found == FOUND_NONE and verdict.matches:
        lines.append("Nærmeste tekst i kildene:")
    if verdict.total_matches > len(verdict.matches):
        lines.append(f"({verdict.total_matches} treff; her er de {len(verdict.matches)} første.)")
    for match in verdict.matches:
        lines.append("")
        one_line = " ".join(match.text.split())
        if match.exact:
            lines.append(f"«{one_line}»")
        else:
            percent = f"{match.similarity * 100:.0f} %"
            n = len(match.differences)
            lines.append(f"Likhet {percent}, {n} {'forskjell' if n == 1 else 'forskjeller'} ({LEGEND}):")
            lines.append(f"«{' '.join(marked(match, texts[match.source]).split())}»")
        if match.negation:
            words = ", ".join(f"«{w}»" for w in match.negation)
            lines.append(f"Merk: forskjellene gjelder nektende ord ({words}) og kan snu meningen.")
        left_out = [texts[match.source][a[1]:b[0]] for a, b in zip(match.pieces, match.pieces[1:])]
        left_out = [" ".join(x.split()) for x in left_out if x.strip()]
        if left_out:
            lines.append("Utelatt i sitatet (…): " + "; ".join(f"«{x}»" for x in left_out))
        lines.append(f"— {match.citation}")
    return "\n".join(lines)
