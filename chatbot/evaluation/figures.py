"""The figures of a set of questions as a typed record: the means of the registry's figures
(chatbot/evaluation/measures.py), the question counts, and the same per group of questions.

``Figures`` is a read-only Mapping over today's JSON keys, in their order (means, counts, then
``by_lang`` / ``by_category`` / ``by_split``), so reports and tables read it by figure name and
``to_dict`` writes exactly the JSON ``chatbot eval --json`` prints.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, eq=False)  # equal as mappings, to a dict too
class Figures(Mapping):
    means: dict[str, float | None]  # figure name -> mean over the questions it applies to (None: none)
    counts: dict[str, int]  # n_questions, n_answerable, ...
    groups: dict[str, dict[str, Figures]] = field(default_factory=dict)  # "by_lang" -> {"en": Figures}

    def __post_init__(self):
        clash = (set(self.means) & set(self.counts)) | ((set(self.means) | set(self.counts)) & set(self.groups))
        if clash:
            raise ValueError(f"figure names used twice: {sorted(clash)}")

    def __getitem__(self, name: str):
        if name in self.means:
            return self.means[name]
        if name in self.counts:
            return self.counts[name]
        return self.groups[name]

    def __iter__(self) -> Iterator[str]:
        yield from self.means
        yield from self.counts
        yield from self.groups

    def __len__(self) -> int:
        return len(self.means) + len(self.counts) + len(self.groups)

    def group(self, key: str) -> dict[str, Figures]:
        """The figures per group of ``key`` ("by_lang", ...); {} when not computed."""
        return self.groups.get(key, {})

    def with_means(self, extra: Mapping[str, float | None]) -> Figures:
        """These figures with more means (e.g. shown precision), after the others."""
        return Figures({**self.means, **extra}, self.counts, self.groups)

    def to_dict(self) -> dict:
        return {**self.means, **self.counts,
                **{key: {name: f.to_dict() for name, f in groups.items()} for key, groups in self.groups.items()}}
