"""Channels and routes declared in the TOML file, applied to the primary account at start.

Matched by name: a declared channel or route that does not exist is created; one that exists
is updated with the fields the file gives (others keep their values); nothing the file does not
name is touched, so channels and routes made through the API stay. Applying twice changes
nothing the second time (``updated_at`` included), so restarts do not make workers reopen
channels. Processes starting together take turns (a PostgreSQL advisory lock; SQLite's writer
lock), so none creates a duplicate.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr, ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.config import DeclaredChannel, DeclaredRoute
from tidings.core.clock import now_ms
from tidings.core.ids import new_id
from tidings.crypto import SecretBox
from tidings.errors import Conflict, Unprocessable
from tidings.features.accounts import primary_account_id
from tidings.features.channels import changed_values, insert_checked, new_channel_row, update_checked
from tidings.features.routes import RouteMatch, insert_route, route_named, update_route
from tidings.store import channels as channel_rows
from tidings.store.engine import Database

# A constant every process agrees on: it names the advisory lock of this step.
_DECLARATIONS_LOCK = 0x7469_6469_6E68


class DeclarationError(Exception):
    """The declared channels or routes cannot be applied; the message is one line naming the
    entry and the field, never a credential's value."""


@dataclass
class Applied:
    created: list[str] = field(default_factory=list)  # "channel <name>" / "route <name>"
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"declared channels and routes: {len(self.created)} created, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged"
        )


async def apply_declarations(
    db: Database, box: SecretBox, channels: Sequence[DeclaredChannel], routes: Sequence[DeclaredRoute]
) -> Applied:
    """Create or update the declared channels, then the routes, in one transaction."""
    applied = Applied()
    if not channels and not routes:
        return applied
    async with db.write() as conn:
        await _lock(conn)
        account_id = await primary_account_id(conn)
        if account_id is None:
            raise DeclarationError("declared channels need the primary account, which does not exist yet")
        for index, declared in enumerate(channels):
            where = f"channels[{index}] ({declared.name})"
            try:
                await _apply_channel(conn, account_id, declared, box, applied)
            except (Unprocessable, Conflict) as exc:
                raise DeclarationError(f"{where}: {exc.message}") from None
        for index, route in enumerate(routes):
            await _apply_route(conn, account_id, route, f"routes[{index}] ({route.name})", applied)
    return applied


async def _apply_channel(
    conn: AsyncConnection, account_id: str, declared: DeclaredChannel, box: SecretBox, applied: Applied
) -> None:
    fields = _channel_fields(declared)
    current = await channel_rows.channel_named(conn, account_id, declared.name)
    if current is None:
        row = new_channel_row(account_id, type=declared.type, name=declared.name, box=box, **fields)
        await insert_checked(conn, row)
        applied.created.append(f"channel {declared.name}")
        return
    if current["type"] != declared.type:
        raise Unprocessable(
            f"a {current['type']} channel has this name; a channel's type cannot change",
            code="channel_type_fixed",
        )
    values = changed_values(current, fields, box)
    if not values:
        applied.unchanged.append(f"channel {declared.name}")
        return
    await update_checked(conn, current, values)
    applied.updated.append(f"channel {declared.name}")


def _channel_fields(declared: DeclaredChannel) -> dict[str, Any]:
    """The fields the file sets, named as the channel service takes them."""
    fields: dict[str, Any] = declared.model_dump(exclude_unset=True, exclude={"name", "type", "credentials"})
    if "default" in fields:
        fields["is_default"] = fields.pop("default")
    if declared.credentials is not None:
        fields["credentials"] = {
            key: value.get_secret_value() if isinstance(value, SecretStr) else value
            for key, value in declared.credentials.items()
        }
    return fields


async def _apply_route(
    conn: AsyncConnection, account_id: str, route: DeclaredRoute, where: str, applied: Applied
) -> None:
    try:
        match = RouteMatch.model_validate(route.match)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        path = ".".join(["match", *(str(p) for p in first["loc"])])
        raise DeclarationError(f"{where}: {path}: {first['msg']}") from None
    channel_id = await _channel_id(conn, account_id, route.channel, f"{where}: channel")
    fallback_id = (
        await _channel_id(conn, account_id, route.fallback, f"{where}: fallback") if route.fallback else None
    )
    if fallback_id == channel_id:
        raise DeclarationError(f"{where}: the fallback must be a different channel")
    wanted = {
        "priority": route.priority,
        **match.model_dump(mode="json"),
        "channel_id": channel_id,
        "fallback_channel_id": fallback_id,
    }
    current = await route_named(conn, account_id, route.name)
    now = now_ms()
    if current is None:
        row = {"id": new_id("rte"), "account_id": account_id, "name": route.name, **wanted}
        await insert_route(conn, {**row, "created_at": now, "updated_at": now})
        applied.created.append(f"route {route.name}")
        return
    changes = {key: value for key, value in wanted.items() if current[key] != value}
    if not changes:
        applied.unchanged.append(f"route {route.name}")
        return
    await update_route(conn, current["id"], {**changes, "updated_at": now})
    applied.updated.append(f"route {route.name}")


async def _channel_id(conn: AsyncConnection, account_id: str, name: str, where: str) -> str:
    channel = await channel_rows.channel_named(conn, account_id, name)
    if channel is None:
        raise DeclarationError(f"{where}: the primary account has no channel named {json.dumps(name)}")
    return str(channel["id"])


async def _lock(conn: AsyncConnection) -> None:
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _DECLARATIONS_LOCK})
