"""Creating, reading, changing and deleting contacts, with their addresses normalised.

Who sees what: a caller works on its own account's contacts, or with ``account_id`` on one of
its subaccounts' (as ``/v1/channels`` does); any other account answers 404. Every role reads;
``sender`` and ``admin`` write, since contacts are messaging data an integration keeps in step
with its users (like the messages a sender creates), not account configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.core.addresses import ChannelKind
from tidings.core.attributes import attributes_json
from tidings.core.clock import now_ms
from tidings.core.cursors import IDS, Page
from tidings.core.ids import new_id
from tidings.core.numbers import InvalidNumberError
from tidings.core.tenancy import Principal, Role
from tidings.errors import Conflict, InvalidRequest, NotFound, Unprocessable
from tidings.features.accounts import AccountService
from tidings.features.contacts import repository as repo
from tidings.features.contacts.addresses import KIND_MISMATCH, contact_address, lookup_candidates
from tidings.store.engine import Database
from tidings.web.services import ServiceKey


class ContactService:
    def __init__(self, db: Database, accounts: AccountService, *, default_country: str | None) -> None:
        self._db = db
        self._accounts = accounts
        self._default_country = default_country

    # -- reading -----------------------------------------------------------------------------

    async def list(
        self,
        principal: Principal,
        *,
        account_id: str | None,
        external_id: str | None,
        address: str | None,
        cursor: str | None,
        limit: int,
    ) -> Page[dict[str, Any]]:
        """The account's contacts, newest first, optionally by external id or by any address form."""
        paging = IDS.paging(cursor, limit)
        account = principal.account_in_tree(account_id)
        candidates = None
        if address is not None:
            country = await self._accounts.default_country(account, instance=self._default_country)
            try:
                candidates = lookup_candidates(address, country)
            except InvalidNumberError as error:
                raise InvalidRequest(
                    f"{address!r} is not an address ({error.reason})", code="invalid_address", field="address"
                ) from None
        async with self._db.read() as conn:
            rows = await repo.list_contacts(
                conn, account, external_id=external_id, candidates=candidates, page=paging
            )
            return paging.page(await _with_addresses(conn, rows))

    async def get(self, principal: Principal, ref: str, *, account_id: str | None = None) -> dict[str, Any]:
        """A contact by id or external id (an id match wins)."""
        account = principal.account_in_tree(account_id)
        async with self._db.read() as conn:
            row = await _found(conn, account, ref)
            [shown] = await _with_addresses(conn, [row])
        return shown

    # -- changing ----------------------------------------------------------------------------

    async def create(
        self, principal: Principal, fields: Mapping[str, Any], *, account_id: str | None = None
    ) -> dict[str, Any]:
        """A new contact: 409 ``contact_exists`` for a taken external id, 409 ``address_taken``
        when another contact of the account holds one of the addresses."""
        principal.require(Role.SENDER, Role.ADMIN)
        account = principal.account_in_tree(account_id)
        country = await self._accounts.default_country(
            account, given=fields.get("default_country"), instance=self._default_country
        )
        addresses, _ = _normalized(fields.get("addresses") or {}, country)
        now = now_ms()
        row = {
            "id": new_id("ctc"),
            "account_id": account,
            "external_id": fields["external_id"],
            "name": fields.get("name"),
            "attributes": attributes_json(fields.get("attributes")),
            "created_at": now,
            "updated_at": now,
        }
        try:
            async with self._db.write() as conn:
                if await repo.contact_with_external_id(conn, account, row["external_id"]) is not None:
                    raise _exists(row["external_id"])
                await _check_free(conn, account, addresses, own_id=None)
                await repo.insert_contact(conn, row, addresses)
        except IntegrityError:  # a concurrent request took the external id or an address first
            async with self._db.read() as conn:
                if await repo.contact_with_external_id(conn, account, row["external_id"]) is not None:
                    raise _exists(row["external_id"]) from None
                await _check_free(conn, account, addresses, own_id=None)
            raise
        return {**row, "addresses": addresses}

    async def update(
        self, principal: Principal, ref: str, changes: Mapping[str, Any], *, account_id: str | None = None
    ) -> dict[str, Any]:
        """Apply the given fields; in ``addresses`` a ``None`` removes that kind's address."""
        principal.require(Role.SENDER, Role.ADMIN)
        account = principal.account_in_tree(account_id)
        country = await self._accounts.default_country(
            account, given=changes.get("default_country"), instance=self._default_country
        )
        to_set, to_remove = _normalized(changes.get("addresses") or {}, country)
        values: dict[str, Any] = {}
        if "name" in changes:
            values["name"] = changes["name"]
        if "attributes" in changes:
            values["attributes"] = attributes_json(changes["attributes"])
        try:
            async with self._db.write() as conn:
                current = await _found(conn, account, ref)
                await _check_free(conn, account, to_set, own_id=current["id"])
                values["updated_at"] = max(now_ms(), current["updated_at"] + 1)
                await repo.update_contact(conn, current["id"], values)
                await repo.remove_addresses(conn, current["id"], to_remove)
                await repo.set_addresses(conn, current["id"], account, to_set)
        except IntegrityError:  # a concurrent request took one of the addresses first
            async with self._db.read() as conn:
                await _check_free(conn, account, to_set, own_id=None)
            raise
        return await self.get(principal, current["id"], account_id=account)

    async def delete(self, principal: Principal, ref: str, *, account_id: str | None = None) -> None:
        """Delete the contact and its addresses. Its messages keep their ``contact`` id."""
        principal.require(Role.SENDER, Role.ADMIN)
        account = principal.account_in_tree(account_id)
        async with self._db.write() as conn:
            current = await _found(conn, account, ref)
            await repo.delete_contact(conn, current["id"])


async def _found(conn: AsyncConnection, account_id: str, ref: str) -> dict[str, Any]:
    row = await repo.find_contact(conn, account_id, ref)
    if row is None:
        raise NotFound(f"no contact {ref!r}", code="contact_not_found")
    return row


async def _with_addresses(conn: AsyncConnection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    addresses = await repo.addresses_of(conn, [row["id"] for row in rows])
    return [{**row, "addresses": addresses.get(row["id"], {})} for row in rows]


def _normalized(given: Mapping[str, str | None], country: str | None) -> tuple[dict[str, str], set[str]]:
    """Canonical addresses to set by kind, and the kinds whose address is to be removed."""
    to_set: dict[str, str] = {}
    to_remove: set[str] = set()
    for kind in ChannelKind:
        if kind.value not in given:
            continue
        raw = given[kind.value]
        if raw is None:
            to_remove.add(kind.value)
            continue
        try:
            to_set[kind.value] = contact_address(kind, raw, country)
        except InvalidNumberError as error:
            reason = "it is another channel type's address" if error.reason == KIND_MISMATCH else error.reason
            raise Unprocessable(
                f"{raw!r} is not a {kind.value} address ({reason})",
                code="invalid_address",
                field=f"addresses.{kind.value}",
            ) from None
    return to_set, to_remove


async def _check_free(
    conn: AsyncConnection, account_id: str, addresses: Mapping[str, str], *, own_id: str | None
) -> None:
    owners = await repo.address_owners(conn, account_id, set(addresses.items()))
    for (kind, address), (contact_id, external_id) in sorted(owners.items()):
        if contact_id != own_id:
            raise Conflict(
                f"{address} already belongs to contact {external_id!r}",
                code="address_taken",
                field=f"addresses.{kind}",
            )


def _exists(external_id: str) -> Conflict:
    return Conflict(
        f"a contact with external_id {external_id!r} exists", code="contact_exists", field="external_id"
    )


# How routers reach this service (tidings.web.services).
CONTACTS: ServiceKey[ContactService] = ServiceKey("contacts")
