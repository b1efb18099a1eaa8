"""What ``chatbot eval`` is asked to do, as one typed record.

The command line's namespace is read once, here (``EvalOptions.from_args``); everything in the
evaluation package takes the record. The floors are those of the registry (``measures``) that were
given, by their dest.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Mapping

from ..errors import ChatbotError
from ..query.prepare import MAX_K
from ..settings import Settings
from .measures import CONVERSATION_FLOORS, FLOORS



@dataclass(frozen=True)
class EvalOptions:
    """Everything ``chatbot eval`` is asked to do (the fields are its options, by their dest)."""

    # what is measured, and the floors it must reach: dest of a registry floor -> its value
    k: int = 5  # recall@k, gold recall@k and success@400chars read the top k
    mode: str = "hybrid"
    floors: Mapping[str, float] = field(default_factory=dict)
    # the questions of eval/questions.jsonl, and what to write
    questions: Path | None = None
    split: str = "all"
    compare: bool = False  # bm25, dense and hybrid side by side
    json: bool = False
    report: Path | None = None  # a Markdown report with every miss
    trec_run: Path | None = None
    # --conversations FILE: dialogues instead
    conversations: Path | None = None
    # --corpus NAME|all: the collections of eval/corpora/ instead
    corpus: str | None = None
    leave_one_out: bool = False
    include_sealed: bool = False
    show_misses: bool = False  # --conversations / --corpus --report: the misses on sealed collections too
    no_baseline: bool = False
    write_decision: Path | None = None  # where --calibrate writes the decision
    calibrate: bool = False  # fit the decision instead of scoring, and write it
    # the chatbot to open (chatbot.settings)
    model: str | None = None
    backend: str | None = None
    index: Path | None = None
    sources: Path | None = None
    settings: Settings | None = None  # resolved by the command line (chatbot.settings.from_args)

    def __post_init__(self) -> None:
        if not isinstance(self.k, int) or not 1 <= self.k <= MAX_K:
            raise ChatbotError(f"--k must be between 1 and {MAX_K}")
        # options that one way of running would silently ignore are refused instead
        if self.conversations is not None:
            given = [name for name, on in (("--report", self.report), ("--trec-run", self.trec_run),
                                           ("--compare", self.compare), ("--corpus", self.corpus),
                                           ("--calibrate", self.calibrate)) if on]
            if given:
                raise ChatbotError(f"{', '.join(given)} cannot go with --conversations (its misses are in --json)")
        elif self.corpus or self.calibrate:
            given = [name for name, on in (("--trec-run", self.trec_run), ("--compare", self.compare),
                                           ("--split", self.split != "all")) if on]
            if given:
                raise ChatbotError(f"{', '.join(given)} cannot go with --corpus or --calibrate "
                                   "(they read one question set; --corpus scores the textbook beside ours already)")

    @classmethod
    def from_args(cls, args: argparse.Namespace | EvalOptions) -> EvalOptions:
        """The record of a parsed ``chatbot eval`` command line; options it lacks keep their defaults."""
        if isinstance(args, EvalOptions):
            return args
        given = vars(args)
        values = {f.name: given[f.name] for f in fields(cls) if f.name != "floors" and f.name in given}
        floors = {f.dest: given[f.dest] for f in (*FLOORS, *CONVERSATION_FLOORS) if given.get(f.dest) is not None}
        return cls(**values, floors=floors)
