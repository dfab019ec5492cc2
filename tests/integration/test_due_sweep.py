"""The due-time sweep both conversation timers and proxy expiry run on: one transaction per pass
on a real database, ``now`` handed in, and the dispatcher woken only when messages were queued."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import Connection, text

from tidings.store.due_sweep import DueSweep
from tidings.store.engine import Database


async def test_a_pass_runs_in_a_transaction_and_wakes_only_for_queued_messages(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'sweep.db'}")
    await db.transact(lambda conn: conn.execute(text("CREATE TABLE due (at INTEGER)")))
    wakes: list[int] = []
    seen: list[tuple[int, bool]] = []

    def apply(conn: Connection, *, now: int, skip_locked: bool) -> int:
        seen.append((now, skip_locked))
        conn.execute(text("INSERT INTO due (at) VALUES (:at)"), {"at": now})
        return len(seen) % 2  # queued a message on every other pass

    sweep = DueSweep("test sweep", db, apply, period=60, on_queued=lambda: wakes.append(1))
    try:
        assert await sweep.sweep() == 1
        assert await sweep.sweep() == 0
        assert await sweep.sweep() == 1
        async with db.read() as conn:
            written = (await conn.execute(text("SELECT at FROM due ORDER BY rowid"))).scalars().all()
        assert written == [now for now, _ in seen]  # each pass committed what it wrote
        assert written == sorted(written) and written[0] > 1_700_000_000_000  # epoch milliseconds
        assert [locked for _, locked in seen] == [False] * 3  # SQLite has one writer: no SKIP LOCKED
        assert wakes == [1, 1]
    finally:
        await db.close()


async def test_a_failed_pass_writes_nothing_and_the_next_runs(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'sweep.db'}")
    await db.transact(lambda conn: conn.execute(text("CREATE TABLE due (at INTEGER)")))
    passes = 0

    def apply(conn: Connection, *, now: int, skip_locked: bool) -> int:
        nonlocal passes
        passes += 1
        conn.execute(text("INSERT INTO due (at) VALUES (:at)"), {"at": now})
        if passes == 1:
            raise RuntimeError("the first pass fails after writing")
        return 0

    sweep = DueSweep("test sweep", db, apply, period=0.01)
    sweep.start()
    try:
        for _ in range(500):
            if passes >= 2:
                break
            await asyncio.sleep(0.01)
    finally:
        await sweep.stop()
    try:
        async with db.read() as conn:
            rows = (await conn.execute(text("SELECT count(*) FROM due"))).scalar_one()
        assert passes >= 2
        assert rows == passes - 1  # the failed pass rolled back; the loop carried on
    finally:
        await db.close()
