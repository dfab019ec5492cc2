"""Tailing an append-only table by its id without skipping rows that commit late.

On PostgreSQL ids come from a sequence when a row is inserted, not when it commits: a reader can
see id 105 while id 100 is still in an open transaction (or will never exist, its transaction
rolled back). A tail that moved past 100 would miss it for good. So the reader only advances over
a contiguous run of ids, and waits at a gap until it fills or is old enough to be a rollback.
SQLite has one writer and reuses no ids, so gaps never arise there and this costs nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Horizon:
    """How far a tail may safely read: every id up to ``safe`` has been seen or given up on."""

    safe: int
    gap_timeout_ms: int
    # The first id of the gap the tail is waiting at, and since when it has waited.
    _gap: int | None = field(default=None, repr=False)
    _gap_since: int = field(default=0, repr=False)

    def advance(self, seen: Sequence[int], now: int) -> int:
        """Move ``safe`` over ``seen`` (the ids above ``safe``, ascending); return the new ``safe``.

        A gap older than ``gap_timeout_ms`` is stepped over: its transaction rolled back (or is
        so slow that waiting longer would stall every reader).
        """
        for ident in seen:
            if ident <= self.safe:
                continue
            if ident != self.safe + 1:
                gap = self.safe + 1
                if self._gap != gap:
                    self._gap, self._gap_since = gap, now
                if now - self._gap_since < self.gap_timeout_ms:
                    break
            self.safe = ident
        if self._gap is not None and self.safe >= self._gap:
            self._gap = None
        return self.safe
