"""Fixtures of the scaled-mode tests; the process harness is ``support.fleet``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from support.fleet import Fleet, fleet_env


@pytest.fixture
async def fleet(postgres_url: str, tmp_path: Path) -> AsyncIterator[Fleet]:
    """A migrated PostgreSQL database and the environment its processes share (none started)."""
    fleet = Fleet(tmp_path, fleet_env(tmp_path, postgres_url))
    async with aiohttp.ClientSession() as session:
        fleet.session = session
        try:
            yield fleet
        finally:
            await asyncio.to_thread(fleet.stop_all)
