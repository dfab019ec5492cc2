"""The database handle: one async SQLAlchemy engine for SQLite (aiosqlite) or PostgreSQL (asyncpg).

SQLite allows one writer at a time, so writes on SQLite go through one asyncio lock instead of
colliding on SQLITE_BUSY; readers run concurrently beside them thanks to WAL. On PostgreSQL the
lock is absent and row locks do the work.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine


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
        if self.is_sqlite:
            _configure_sqlite(self.engine, sqlite_synchronous)

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


def _configure_sqlite(engine: AsyncEngine, synchronous: str) -> None:
    if synchronous not in {"OFF", "NORMAL", "FULL"}:
        raise ValueError("sqlite synchronous must be OFF, NORMAL or FULL")

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # isolation_level=None hands transaction control to our own BEGIN (below), as the
        # SQLAlchemy aiosqlite docs recommend; the driver's implicit BEGIN is unreliable.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A writer takes the lock up front: a deferred transaction that upgrades to a writer
        # later can fail with SQLITE_BUSY, which busy_timeout does not retry.
        writer = conn.get_execution_options().get("tidings_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")
