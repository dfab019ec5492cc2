"""Routes: rules that pick a message's channel by kind, country and prefix, with a fallback."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError

from tidings.cache import TTLCache
from tidings.core.addresses import ChannelKind
from tidings.core.clock import now_ms
from tidings.core.ids import new_id
from tidings.core.numbers import InvalidNumberError, region_of
from tidings.core.routing import Route, Router
from tidings.core.tenancy import Principal, Role
from tidings.errors import Conflict, NotFound, Unprocessable
from tidings.features.accounts import AccountService
from tidings.features.routes import repository as repo
from tidings.store import channels as channel_rows
from tidings.store.engine import Database
from tidings.web.services import ServiceKey

# Routes change rarely and the send path resolves them per request.
ROUTE_CACHE_SECONDS = 5.0


def country_of(e164: str) -> str | None:
    try:
        return region_of(e164)
    except InvalidNumberError:
        return None


class RouteService:
    def __init__(self, db: Database, accounts: AccountService) -> None:
        self._db = db
        self._accounts = accounts
        self._routers: TTLCache[Router] = TTLCache(ROUTE_CACHE_SECONDS)

    async def router_for(self, lineage: Sequence[str]) -> Router:
        """The routes an account's messages follow: its own first, then its ancestors'."""

        async def load() -> Router:
            async with self._db.read() as conn:
                rows = await repo.routes_of(conn, lineage)
            depth = {account_id: i for i, account_id in enumerate(lineage)}
            rows.sort(key=lambda r: (depth[r["account_id"]], r["priority"], r["name"]))
            return Router([_route(row) for row in rows], country_of)

        return await self._routers.get_or_load(tuple(lineage), load)

    async def create(self, principal: Principal, fields: dict[str, Any]) -> dict[str, Any]:
        principal.require(Role.ADMIN)
        await self._check_channels(principal, fields)
        now = now_ms()
        row = {"id": new_id("rte"), "account_id": principal.account_id, **fields}
        row.update(created_at=now, updated_at=now)
        try:
            async with self._db.write() as conn:
                await repo.insert_route(conn, row)
        except IntegrityError:
            raise Conflict(f"a route named {fields['name']!r} exists", code="route_exists") from None
        self._routers.clear()
        return row

    async def list(self, principal: Principal) -> list[dict[str, Any]]:
        async with self._db.read() as conn:
            rows = await repo.routes_of(conn, [principal.account_id])
        rows.sort(key=lambda r: (r["priority"], r["name"]))
        return rows

    async def get(self, principal: Principal, route_id: str) -> dict[str, Any]:
        async with self._db.read() as conn:
            row = await repo.get_route(conn, route_id)
        return principal.visible(row, "route")

    async def update(self, principal: Principal, route_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        principal.require(Role.ADMIN)
        current = await self.get(principal, route_id)
        if current["account_id"] != principal.account_id:
            raise NotFound("no such route", code="route_not_found")
        merged = {**current, **fields}
        await self._check_channels(principal, merged)
        try:
            async with self._db.write() as conn:
                await repo.update_route(conn, route_id, {**fields, "updated_at": now_ms()})
        except IntegrityError:
            raise Conflict(f"a route named {fields.get('name')!r} exists", code="route_exists") from None
        self._routers.clear()
        return await self.get(principal, route_id)

    async def delete(self, principal: Principal, route_id: str) -> None:
        principal.require(Role.ADMIN)
        current = await self.get(principal, route_id)
        if current["account_id"] != principal.account_id:
            raise NotFound("no such route", code="route_not_found")
        async with self._db.write() as conn:
            await repo.delete_route(conn, route_id)
        self._routers.clear()

    async def _check_channels(self, principal: Principal, fields: dict[str, Any]) -> None:
        """Both channels must be ones this account may send on (its own or an ancestor's)."""
        lineage = await self._accounts.lineage(principal.account_id)
        for key in ("channel_id", "fallback_channel_id"):
            channel_id = fields.get(key)
            if channel_id is None:
                continue
            async with self._db.read() as conn:
                channel = await channel_rows.get_channel(conn, channel_id)
            if channel is None or channel["account_id"] not in lineage:
                raise Unprocessable(
                    f"no channel {channel_id!r} for this account", code="unknown_channel", field=key
                )
        if fields.get("fallback_channel_id") == fields.get("channel_id"):
            raise Unprocessable(
                "the fallback must be a different channel",
                code="invalid_fallback",
                field="fallback_channel_id",
            )


def _route(row: dict[str, Any]) -> Route:
    return Route(
        name=row["name"],
        channel_id=row["channel_id"],
        fallback_channel_id=row["fallback_channel_id"],
        kind=ChannelKind(row["kind"]) if row["kind"] else None,
        country=row["country"],
        prefix=row["prefix"],
    )


# How routers reach this service (tidings.web.services).
ROUTES: ServiceKey[RouteService] = ServiceKey("routes")
