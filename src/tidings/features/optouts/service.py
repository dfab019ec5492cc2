"""Listing, adding and removing opt-outs through the API.

Who may do what, as ``/v1/channels`` and decision 0002: every role reads; only ``admin`` writes,
since an opt-out is a person's consent record, not messaging data an integration churns. A
caller works on its own account's opt-outs or, with ``account_id``, a subaccount's; any other
account's answer 404.
"""

from __future__ import annotations

from typing import Any

from tidings.core.clock import now_ms
from tidings.core.cursors import IDS, Page
from tidings.core.tenancy import Principal, Role
from tidings.errors import NotFound
from tidings.features.accounts import AccountService
from tidings.features.optouts import repository as repo
from tidings.features.optouts.addresses import api_address, api_sender
from tidings.store.engine import Database
from tidings.web.services import ServiceKey


class OptOutService:
    def __init__(self, db: Database, accounts: AccountService, *, default_country: str | None) -> None:
        self._db = db
        self._accounts = accounts
        self._default_country = default_country

    async def list(
        self,
        principal: Principal,
        *,
        account_id: str | None,
        address: str | None,
        sender: str | None,
        cursor: str | None,
        limit: int,
    ) -> Page[dict[str, Any]]:
        """The account's opt-outs, newest first, optionally of one address or one sender."""
        paging = IDS.paging(cursor, limit)
        account = principal.account_in_tree(account_id)
        country = await self._accounts.default_country(account, instance=self._default_country)
        wanted_address = api_address(address, country, "address") if address is not None else None
        wanted_sender = api_sender(sender, country) if sender is not None else None
        async with self._db.read() as conn:
            rows = await repo.list_opt_outs(
                conn, account, address=wanted_address, sender=wanted_sender, page=paging
            )
        return paging.page(rows)

    async def add(
        self,
        principal: Principal,
        *,
        address: str,
        sender: str | None,
        default_country: str | None,
        account_id: str | None,
    ) -> tuple[dict[str, Any], bool]:
        """Opt ``address`` out of ``sender`` (default: every sender); the opt-out and whether it
        is new. Adding one that exists changes nothing and answers it."""
        principal.require(Role.ADMIN)
        account = principal.account_in_tree(account_id)
        country = await self._accounts.default_country(
            account, given=default_country, instance=self._default_country
        )
        canonical_address = api_address(address, country, "address")
        canonical_sender = api_sender(sender, country)
        async with self._db.write() as conn:
            created = await repo.add_from_api(
                conn, account, canonical_sender, canonical_address, now=now_ms()
            )
            row = await repo.by_key(conn, account, canonical_sender, canonical_address)
        assert row is not None
        return row, created

    async def remove(self, principal: Principal, opt_out_id: str) -> None:
        """Lift an opt-out: later sends to the address go out again."""
        principal.require(Role.ADMIN)
        async with self._db.write() as conn:
            row = await repo.by_id(conn, principal.account_ids, opt_out_id)
            if row is None:
                raise NotFound(f"no opt-out {opt_out_id!r}", code="opt_out_not_found")
            await repo.delete_opt_out(conn, opt_out_id)


# How routers reach this service (tidings.web.services).
OPT_OUTS: ServiceKey[OptOutService] = ServiceKey("opt_outs")
