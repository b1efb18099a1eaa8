"""Answers as plain text for a terminal (JSON comes from ``Answer.to_dict``)."""

from __future__ import annotations

import textwrap

from .notices import say
from .records import Answer, Document, citation


def plain(answer: Answer, documents: dict[str, Document], width: int = 88) -> str:
    lines: list[str] = []
    if answer.notice:
        lines.append(answer.notice)
    if not answer.answered:
        return "\n".join(lines) or say("none", answer.language)
    for hit in answer.hits:
        p = hit.passage
        if lines:
            lines.append("")
        head = f"{hit.rank}. {p.party}"
        if p.section and p.section != p.title:
            head += f" — {p.section}"
        lines.append(head)
        lines.extend(textwrap.wrap(f"«{p.text}»", width=width, initial_indent="   ", subsequent_indent="    "))
        doc = documents.get(p.source)
        lines.append("   — " + _cite(doc, p))
        for a in hit.also:
            lines.append("     " + say("also_at", answer.language, where=_cite(documents.get(a.source), a)))
        if doc is not None and doc.url:
            lines.append("     " + hit.to_dict(doc)["url"])
    return "\n".join(lines)


def _cite(document: Document | None, passage) -> str:
    """The passage's citation; without its document, the file and the characters."""
    return citation(document, passage) if document else f"{passage.source}, tegn {passage.start}–{passage.end}"
