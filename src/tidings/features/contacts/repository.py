"""Queries for contacts and their addresses; every one names the account it reads."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from tidings.core.cursors import Paging
from tidings.store.pages import keyset
from tidings.store.schema import contact_addresses, contacts

Pair = tuple[str, str]  # (kind, canonical address)
# Bound parameters per statement stay well under every driver's limit.
_CHUNK = 1000


def _pairs_clause(pairs: Iterable[Pair]) -> ColumnElement[bool]:
    """``(kind, address)`` pairs as one OR of per-kind IN lists: each an index probe."""
    by_kind: dict[str, list[str]] = {}
    for kind, address in pairs:
        by_kind.setdefault(kind, []).append(address)
    return or_(
        *(
            and_(contact_addresses.c.kind == kind, contact_addresses.c.address.in_(addresses))
            for kind, addresses in sorted(by_kind.items())
        )
    )


async def insert_contact(conn: AsyncConnection, row: dict[str, Any], addresses: dict[str, str]) -> None:
    await conn.execute(insert(contacts), row)
    await set_addresses(conn, row["id"], row["account_id"], addresses)


async def set_addresses(
    conn: AsyncConnection, contact_id: str, account_id: str, addresses: dict[str, str]
) -> None:
    """Give the contact these addresses, replacing its current ones of the same kinds."""
    if not addresses:
        return
    await remove_addresses(conn, contact_id, addresses)
    rows = [
        {"contact_id": contact_id, "account_id": account_id, "kind": kind, "address": address}
        for kind, address in sorted(addresses.items())
    ]
    await conn.execute(insert(contact_addresses), rows)


async def remove_addresses(conn: AsyncConnection, contact_id: str, kinds: Collection[str]) -> None:
    if kinds:
        await conn.execute(
            delete(contact_addresses).where(
                contact_addresses.c.contact_id == contact_id, contact_addresses.c.kind.in_(sorted(kinds))
            )
        )


async def find_contact(conn: AsyncConnection, account_id: str, ref: str) -> dict[str, Any] | None:
    """The account's contact with id ``ref``, else with external id ``ref``."""
    query = select(contacts).where(
        contacts.c.account_id == account_id, or_(contacts.c.id == ref, contacts.c.external_id == ref)
    )
    rows = [dict(r._mapping) for r in await conn.execute(query)]
    rows.sort(key=lambda row: row["id"] != ref)  # an id match wins over an external id one
    return rows[0] if rows else None


async def contact_with_external_id(conn: AsyncConnection, account_id: str, external_id: str) -> str | None:
    query = select(contacts.c.id).where(
        contacts.c.account_id == account_id, contacts.c.external_id == external_id
    )
    return (await conn.execute(query)).scalar_one_or_none()


async def addresses_of(conn: AsyncConnection, contact_ids: Sequence[str]) -> dict[str, dict[str, str]]:
    """Each contact's addresses by kind; contacts without any are absent."""
    found: dict[str, dict[str, str]] = {}
    if not contact_ids:
        return found
    query = select(contact_addresses).where(contact_addresses.c.contact_id.in_(list(contact_ids)))
    for row in await conn.execute(query):
        found.setdefault(row.contact_id, {})[row.kind] = row.address
    return found


async def address_owners(
    conn: AsyncConnection, account_id: str, pairs: Collection[Pair]
) -> dict[Pair, tuple[str, str]]:
    """Which contact of the account, as ``(id, external_id)``, holds each of these addresses."""
    if not pairs:
        return {}
    query = (
        select(contact_addresses.c.kind, contact_addresses.c.address, contacts.c.external_id, contacts.c.id)
        .join(contacts, contacts.c.id == contact_addresses.c.contact_id)
        .where(contact_addresses.c.account_id == account_id, _pairs_clause(pairs))
    )
    return {(row.kind, row.address): (row.id, row.external_id) for row in await conn.execute(query)}


async def list_contacts(
    conn: AsyncConnection,
    account_id: str,
    *,
    external_id: str | None,
    candidates: Sequence[Pair] | None,
    page: Paging[str],
) -> list[dict[str, Any]]:
    """Newest first."""
    query = select(contacts).where(contacts.c.account_id == account_id)
    if external_id is not None:
        query = query.where(contacts.c.external_id == external_id)
    if candidates is not None:
        holders = select(contact_addresses.c.contact_id).where(
            contact_addresses.c.account_id == account_id, _pairs_clause(candidates)
        )
        query = query.where(contacts.c.id.in_(holders))
    rows = await conn.execute(keyset(query, contacts.c.id, page, newest_first=True))
    return [dict(r._mapping) for r in rows]


async def update_contact(conn: AsyncConnection, contact_id: str, values: dict[str, Any]) -> None:
    await conn.execute(update(contacts).where(contacts.c.id == contact_id).values(**values))


async def delete_contact(conn: AsyncConnection, contact_id: str) -> None:
    await conn.execute(delete(contact_addresses).where(contact_addresses.c.contact_id == contact_id))
    await conn.execute(delete(contacts).where(contacts.c.id == contact_id))


async def addresses_by_external_id(
    conn: AsyncConnection, account_id: str, external_ids: Collection[str]
) -> list[tuple[str, str, str | None, str | None]]:
    """``(external_id, contact id, kind, address)`` of these contacts, one row per address (kind
    and address None for a contact without any); one query per 1,000 external ids."""
    ordered = sorted(external_ids)
    found: list[tuple[str, str, str | None, str | None]] = []
    for start in range(0, len(ordered), _CHUNK):
        query = (
            select(
                contacts.c.external_id, contacts.c.id, contact_addresses.c.kind, contact_addresses.c.address
            )
            .select_from(
                contacts.outerjoin(contact_addresses, contact_addresses.c.contact_id == contacts.c.id)
            )
            .where(
                contacts.c.account_id == account_id,
                contacts.c.external_id.in_(ordered[start : start + _CHUNK]),
            )
        )
        found.extend((r[0], r[1], r[2], r[3]) for r in await conn.execute(query))
    return found


def contacts_by_address(conn: Connection, account_id: str, pairs: Collection[Pair]) -> dict[Pair, str]:
    """The contact id holding each of these addresses in the account (inbound matching; runs
    inside the inbound transaction, hence a sync connection)."""
    if not pairs:
        return {}
    query = select(
        contact_addresses.c.kind, contact_addresses.c.address, contact_addresses.c.contact_id
    ).where(contact_addresses.c.account_id == account_id, _pairs_clause(pairs))
    return {(row.kind, row.address): row.contact_id for row in conn.execute(query)}
