"""Queries for accounts and API keys."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.core.cursors import Paging
from tidings.store.pages import keyset
from tidings.store.schema import account_webhooks, accounts, api_keys

# Account rows carry their webhook URL (never the secret) as ``webhook_url``, and their Twilio
# SmsUrl as ``twilio_sms_url``.
_WITH_WEBHOOK = select(
    accounts, account_webhooks.c.url.label("webhook_url"), account_webhooks.c.twilio_sms_url
).select_from(accounts.outerjoin(account_webhooks, account_webhooks.c.account_id == accounts.c.id))

# Any constant both API processes agree on: it names the bootstrap's advisory lock.
_BOOTSTRAP_LOCK = 0x7469_6469_6E67


async def lock_for_bootstrap(conn: AsyncConnection) -> None:
    """Serialise first-run bootstraps of API processes starting together on PostgreSQL (on
    SQLite the writer lock already does); released when the transaction ends."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _BOOTSTRAP_LOCK})


async def count_accounts(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.count()).select_from(accounts))).scalar_one())


async def primary_account_id(conn: AsyncConnection) -> str | None:
    row = (
        await conn.execute(
            select(accounts.c.id)
            .where(accounts.c.parent_id.is_(None))
            .order_by(accounts.c.created_at)
            .limit(1)
        )
    ).first()
    return row[0] if row else None


async def insert_account(conn: AsyncConnection, row: dict[str, Any]) -> None:
    await conn.execute(insert(accounts), row)


async def get_account(conn: AsyncConnection, account_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(_WITH_WEBHOOK.where(accounts.c.id == account_id))).first()
    return dict(row._mapping) if row else None


async def list_accounts(
    conn: AsyncConnection, parent_ids: Sequence[str], page: Paging[str]
) -> list[dict[str, Any]]:
    """Oldest first (account ids are random, so this is id order, not creation order)."""
    query = _WITH_WEBHOOK.where(accounts.c.parent_id.in_(parent_ids))
    rows = await conn.execute(keyset(query, accounts.c.id, page, newest_first=False))
    return [dict(r._mapping) for r in rows]


async def descendant_ids(conn: AsyncConnection, account_id: str) -> set[str]:
    """The account and every account below it (breadth-first; trees are shallow)."""
    found = {account_id}
    frontier = [account_id]
    while frontier:
        rows = await conn.execute(select(accounts.c.id).where(accounts.c.parent_id.in_(frontier)))
        frontier = [r[0] for r in rows if r[0] not in found]
        found.update(frontier)
    return found


async def rename_account(conn: AsyncConnection, account_id: str, name: str) -> None:
    await conn.execute(update(accounts).where(accounts.c.id == account_id).values(name=name))


async def webhook_settings(conn: AsyncConnection, account_id: str) -> dict[str, Any] | None:
    row = (
        await conn.execute(select(account_webhooks).where(account_webhooks.c.account_id == account_id))
    ).first()
    return dict(row._mapping) if row else None


async def save_webhook_settings(
    conn: AsyncConnection,
    account_id: str,
    *,
    secret_ciphertext: str,
    now: int,
    exists: bool,
    **urls: str | None,
) -> None:
    """Write the secret and the given ``urls`` (``url``, ``twilio_sms_url``); others keep theirs."""
    values = {**urls, "secret_ciphertext": secret_ciphertext, "updated_at": now}
    if exists:
        await conn.execute(
            update(account_webhooks).where(account_webhooks.c.account_id == account_id).values(**values)
        )
    else:
        await conn.execute(insert(account_webhooks), {"account_id": account_id, **values})


async def insert_key(conn: AsyncConnection, row: dict[str, Any]) -> None:
    await conn.execute(insert(api_keys), row)


async def find_key_by_hash(conn: AsyncConnection, key_hash: str) -> dict[str, Any] | None:
    row = (
        await conn.execute(
            select(api_keys).where(api_keys.c.key_hash == key_hash, api_keys.c.revoked_at.is_(None))
        )
    ).first()
    return dict(row._mapping) if row else None


async def list_keys(
    conn: AsyncConnection, account_ids: Sequence[str], page: Paging[str]
) -> list[dict[str, Any]]:
    """Newest first."""
    query = select(api_keys).where(api_keys.c.account_id.in_(account_ids))
    rows = await conn.execute(keyset(query, api_keys.c.id, page, newest_first=True))
    return [dict(r._mapping) for r in rows]


async def get_key(conn: AsyncConnection, key_id: str, account_ids: Sequence[str]) -> dict[str, Any] | None:
    row = (
        await conn.execute(
            select(api_keys).where(api_keys.c.id == key_id, api_keys.c.account_id.in_(account_ids))
        )
    ).first()
    return dict(row._mapping) if row else None


async def revoke_key(conn: AsyncConnection, key_id: str, at: int) -> None:
    await conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(revoked_at=at))


def countries_from_json(raw: str | None) -> frozenset[str] | None:
    return frozenset(json.loads(raw)) if raw else None
