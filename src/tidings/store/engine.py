"""The database handle: an async SQLAlchemy engine for SQLite (aiosqlite) or PostgreSQL (asyncpg),
and :meth:`Database.transact` for the hot write paths.

SQLite allows one writer at a time, so writes on SQLite go through one asyncio lock instead of
colliding on SQLITE_BUSY; readers run concurrently beside them thanks to WAL. On PostgreSQL the
lock is absent and row locks do the work.

Why ``transact`` exists: through aiosqlite every cursor operation is a round trip to a thread,
and under load each round trip waits a whole event-loop iteration to come back (measured: a
seven-statement intake commit took ~40 ms at 480 requests/s). ``transact`` runs a plain sync
function as one unit: on SQLite in a dedicated writer thread with its own connection (one hop
per transaction), on PostgreSQL through ``run_sync`` on the asyncpg connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

T = TypeVar("T")


def async_url(url: str) -> str:
    """Map the user-facing URL (``sqlite:///x.db``, ``postgresql://…``) to its async driver."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")


def redacted_url(url: str) -> str:
    """The URL with its password hidden, for log lines and error messages."""
    return make_url(url).render_as_string(hide_password=True)


class Database:
    """Engine plus the write discipline of the backend in use."""

    def __init__(self, url: str, *, sqlite_synchronous: str = "FULL", pool_size: int = 10) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        options: dict[str, Any] = {}
        if not self.is_sqlite:
            options = {"pool_size": pool_size, "max_overflow": pool_size, "pool_pre_ping": True}
        self.engine: AsyncEngine = create_async_engine(async_url(url), **options)
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self._sync_engine: Engine | None = None
        self._writer: ThreadPoolExecutor | None = None
        if self.is_sqlite:
            _configure_sqlite(self.engine.sync_engine, sqlite_synchronous, writer_only=False)
            sync_url = make_url(url).set(drivername="sqlite+pysqlite")
            # One connection, used only by the writer thread.
            self._sync_engine = create_engine(
                sync_url, pool_size=1, max_overflow=0, connect_args={"check_same_thread": False}
            )
            _configure_sqlite(self._sync_engine, sqlite_synchronous, writer_only=True)
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")

    async def transact(self, work: Callable[[Connection], T]) -> T:
        """Run ``work(connection)`` in one write transaction, committed when it returns."""
        if self._writer is None:
            async with self.engine.begin() as conn:
                return await conn.run_sync(work)
        assert self._write_lock is not None and self._sync_engine is not None
        engine = self._sync_engine

        def run() -> T:
            with engine.begin() as conn:
                return work(conn)

        async with self._write_lock:
            return await asyncio.get_running_loop().run_in_executor(self._writer, run)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction, committed on exit and rolled back on error."""
        if self._write_lock is None:
            async with self.engine.begin() as conn:
                yield conn
            return
        async with self._write_lock, self.engine.connect() as conn:
            # Marks the transaction as a writer's so it starts with BEGIN IMMEDIATE (below).
            await conn.execution_options(tidings_write=True)
            async with conn.begin():
                yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    async def close(self) -> None:
        await self.engine.dispose()
        if self._writer is not None and self._sync_engine is not None:
            await asyncio.get_running_loop().run_in_executor(self._writer, self._sync_engine.dispose)
            self._writer.shutdown(wait=True)


def _configure_sqlite(engine: Engine, synchronous: str, *, writer_only: bool) -> None:
    if synchronous not in {"OFF", "NORMAL", "FULL"}:
        raise ValueError("sqlite synchronous must be OFF, NORMAL or FULL")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # isolation_level=None hands transaction control to our own BEGIN (below), as the
        # SQLAlchemy aiosqlite docs recommend; the driver's implicit BEGIN is unreliable.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        # 64 MiB of page cache (the default is 2 MiB): a 100,000-message intake updates six
        # indexes, and the random-order ones thrash a small cache (2.7 s → 1.9 s, measured).
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A writer takes the lock up front: a deferred transaction that upgrades to a writer
        # later can fail with SQLITE_BUSY, which busy_timeout does not retry.
        writer = writer_only or conn.get_execution_options().get("tidings_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")
