"""Group commit (store/group_commit.py), the one mechanism behind the intake writer and the
receipt writer: callers that queue together share a transaction, a heavy caller goes alone, a
failed group is retried caller by caller, and stopping writes what is still queued."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from tidings.store.engine import Database
from tidings.store.group_commit import GroupCommit


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'group.db'}")
    await database.transact(lambda conn: conn.execute(text("CREATE TABLE t (x INTEGER PRIMARY KEY)")))
    yield database
    await database.close()


class Recorder:
    """The write function and the committed hook, remembering every call."""

    def __init__(self) -> None:
        self.writes: list[list[int]] = []
        self.committed: list[list[int]] = []

    def write(self, conn: Connection, items: list[int]) -> None:
        self.writes.append(list(items))
        conn.execute(text("INSERT INTO t (x) VALUES (:x)"), [{"x": x} for x in items])

    def heard(self, items: list[int]) -> None:
        self.committed.append(list(items))


async def _stored(db: Database) -> list[int]:
    async with db.read() as conn:
        return [x for (x,) in await conn.execute(text("SELECT x FROM t ORDER BY x"))]


async def test_callers_queued_together_share_one_transaction(db: Database) -> None:
    seen = Recorder()
    commits = GroupCommit(db, seen.write, name="test", committed=seen.heard)
    commits.start()
    try:
        await commits.submit([1])  # alone: written at once, no timer waits for company
        await asyncio.gather(*(commits.submit([n]) for n in range(2, 6)))
    finally:
        await commits.stop()
    assert await _stored(db) == [1, 2, 3, 4, 5]
    assert seen.writes == [[1], [2, 3, 4, 5]]
    assert seen.committed == seen.writes


async def test_a_group_gathers_callers_until_they_weigh_the_limit(db: Database) -> None:
    seen = Recorder()
    commits = GroupCommit(db, seen.write, name="test", max_items=10, weigh=lambda x: x % 100)
    commits.start()
    try:
        # Weights 1, 4, 4, 4 (13 >= 10: the group closes) | 4; 110 weighs 10 and goes alone.
        await asyncio.gather(*(commits.submit([n]) for n in (101, 104, 204, 304, 404, 110)))
    finally:
        await commits.stop()
    assert sorted(map(sorted, seen.writes)) == [[101, 104, 204, 304], [110], [404]]


async def test_a_failed_group_is_retried_caller_by_caller(db: Database) -> None:
    seen = Recorder()
    commits = GroupCommit(db, seen.write, name="test")
    await db.transact(lambda conn: conn.execute(text("INSERT INTO t (x) VALUES (3)")))
    commits.start()
    try:
        outcomes = await asyncio.gather(*(commits.submit([n]) for n in (1, 2, 3, 4)), return_exceptions=True)
    finally:
        await commits.stop()
    assert [type(o) for o in outcomes] == [type(None), type(None), IntegrityError, type(None)]
    assert await _stored(db) == [1, 2, 3, 4]
    assert seen.writes == [[1, 2, 3, 4], [1], [2], [3], [4]]


async def test_stopping_writes_what_is_still_queued(db: Database) -> None:
    seen = Recorder()
    commits = GroupCommit(db, seen.write, name="test", committed=seen.heard)
    commits.start()
    waiting = [asyncio.create_task(commits.submit([n])) for n in (1, 2)]
    await asyncio.sleep(0)  # both are queued; the writer has not taken them yet
    await commits.stop()
    await asyncio.gather(*waiting)
    assert await _stored(db) == [1, 2]
    assert seen.committed == [[1], [2]]
    # Stopped, a caller is written at once by itself.
    await commits.submit([7])
    assert await _stored(db) == [1, 2, 7]
