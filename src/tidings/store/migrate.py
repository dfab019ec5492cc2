"""Schema migrations, run by the app itself: ``tidings migrate`` upgrades, the worker checks.

Alembic is configured in code (no alembic.ini), with the scripts in ``tidings/migrations`` next
to this package, so it works from an installed wheel in any working directory. The env.py runs
its own event loop, so the Alembic commands run in a worker thread and never block or nest
inside the caller's loop.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from tidings.store.engine import Database, async_url, redacted_url

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


class SchemaNotMigrated(RuntimeError):
    """The database's schema revision is not the one this code needs."""


def alembic_config(database_url: str) -> Config:
    """An Alembic Config for ``database_url`` (the user-facing ``sqlite:///``/``postgresql://``)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    # The Config is a ConfigParser: a literal % (URL-encoded password) must be doubled.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def head_revision() -> str:
    """The newest revision the migration scripts define."""
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    if head is None:
        raise RuntimeError(f"no migration scripts in {MIGRATIONS_DIR}")
    return head


async def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database up to ``revision``."""
    await asyncio.to_thread(command.upgrade, alembic_config(database_url), revision)


async def downgrade(database_url: str, revision: str) -> None:
    """Migrate the database down to ``revision`` (``"base"`` drops everything)."""
    await asyncio.to_thread(command.downgrade, alembic_config(database_url), revision)


def _revision_of(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(conn_or_url: AsyncConnection | str) -> str | None:
    """The database's revision, or None when it has never been migrated."""
    if isinstance(conn_or_url, AsyncConnection):
        return await conn_or_url.run_sync(_revision_of)
    engine = create_async_engine(async_url(conn_or_url), poolclass=pool.NullPool)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_revision_of)
    finally:
        await engine.dispose()


async def ensure_migrated(database: Database) -> None:
    """Raise SchemaNotMigrated unless the database is at the head revision."""
    async with database.read() as conn:
        current = await current_revision(conn)
    head = head_revision()
    if current != head:
        raise SchemaNotMigrated(
            f"database at {redacted_url(database.url)} is not migrated "
            f"(at {current or 'empty'}, need {head}): run `tidings migrate`"
        )
