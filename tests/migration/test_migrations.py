"""The migrations build exactly the declared schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from tidings.store.engine import Database, async_url, redacted_url
from tidings.store.migrate import (
    SchemaNotMigrated,
    alembic_config,
    current_revision,
    downgrade,
    ensure_migrated,
    head_revision,
    upgrade,
)
from tidings.store.schema import declared_on, metadata

UrlFactory = Callable[[], Awaitable[str]]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url_factory(request: pytest.FixtureRequest, tmp_path: Path) -> UrlFactory:
    """Fresh empty databases of the parametrised backend."""
    # A sync fixture: it may pull in the async PostgreSQL fixture, which an async one cannot.
    if request.param == "postgresql":
        factory: UrlFactory = request.getfixturevalue("make_postgres_url")
        return factory
    count = 0

    async def make_sqlite() -> str:
        nonlocal count
        count += 1
        return f"sqlite:///{tmp_path / f'db{count}.sqlite'}"

    return make_sqlite


@pytest.fixture
async def url(url_factory: UrlFactory) -> str:
    return await url_factory()


async def _with_connection(url: str, fn: Callable[[Connection], Any]) -> Any:
    engine = create_async_engine(async_url(url), poolclass=pool.NullPool)
    try:
        async with engine.begin() as conn:
            return await conn.run_sync(fn)
    finally:
        await engine.dispose()


def _schema_diff(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(
        conn,
        opts={
            "compare_type": True,
            "compare_server_default": True,
            "include_object": declared_on(conn.dialect.name),
        },
    )
    return list(compare_metadata(context, metadata))


def _physical_schema(conn: Connection) -> dict[str, Any]:
    """What the server itself says it holds, in its own normalised spelling."""
    if conn.dialect.name == "sqlite":
        # Per column rather than CREATE TABLE text: a column added by ALTER TABLE is spelled
        # differently in sqlite_master but is the same column.
        tables = [
            row[0]
            for row in conn.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'alembic_version'")
            )
        ]
        described: dict[str, Any] = {}
        for table in sorted(tables):
            described[table] = {
                "columns": [tuple(r) for r in conn.execute(text(f"PRAGMA table_info('{table}')"))],
                "foreign_keys": sorted(
                    tuple(r)[2:] for r in conn.execute(text(f"PRAGMA foreign_key_list('{table}')"))
                ),
            }
        indexes = conn.execute(
            text(
                "SELECT name, tbl_name, sql FROM sqlite_master "
                "WHERE type = 'index' AND tbl_name != 'alembic_version' ORDER BY name"
            )
        )
        described["indexes"] = [tuple(row) for row in indexes]
        return described
    indexes = conn.execute(
        text(
            "SELECT indexname, indexdef FROM pg_indexes "
            "WHERE schemaname = 'public' AND tablename != 'alembic_version' ORDER BY indexname"
        )
    )
    columns = conn.execute(
        text(
            "SELECT table_name, column_name, ordinal_position, data_type, "
            "character_maximum_length, is_nullable, column_default "
            "FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name != 'alembic_version' "
            "ORDER BY table_name, ordinal_position"
        )
    )
    constraints = conn.execute(
        text(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE connamespace = 'public'::regnamespace "
            "AND conrelid::regclass::text != 'alembic_version' ORDER BY 1, 2"
        )
    )
    return {
        "indexes": [tuple(row) for row in indexes],
        "columns": [tuple(row) for row in columns],
        "constraints": [tuple(row) for row in constraints],
    }


def _table_names(conn: Connection) -> list[str]:
    return sorted(inspect(conn).get_table_names())


async def test_upgrade_matches_declared_schema(url: str) -> None:
    await upgrade(url)

    assert await current_revision(url) == head_revision()
    assert await _with_connection(url, _schema_diff) == []


async def test_upgrade_builds_what_create_all_builds(url_factory: UrlFactory) -> None:
    # compare_metadata ignores partial-index predicates (and SQLite's reflected defaults are
    # loose), so also check the server's own description against a create_all database.
    migrated, declared = await url_factory(), await url_factory()
    await upgrade(migrated)
    await _with_connection(declared, metadata.create_all)

    assert await _with_connection(migrated, _physical_schema) == await _with_connection(
        declared, _physical_schema
    )


async def test_ensure_migrated_refuses_an_empty_database_then_passes(url: str) -> None:
    database = Database(url)
    try:
        with pytest.raises(SchemaNotMigrated) as raised:
            await ensure_migrated(database)
        message = str(raised.value)
        assert redacted_url(url) in message
        assert f"(at empty, need {head_revision()}): run `tidings migrate`" in message
        assert "\n" not in message

        await upgrade(url)
        await ensure_migrated(database)
        async with database.read() as conn:
            assert await current_revision(conn) == head_revision()
    finally:
        await database.close()


async def test_downgrade_to_base_then_upgrade_again(url: str) -> None:
    await upgrade(url)
    await downgrade(url, "base")

    assert await current_revision(url) is None
    assert await _with_connection(url, _table_names) == ["alembic_version"]

    await upgrade(url)
    assert await current_revision(url) == head_revision()
    assert await _with_connection(url, _schema_diff) == []


async def test_ensure_migrated_refuses_an_older_revision(url: str) -> None:
    await upgrade(url)
    await _with_connection(
        url, lambda conn: conn.execute(text("UPDATE alembic_version SET version_num = 'older'"))
    )
    database = Database(url)
    try:
        with pytest.raises(SchemaNotMigrated, match=r"\(at older, need "):
            await ensure_migrated(database)
    finally:
        await database.close()


# The Alembic commands themselves, called synchronously, inside and outside a running loop
# and from another working directory: env.py needs neither alembic.ini nor a free thread.


async def test_alembic_command_inside_a_running_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'loop.sqlite'}"
    asyncio.get_running_loop()  # there is one: env.py must not asyncio.run() on it

    command.upgrade(alembic_config(url), "head")

    assert await current_revision(url) == head_revision()


def test_alembic_command_outside_any_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'plain.sqlite'}"

    command.upgrade(alembic_config(url), "head")
    command.downgrade(alembic_config(url), "base")

    assert asyncio.run(current_revision(url)) is None


def test_offline_sql(capsys: pytest.CaptureFixture[str]) -> None:
    command.upgrade(alembic_config("postgresql://nobody@nowhere/none"), "head", sql=True)

    sql = capsys.readouterr().out
    assert "CREATE TABLE accounts" in sql
    assert "CREATE INDEX ix_messages_claim ON messages (priority, due_at) WHERE status IN" in sql


def test_percent_in_url_survives_the_config() -> None:
    url = "postgresql://user:p%40ss%25word@host/db"
    assert alembic_config(url).get_main_option("sqlalchemy.url") == url


def test_alembic_command_on_a_callers_connection(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    config = alembic_config(url)
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            assert _schema_diff(conn) == []
    finally:
        engine.dispose()

    assert asyncio.run(current_revision(url)) == head_revision()
