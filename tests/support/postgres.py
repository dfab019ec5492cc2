"""PostgreSQL databases: a fresh, uuid-named one per request, dropped after the test.

Uuid names keep tests apart however many run at once (pytest-xdist workers included).

The server is the one named by TIDINGS_TEST_POSTGRES_ADMIN_URL (default: the local trust-auth
server). When it is unreachable the tests that need it fail; they never skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest
from sqlalchemy.engine import make_url

ADMIN_URL = os.environ.get("TIDINGS_TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


async def _admin_connection() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(ADMIN_URL, timeout=10)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        redacted = make_url(ADMIN_URL).render_as_string(hide_password=True)
        pytest.fail(f"PostgreSQL at {redacted} is unreachable: {exc!r}", pytrace=False)


@pytest.fixture
async def make_postgres_url() -> AsyncIterator[Callable[[], Awaitable[str]]]:
    """A factory of fresh, empty PostgreSQL databases (user-facing ``postgresql://`` URLs)."""
    admin = await _admin_connection()
    created: list[str] = []

    async def make() -> str:
        name = f"tidings_test_{uuid.uuid4().hex[:16]}"
        await admin.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)

    try:
        yield make
    finally:
        for name in created:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def postgres_url(make_postgres_url: Callable[[], Awaitable[str]]) -> str:
    """A fresh, empty PostgreSQL database for this test."""
    return await make_postgres_url()
