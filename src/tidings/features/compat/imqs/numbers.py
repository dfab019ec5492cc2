"""How the surface reads mobile numbers: the seed's rules (a default country for local numbers,
an allow-list of countries) through the native number parser, and the seed's format for them,
international digits without ``+``."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from tidings.config import Settings
from tidings.core.numbers import NormalizedNumbers, normalize_numbers
from tidings.core.tenancy import Principal
from tidings.features.accounts import AccountService, countries_from_json
from tidings.features.compat.imqs.settings import ImqsSettings

# Lists at least this long are parsed off the event loop (10 to 20 ms of parsing at this size).
_BESIDE_THE_LOOP = 1000


@dataclass(frozen=True, slots=True)
class NumberRules:
    default_country: str | None
    allowed_countries: frozenset[str] | None

    async def sort(self, msisdns: list[str]) -> NormalizedNumbers:
        """E.164 numbers, deduplicated in first-seen order, and the refused ones."""
        if len(msisdns) < _BESIDE_THE_LOOP:
            return normalize_numbers(msisdns, self.default_country, self.allowed_countries)
        # 100,000 numbers take a second or two: in a thread, other requests are still answered
        # between its slices of the GIL.
        return await asyncio.to_thread(
            normalize_numbers, msisdns, self.default_country, self.allowed_countries
        )


async def rules_for(
    caller: Principal, options: ImqsSettings, accounts: AccountService, settings: Settings
) -> NumberRules:
    """The surface's settings where given, else the caller's account's, else the gateway's."""
    account = await accounts.cached_account(caller.account_id)
    country = options.default_country or account["default_country"] or settings.default_country
    allowed = (
        frozenset(options.allowed_countries)
        if options.allowed_countries is not None
        else countries_from_json(account["allowed_countries"])
    )
    return NumberRules(country.upper() if country else None, allowed)


def msisdn(e164: str) -> str:
    """``+27830000000`` as the seed writes it: ``27830000000``."""
    return e164.removeprefix("+")
