"""Every channel type against its provider fake, through a real gateway over real HTTP.

The gateway fixtures come from the support package (``support.gateway``, registered by the root
conftest); ``provider`` runs each test once per fake listed in ``providers.PROVIDERS``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from contract.providers import PROVIDERS, ProviderFake


@pytest.fixture(params=sorted(PROVIDERS))
async def provider(request: pytest.FixtureRequest) -> AsyncIterator[ProviderFake]:
    fake = PROVIDERS[request.param]()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()
