"""Fixtures the SMPP test modules share."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tidings.simulators.smpp import FakeSmsc


@pytest.fixture
async def smsc() -> AsyncIterator[FakeSmsc]:
    """A fake SMSC listening on a loopback port."""
    fake = FakeSmsc()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()
