"""Fixtures the fake providers' tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain HTTP client, as a gateway or a test in another process steers a fake with."""
    async with aiohttp.ClientSession() as session:
        yield session
