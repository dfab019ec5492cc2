"""Creating, reading, changing and deleting channels; each type validates its own settings and
credentials.

Credentials are sealed with the instance secret before they reach the database and are never
returned: rows handed back carry ``credentials_ciphertext`` only, which the web layer reduces to
``has_credentials``.

Who sees what: a caller reads the channels of its own account and its subaccounts, and the
channels of its ancestors, which it may send on but never change. Admins change channels of
their own account and its subaccounts. Anything else answers 404.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError

from tidings.cache import TTLCache
from tidings.core.clock import now_ms
from tidings.core.cursors import IDS, Page
from tidings.core.statuses import RECEIPT_WINDOW_MS
from tidings.core.tenancy import Principal, Role
from tidings.crypto import SecretBox
from tidings.errors import Conflict, NotFound, PermissionDenied
from tidings.features.channels.rows import (
    changed_values,
    insert_checked,
    name_taken,
    new_channel_row,
    update_checked,
)
from tidings.store import channels as repo
from tidings.store.engine import Database
from tidings.web.services import ServiceKey

# Channel settings change rarely; the send path resolves a channel per request.
CHANNEL_CACHE_SECONDS = 5.0


Lineage = Callable[[str], Awaitable[Sequence[str]]]  # an account and its ancestors, nearest first


class ChannelService:
    def __init__(self, db: Database, box: SecretBox, *, lineage: Lineage | None = None) -> None:
        self._db = db
        self._box = box
        self._lineage = lineage
        self._usable: TTLCache[dict[str, Any] | None] = TTLCache(CHANNEL_CACHE_SECONDS)
        self._listeners: list[Callable[[str], None]] = []

    def on_change(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(channel_id)`` after a channel changes or is deleted in this process
        (other holders of adapters, such as webhook parsing, drop theirs)."""
        self._listeners.append(listener)

    async def usable(self, lineage: Sequence[str], id_or_name: str | None) -> dict[str, Any] | None:
        """The channel an account with this lineage sends on (see ``find_usable_channel``)."""

        async def load() -> dict[str, Any] | None:
            async with self._db.read() as conn:
                return await repo.find_usable_channel(conn, lineage, id_or_name)

        return await self._usable.get_or_load((tuple(lineage), id_or_name), load)

    # -- reading -----------------------------------------------------------------------------

    async def list(
        self, principal: Principal, *, account_id: str | None = None, cursor: str | None = None, limit: int
    ) -> Page[dict[str, Any]]:
        """The channels the caller can send on (its account's and its ancestors'), or with
        ``account_id`` the own channels of that account (the caller's or a subaccount)."""
        paging = IDS.paging(cursor, limit)
        if account_id is None:
            accounts: Sequence[str] = await self._ancestry(principal.account_id)
        else:
            accounts = [principal.account_in_tree(account_id)]
        async with self._db.read() as conn:
            return paging.page(await repo.channels_of(conn, accounts, paging))

    async def get(self, principal: Principal, channel_id: str) -> dict[str, Any]:
        async with self._db.read() as conn:
            row = await repo.get_channel(conn, channel_id)
        if row is None or not await self._visible(principal, row["account_id"]):
            raise NotFound("no such channel", code="channel_not_found")
        return row

    @staticmethod
    def is_inherited(principal: Principal, row: Mapping[str, Any]) -> bool:
        """Whether the channel belongs to an ancestor: usable by the caller, not changeable."""
        return not principal.can_read(row["account_id"])

    # -- changing ----------------------------------------------------------------------------

    async def create(
        self,
        principal: Principal,
        *,
        type: str,
        name: str,
        credentials: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """A channel of the caller's account; ``options`` as :func:`new_channel_row` takes them,
        ``credentials`` as the type's ``credentials_model`` takes them (sealed before storing).
        Making it the default clears the account's previous default in the same transaction."""
        principal.require(Role.ADMIN)
        row = new_channel_row(
            principal.account_id, type=type, name=name, credentials=credentials, box=self._box, **options
        )
        try:
            async with self._db.write() as conn:
                await insert_checked(conn, row)
        except IntegrityError:  # a concurrent twin took the name between our check and insert
            raise name_taken(name) from None
        self._changed(row["id"])
        return row

    async def update(
        self, principal: Principal, channel_id: str, changes: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Apply the given fields: ``settings`` merge into the current ones (a ``None`` value
        resets that key), ``credentials`` replace the stored ones as a whole."""
        current = await self._changeable(principal, channel_id)
        values = changed_values(current, changes, self._box)
        if not values:
            return current
        try:
            async with self._db.write() as conn:
                await update_checked(conn, current, values)
        except IntegrityError:
            raise name_taken(values.get("name", current["name"])) from None
        self._changed(channel_id)
        return await self.get(principal, channel_id)

    async def delete(self, principal: Principal, channel_id: str) -> None:
        """Delete a channel no route uses and no unfinished message needs (else 409)."""
        current = await self._changeable(principal, channel_id)
        now = now_ms()
        async with self._db.write() as conn:
            await repo.lock_account_channels(conn, current["account_id"])
            used_by = await repo.routes_using(conn, channel_id)
            if used_by:
                raise Conflict(
                    f"{used_by} route(s) send on this channel or fall back to it; change them first",
                    code="channel_in_use",
                )
            if await repo.has_unfinished_messages(conn, channel_id, sent_since=now - RECEIPT_WINDOW_MS):
                raise Conflict(
                    "messages on this channel are not final yet; cancel them or wait",
                    code="channel_busy",
                )
            await repo.update_channel(
                conn, channel_id, {"deleted_at": now, "is_default": False, "updated_at": now}
            )
        self._changed(channel_id)

    # -- helpers -----------------------------------------------------------------------------

    async def _changeable(self, principal: Principal, channel_id: str) -> dict[str, Any]:
        principal.require(Role.ADMIN)
        current = await self.get(principal, channel_id)
        if self.is_inherited(principal, current):
            raise PermissionDenied(
                "this channel belongs to a parent account: it can be used, not changed",
                code="read_only_channel",
            )
        return current

    async def _visible(self, principal: Principal, account_id: str) -> bool:
        return principal.can_read(account_id) or account_id in await self._ancestry(principal.account_id)

    async def _ancestry(self, account_id: str) -> Sequence[str]:
        if self._lineage is None:
            return (account_id,)
        return await self._lineage(account_id)

    def _changed(self, channel_id: str) -> None:
        self._usable.clear()
        for listener in self._listeners:
            listener(channel_id)


# How routers reach this service (tidings.web.services).
CHANNELS: ServiceKey[ChannelService] = ServiceKey("channels")
