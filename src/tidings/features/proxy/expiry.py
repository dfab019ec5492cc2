"""The expiry sweep: worker processes end proxy sessions whose time ran out, so their pool
numbers free up and ``proxy.session.ended`` goes out even when nobody writes again."""

from __future__ import annotations

from collections.abc import Callable

from tidings.features.proxy.lifecycle import expire_due
from tidings.store.due_sweep import DueSweep
from tidings.store.engine import Database

# A session is ended at most this late by the sweep (a message to it ends it at once); one
# indexed query per period when nothing is due.
SWEEP_SECONDS = 1.0


def proxy_expiry(db: Database, *, on_queued: Callable[[], None] | None = None) -> DueSweep:
    """The expiry sweep, run wherever messages are dispatched."""
    return DueSweep("proxy session expiry sweep", db, expire_due, period=SWEEP_SECONDS, on_queued=on_queued)
