"""The figures of a set of questions as a typed record: the means of the registry's figures
(chatbot/evaluation/measures.py), the question counts, the same per group of questions, and means
added on top (crosscorpus's shown precision).

``Figures`` is a read-only Mapping over the JSON's keys, in its order (means, counts, ``by_lang`` /
``by_category`` / ``by_split``, then the added means), so reports and tables read it by figure name
and ``to_dict`` writes exactly the JSON ``chatbot eval --json`` prints.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, eq=False)  # equal as mappings, to a dict too
class Figures(Mapping):
    means: dict[str, float | None]  # figure name -> mean over the questions it applies to (None: none)
    counts: dict[str, int]  # n_questions, n_answerable, ...
    groups: dict[str, dict[str, Figures]] = field(default_factory=dict)  # "by_lang" -> {"en": Figures}
    added: dict[str, float | None] = field(default_factory=dict)  # means added later, written last

    def __post_init__(self):
        seen: set[str] = set()
        clash = set()
        for part in (self.means, self.counts, self.groups, self.added):
            clash |= seen & set(part)
            seen |= set(part)
        if clash:
            raise ValueError(f"figure names used twice: {sorted(clash)}")

    def __getitem__(self, name: str):
        for part in (self.means, self.counts, self.added, self.groups):
            if name in part:
                return part[name]
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        yield from self.means
        yield from self.counts
        yield from self.groups
        yield from self.added

    def __len__(self) -> int:
        return len(self.means) + len(self.counts) + len(self.groups) + len(self.added)

    def group(self, key: str) -> dict[str, Figures]:
        """The figures per group of ``key`` ("by_lang", ...); {} when not computed."""
        return self.groups.get(key, {})

    def with_means(self, extra: Mapping[str, float | None]) -> Figures:
        """These figures with more means (e.g. shown precision), after everything else."""
        return Figures(self.means, self.counts, self.groups, {**self.added, **extra})

    def to_dict(self) -> dict:
        groups = {key: {name: f.to_dict() for name, f in by.items()} for key, by in self.groups.items()}
        return {**self.means, **self.counts, **groups, **self.added}
