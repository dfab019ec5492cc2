"""Workers on PostgreSQL hear intake commits through LISTEN/NOTIFY, and survive a lost link."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import pytest
from sqlalchemy import Connection

from tidings.dispatch.wakeups import DueListener
from tidings.store.engine import Database
from tidings.store.migrate import upgrade
from tidings.store.queue import notify_due

pytestmark = pytest.mark.postgres


async def _notify(db: Database, *, commit: bool) -> None:
    class Rollback(Exception):
        pass

    def work(conn: Connection) -> None:
        notify_due(conn)
        if not commit:
            raise Rollback

    with contextlib.suppress(Rollback):
        await db.transact(work)


async def test_a_commit_wakes_the_listener_and_a_rollback_does_not(postgres_url: str) -> None:
    await upgrade(postgres_url)
    db = Database(postgres_url)
    woken = asyncio.Queue[None]()
    listener = DueListener(postgres_url, lambda: woken.put_nowait(None))
    listener.start()
    try:
        await asyncio.wait_for(listener.connected.wait(), 10)
        await asyncio.wait_for(woken.get(), 5)  # the catch-up wake on connecting

        await _notify(db, commit=False)
        await _notify(db, commit=True)
        await asyncio.wait_for(woken.get(), 5)
        await asyncio.sleep(0.2)
        assert woken.empty()  # only the committed transaction notified
    finally:
        await listener.stop()
        await db.close()


async def test_the_listener_reconnects_after_its_backend_is_killed(postgres_url: str) -> None:
    await upgrade(postgres_url)
    db = Database(postgres_url)
    woken = asyncio.Queue[None]()
    listener = DueListener(postgres_url, lambda: woken.put_nowait(None))
    listener.start()
    admin = await asyncpg.connect(postgres_url)
    try:
        await asyncio.wait_for(listener.connected.wait(), 10)
        await asyncio.wait_for(woken.get(), 5)
        terminated = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
        )
        assert terminated == 1

        await asyncio.wait_for(woken.get(), 15)  # reconnected: its catch-up wake
        await _notify(db, commit=True)
        await asyncio.wait_for(woken.get(), 5)
    finally:
        await admin.close()
        await listener.stop()
        await db.close()
