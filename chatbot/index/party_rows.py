"""Which rows of the index belong to which party: read from the manifest (a build writes each
source's passages together, in the manifest's order) and turned into FAISS row filters once per
party set, so that a party-restricted query does no work in proportion to the index."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from .manifest import Manifest


@dataclass(frozen=True)
class PartyRows:
    allowed: object  # ann.RowFilter: the passages of the parties
    others: object  # ann.RowFilter: every other passage


def rows_of(manifest: Manifest, n: int) -> dict[str, np.ndarray] | None:
    """Each party's rows; None when the manifest's counts do not add up to ``n`` passages."""
    rows: dict[str, list[np.ndarray]] = {}
    at = 0
    for meta in manifest.sources.values():
        if meta.passages:
            rows.setdefault(meta.party, []).append(np.arange(at, at + meta.passages, dtype=np.int64))
        at += meta.passages
    if at != n:
        return None
    return {party: np.concatenate(parts) for party, parts in rows.items()}


class PartyRowCache:
    """``PartyRows`` by party set, the ``CACHED`` most recent kept (each costs ~2.25 bytes per passage:
    two masks, two bitmaps)."""

    CACHED = 32

    def __init__(self, party_ids: dict[str, np.ndarray], n: int):
        self.party_ids = party_ids
        self.n = n
        self._made: OrderedDict[tuple, PartyRows] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, parties) -> PartyRows:
        key = tuple(sorted({p for p in parties if p in self.party_ids}))
        with self._lock:
            found = self._made.get(key)
            if found is not None:
                self._made.move_to_end(key)
                return found
            from .ann import RowFilter

            allowed = RowFilter(np.concatenate([self.party_ids[p] for p in key]) if key else None, self.n)
            found = PartyRows(allowed, allowed.complement())
            self._made[key] = found
            while len(self._made) > self.CACHED:
                self._made.popitem(last=False)
            return found
