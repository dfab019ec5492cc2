"""Fixtures the provider fakes' tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session for calling a fake's HTTP API directly."""
    async with aiohttp.ClientSession() as session:
        yield session
