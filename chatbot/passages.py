"""Cut a document into passages: one bullet point, or one to three sentences of a paragraph.

Every passage keeps exact character offsets into the stored source text, so that
``source_text[p.start:p.end] == p.text`` always holds and a citation can be checked.
Headings are not passages; list leads ("Venstre vil") and headings become each
passage's ``section``. A heading may sit directly above its text with no blank line between
(as text pasted from a PDF often does), and a document's first lines may be its title and
subtitle. Ranges the catalog excludes (website chrome) are never read.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import asdict, dataclass
from typing import Iterator

from .catalog import line_starts
from .records import Document, Passage, passage_id

# A sentence ends at . ! ? followed by space and a capital (or digit/quote), or directly
# by a capital word, as in the source quirk "ikke.Det".
SENTENCE_END = (r"(?<=[.!?…])\s+(?=[\"«(\[A-ZÆØÅÄÖÜÉ0-9])"
                r"|(?<=[a-zæøåäöüé]{2}[.!?])(?=[A-ZÆØÅ][a-zæøå])")
_BULLET = re.compile(r"^([ \t]*)(?:[•\-*–·▪◦‣]|\d{1,3}[.)])[ \t\u00a0]+")
_MD_HEADING = re.compile(r"^[ \t]{0,3}(#{1,6})[ \t]+")
_TERMINAL = re.compile(r"[.!?…][\"»)\]]*$")


@dataclass(frozen=True)
class SplitterSettings:
    """Settings that shape passages; they go into the index manifest."""

    chunk_size: int = 300  # langchain splitter chunk size for paragraphs, in characters
    min_chars: int = 120  # a shorter paragraph piece is merged with its neighbour ...
    max_chars: int = 400  # ... when the result stays within this
    heading_max_chars: int = 120  # a one-line block without final punctuation is a heading up to this

    # The cutting rules' version: a change to them (not only to these sizes) makes an index stale.
    # 2: a list lead on the first line of a bulleted block ("Vi vil:") is the items' lead, not a passage.
    # 3: a block's first lines are headings when they look like one and a sentence or a bullet follows;
    #    a document's first block of such lines is its title.
    # 4: a lead ending in a colon above one item per line ("Vardepartiet vil:" and lines without bullets) is
    #    no passage either.
    # 5: a lead inside a list block (a paragraph, then "Hasselpartiet vil:" and its bullets, no blank line
    #    between) is no passage; it opens the context of the items after it (their section stays the heading).
    RULES = 5

    def to_dict(self) -> dict:
        return {"splitter": "langchain RecursiveCharacterTextSplitter/sentences", "rules": self.RULES, **asdict(self)}


@dataclass(frozen=True)
class _Line:
    start: int
    end: int  # exclusive, without the newline
    text: str


@dataclass
class _Block:
    lines: list[_Line]

    @property
    def start(self) -> int:
        return self.lines[0].start

    @property
    def end(self) -> int:
        return self.lines[-1].end


def split_document(document: Document, text: str, settings: SplitterSettings = SplitterSettings()) -> list[Passage]:
    """All passages of one document, in reading order."""
    is_markdown = document.source.lower().endswith(".md")
    starts = line_starts(text)
    splitter = _sentence_splitter(settings)
    out: list[Passage] = []
    heading = document.title
    for segment_start, segment_end in _included_segments(len(text), document.excluded):
        blocks = list(_blocks(text, segment_start, segment_end))
        i = 0
        while i < len(blocks):
            block = blocks[i]
            n = 0 if is_markdown else _leading_headings(block, settings, first=not out and i == 0)
            if n:
                heading = _heading_text(block.lines[n - 1].text)
                if n == len(block.lines):
                    i += 1
                    continue
                block = blocks[i] = _Block(block.lines[n:])
            kind = _kind(block, is_markdown, settings)
            nxt = blocks[i + 1] if i + 1 < len(blocks) else None
            if kind == "heading":
                label = _heading_text(block.lines[0].text)
                next_kind = _kind(nxt, is_markdown, settings) if nxt is not None else None
                if next_kind == "list" or (label.endswith(":") and next_kind == "lines"):
                    # a list lead such as "Venstre vil" / "Helsepartiet vil:"
                    out.extend(_list_passages(document, text, starts, _without_lead(nxt, settings), label, block.start,
                                              splitter, settings, nxt.end))
                    i += 2
                    continue
                heading = label
            elif kind in ("list", "lines"):
                for context_start, run in _lead_runs(block, settings):
                    out.extend(_list_passages(document, text, starts, run, heading, context_start, splitter, settings,
                                              run.end))
            else:
                out.extend(_paragraph_passages(document, text, starts, block, heading, splitter, settings))
            i += 1
    return out


def _included_segments(length: int, excluded: tuple[tuple[int, int], ...]) -> Iterator[tuple[int, int]]:
    pos = 0
    for start, end in sorted(excluded):
        if start > pos:
            yield pos, start
        pos = max(pos, end)
    if pos < length:
        yield pos, length


def _blocks(text: str, start: int, end: int) -> Iterator[_Block]:
    """Runs of non-blank lines within [start, end)."""
    current: list[_Line] = []
    pos = start
    while pos < end:
        nl = text.find("\n", pos, end)
        line_end = end if nl == -1 else nl
        raw_end = line_end - 1 if line_end > pos and text[line_end - 1] == "\r" else line_end
        line = _Line(pos, raw_end, text[pos:raw_end])
        if line.text.strip():
            current.append(line)
        elif current:
            yield _Block(current)
            current = []
        pos = line_end + 1
    if current:
        yield _Block(current)


def _kind(block: _Block, is_markdown: bool, settings: SplitterSettings) -> str:
    """'heading', 'list' (bulleted), 'lines' (one item per line) or 'paragraph'."""
    first = block.lines[0].text
    if any(_BULLET.match(line.text) for line in block.lines):
        return "list"
    if len(block.lines) == 1:
        if _MD_HEADING.match(first):
            return "heading"
        stripped = first.strip()
        if len(stripped) <= settings.heading_max_chars and not _TERMINAL.search(stripped):
            return "heading"
        return "paragraph"
    if is_markdown:
        return "paragraph"  # Markdown wraps paragraphs over several lines
    # Plain text: each paragraph is one line, so several lines without a blank line between
    # are items of a list (as in "Helsepartiet vil:" followed by one demand per line).
    return "lines"


MAX_LEADING_HEADINGS = 2  # a heading and a subheading


def _heading_like(line: str, settings: SplitterSettings) -> bool:
    stripped = line.strip()
    return (not _BULLET.match(line) and len(stripped) <= settings.heading_max_chars
            and not _TERMINAL.search(stripped) and not stripped.endswith((":", ",", ";")))


def _leading_headings(block: _Block, settings: SplitterSettings, first: bool) -> int:
    """How many of a plain-text block's first lines are headings above its text: at most two
    heading-like lines (short, without final punctuation) followed by a sentence or a bullet; all
    of a document's first block when every one of its (at most three) lines is heading-like."""
    lines = block.lines
    if len(lines) < 2:
        return 0
    n = 0
    while n < len(lines) and _heading_like(lines[n].text, settings):
        n += 1
    if n == len(lines):
        return n if first and n <= MAX_LEADING_HEADINGS + 1 else 0
    if n == 0 or n > MAX_LEADING_HEADINGS:
        return 0
    follower = lines[n].text
    if _BULLET.match(follower) or _TERMINAL.search(follower.strip()):
        return n
    return 0


def _without_lead(block: _Block, settings: SplitterSettings) -> _Block:
    """A list block without its first line when that line is a lead ("Nordlyspartiet vil:" directly
    above the bullets, or above one item per line): a lead says nothing by itself, so it is no
    passage; it stays in the items' context."""
    if len(block.lines) > 1 and _is_lead(block.lines[0].text, settings):
        return _Block(block.lines[1:])
    return block


def _is_lead(line: str, settings: SplitterSettings) -> bool:
    stripped = line.strip()
    return not _BULLET.match(line) and stripped.endswith(":") and len(stripped) <= settings.heading_max_chars


def _lead_runs(block: _Block, settings: SplitterSettings) -> Iterator[tuple[int, _Block]]:
    """A list block cut at its leads: "Vi vil:" on its first line, or inside it (a paragraph, then
    "Hasselpartiet vil:" and its bullets, without a blank line between). A lead is no passage; it
    opens the context of the items after it, up to the next lead. Yields (context start, items)."""
    has_bullets = any(_BULLET.match(x.text) for x in block.lines)
    context_start, run = block.start, []
    for i, line in enumerate(block.lines):
        if i + 1 < len(block.lines) and _is_lead(line.text, settings) and (
                _BULLET.match(block.lines[i + 1].text) or not has_bullets):
            if run:
                yield context_start, _Block(run)
            context_start, run = line.start, []
            continue
        run.append(line)
    if run:
        yield context_start, _Block(run)


def _heading_text(line: str) -> str:
    return _MD_HEADING.sub("", line).strip().rstrip("#").strip()


def _items(block: _Block) -> Iterator[tuple[int, int]]:
    """(start, end) of each list item's text, without bullet marks; continuation lines join their item."""
    current: list[int] | None = None
    for line in block.lines:
        match = _BULLET.match(line.text)
        content_start = line.start + (match.end() if match else len(line.text) - len(line.text.lstrip()))
        content_end = line.start + len(line.text.rstrip())
        continues = (match is None and current is not None and
                     (line.text[:1].isspace() or line.text.lstrip()[:1].islower()) and
                     any(_BULLET.match(x.text) for x in block.lines))
        if continues:
            current[1] = content_end
            continue
        if current is not None:
            yield current[0], current[1]
        current = [content_start, content_end]
    if current is not None:
        yield current[0], current[1]


def _list_passages(document, text, starts, block, lead, context_start, splitter, settings, context_end) -> list[Passage]:
    out = []
    for start, end in _items(block):
        # an item is one statement; only an overlong one is cut into sentences
        pieces = [(start, end)] if end - start <= settings.max_chars else _pieces(text, start, end, splitter, settings)
        for s, e in pieces:
            out.append(_passage(document, text, starts, s, e, lead, context_start, context_end))
    return out


def _paragraph_passages(document, text, starts, block, heading, splitter, settings) -> list[Passage]:
    start = block.start + len(block.lines[0].text) - len(block.lines[0].text.lstrip())
    end = block.end
    return [_passage(document, text, starts, s, e, heading, block.start, block.end)
            for s, e in _pieces(text, start, end, splitter, settings)]


def _pieces(text: str, start: int, end: int, splitter, settings: SplitterSettings) -> list[tuple[int, int]]:
    """Sentence groups of text[start:end] as offsets, short pieces merged with a neighbour."""
    span = text[start:end]
    pieces: list[list[int]] = []
    cursor = 0
    for chunk in splitter.split_text(span):
        at = span.find(chunk, cursor)
        if at < 0:  # cannot happen: the splitter only cuts and strips
            raise AssertionError(f"splitter changed the text: {chunk[:40]!r}")
        pieces.append([start + at, start + at + len(chunk)])
        cursor = at + len(chunk)
    merged: list[list[int]] = []
    for piece in pieces:
        if merged and (piece[1] - piece[0] < settings.min_chars or merged[-1][1] - merged[-1][0] < settings.min_chars) \
                and piece[1] - merged[-1][0] <= settings.max_chars:
            merged[-1][1] = piece[1]
        else:
            merged.append(piece)
    return [(s, e) for s, e in merged]


def _passage(document: Document, text: str, starts: list[int], start: int, end: int,
             section: str, context_start: int, context_end: int) -> Passage:
    return Passage(
        id=passage_id(document.source, document.sha256, start, end),
        party=document.party,
        source=document.source,
        title=document.title,
        section=section.rstrip(":").strip() if section != document.title else section,
        start=start,
        end=end,
        line=bisect.bisect_right(starts, start),
        text=text[start:end],
        context_start=context_start,
        context_end=context_end,
        context=text[context_start:context_end],
    )


def _sentence_splitter(settings: SplitterSettings):
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    return RecursiveCharacterTextSplitter(
        separators=[SENTENCE_END, r"(?<=[;:])\s+", r"(?<=,)\s+", r"\s+"],
        is_separator_regex=True,
        keep_separator="end",
        chunk_size=settings.chunk_size,
        chunk_overlap=0,
        strip_whitespace=True,
    )
