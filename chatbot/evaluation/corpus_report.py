"""``chatbot eval --corpus … --report FILE``: each collection's figures and misses, as Markdown.

A sealed collection's misses are left out unless ``--show-misses`` asks for them: its figures may be
looked at, its failures not, so that it stays a held-out check (as the dialogue sets, ``conversations``).
"""

from __future__ import annotations

from typing import NamedTuple

from .figures import Figures
from .records import Outcome
from .report import markdown, miss_section, misses_of, summary_table


class CollectionOutcomes(NamedTuple):
    """One collection's scored questions, as the report reads them."""

    corpus: str
    sealed: bool
    fitted_on: tuple[str, ...]  # the collections the decision was fitted on
    outcomes: tuple[Outcome, ...]
    figures: Figures


def markdown_report(collections: list[CollectionOutcomes], k: int, mode: str, held_out: bool,
                    show_sealed: bool) -> str:
    out = ["# Evaluation report: collections", "",
           f"Mode {mode}, k {k}. " + ("Each collection is scored with the decision fitted on the others. "
                                      if held_out else "Each collection is scored with the shipped decision. ")
           + "A passage hits a gold quote when the parties match and the longest common substring of the "
             "normalised texts is at least 60 % of the quote.", ""]
    for c in collections:
        found = misses_of(c.outcomes)
        out += [f"## {c.corpus}" + (" (sealed)" if c.sealed else ""), ""]
        if held_out:
            out += [f"Decision fitted on: {', '.join(c.fitted_on) or '–'}.", ""]
        out += [markdown(summary_table(c.figures, k)), ""]
        if c.sealed and not show_sealed:
            out += [f"{len(found)} misses, not shown: a sealed collection stays blind (`--show-misses` shows them).", ""]
            continue
        out += [f"### Misses ({len(found)})", ""]
        if not found:
            out += ["None.", ""]
        out += [miss_section(o, why, level=4) for o, why in found]
    return "\n".join(out).rstrip() + "\n"
