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

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.cache import TTLCache
from tidings.channels.base import Channel
from tidings.channels.registry import channel_class, channel_type_names
from tidings.channels.stored import open_credentials, seal_credentials
from tidings.core.clock import now_ms
from tidings.core.ids import new_id
from tidings.core.numbers import known_region
from tidings.core.tenancy import Principal, Role
from tidings.crypto import SecretBox
from tidings.errors import Conflict, NotFound, PermissionDenied, Unprocessable
from tidings.features.channels import repository as repo
from tidings.store.engine import Database

# Channel settings change rarely; the send path resolves a channel per request.
CHANNEL_CACHE_SECONDS = 5.0
# A channel with messages sent through it this recently may still get their receipts, so it is
# not deleted; older `sent` messages (a provider that never reported) no longer hold it.
RECEIPT_WINDOW_MS = 72 * 3600 * 1000

# Each message stores its sender in 64 characters.
MAX_SENDER_CHARS = 64

# Columns a change may set directly (settings and credentials go through their type's models).
_PLAIN_FIELDS = ("name", "senders", "mps", "max_batch_size", "max_segments", "countries", "is_default")

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
        self, principal: Principal, *, account_id: str | None = None, after: str | None = None, limit: int
    ) -> list[dict[str, Any]]:
        """The channels the caller can send on (its account's and its ancestors'), or with
        ``account_id`` the own channels of that account (the caller's or a subaccount)."""
        if account_id is None:
            accounts: Sequence[str] = await self._ancestry(principal.account_id)
        elif principal.can_read(account_id):
            accounts = [account_id]
        else:
            raise NotFound("no such account", code="account_not_found", field="account_id")
        async with self._db.read() as conn:
            return await repo.channels_of(conn, accounts, after=after, limit=limit)

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
        _require_admin(principal)
        row = new_channel_row(
            principal.account_id, type=type, name=name, credentials=credentials, box=self._box, **options
        )
        try:
            async with self._db.write() as conn:
                await insert_checked(conn, row)
        except IntegrityError:  # a concurrent twin took the name between our check and insert
            raise _name_taken(name) from None
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
            raise _name_taken(values.get("name", current["name"])) from None
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
        _require_admin(principal)
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


async def insert_checked(conn: AsyncConnection, row: dict[str, Any]) -> None:
    """Insert a channel row under the account's channel lock: a taken name is a 409, and a new
    default clears the old one."""
    await repo.lock_account_channels(conn, row["account_id"])
    if await repo.channel_named(conn, row["account_id"], row["name"]) is not None:
        raise _name_taken(row["name"])
    if row["is_default"]:
        await repo.clear_default(conn, row["account_id"], at=row["updated_at"])
    await repo.insert_channel(conn, row)


async def update_checked(conn: AsyncConnection, current: Mapping[str, Any], values: dict[str, Any]) -> None:
    """Write ``values`` (from :func:`changed_values`) over a channel, as :func:`insert_checked`
    checks a new one."""
    account_id = current["account_id"]
    await repo.lock_account_channels(conn, account_id)
    name = values.get("name")  # only present when it differs from the current name
    if name is not None and await repo.channel_named(conn, account_id, name) is not None:
        raise _name_taken(name)
    if values.get("is_default"):
        await repo.clear_default(conn, account_id, at=values["updated_at"])
    await repo.update_channel(conn, current["id"], values)


def new_channel_row(
    account_id: str,
    *,
    type: str,
    name: str,
    settings: Mapping[str, Any] | None = None,
    senders: Sequence[str] | None = None,
    mps: int | None = None,
    max_batch_size: int = 1,
    max_segments: int = 10,
    countries: Sequence[str] | None = None,
    is_default: bool = False,
    credentials: Mapping[str, Any] | None = None,
    box: SecretBox | None = None,
) -> dict[str, Any]:
    """A validated channels row; settings and credentials are checked against the type's own
    models, and credentials sealed with ``box``."""
    cls = _channel_type(type)
    checked = _validated(cls.settings_model, settings, "settings")
    ciphertext = _sealed_credentials(cls, credentials, box)
    now = now_ms()
    return {
        "id": new_id("chn"),
        "account_id": account_id,
        "name": name,
        "type": type,
        "is_default": is_default,
        "senders": _senders_json(senders),
        "settings": checked.model_dump_json(),
        "credentials_ciphertext": ciphertext,
        "mps": mps,
        "max_batch_size": max_batch_size,
        "max_segments": max_segments,
        "countries": _countries_json(countries),
        "created_at": now,
        "updated_at": now,
    }


def changed_values(current: Mapping[str, Any], changes: Mapping[str, Any], box: SecretBox) -> dict[str, Any]:
    """The columns to write for ``changes`` to a channel row, validated like a new channel's;
    only what actually differs (empty when nothing does), plus ``updated_at`` when anything does.
    """
    cls = _channel_type(current["type"])
    values: dict[str, Any] = {}
    for field in _PLAIN_FIELDS:
        if field not in changes:
            continue
        value = changes[field]
        if field == "senders":
            value = _senders_json(value)
        elif field == "countries":
            value = _countries_json(value)
        if value != current[field]:
            values[field] = value
    if "settings" in changes:
        merged = json.loads(current["settings"] or "{}")
        for key, value in (changes["settings"] or {}).items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        settings = _validated(cls.settings_model, merged, "settings").model_dump_json()
        if settings != current["settings"]:
            values["settings"] = settings
    if "credentials" in changes:
        wanted = _validated(cls.credentials_model, changes["credentials"], "credentials")
        stored = _stored_credentials(cls, current.get("credentials_ciphertext"), box)
        if stored is None or wanted != stored:
            values["credentials_ciphertext"] = _sealed_credentials(cls, changes["credentials"], box)
    if values:
        values["updated_at"] = max(now_ms(), current["updated_at"] + 1)  # always a new version
    return values


def _stored_credentials(cls: type[Channel], ciphertext: str | None, box: SecretBox) -> BaseModel | None:
    try:
        return open_credentials(cls, ciphertext, box)
    except ValueError:  # sealed with another instance secret, or unreadable: replace them
        return None


def _channel_type(type_name: str) -> type[Channel]:
    try:
        return channel_class(type_name)
    except ValueError:
        raise Unprocessable(
            f"unknown channel type {type_name!r}; known: {', '.join(channel_type_names())}",
            code="unknown_channel_type",
            field="type",
        ) from None


def _senders_json(senders: Sequence[str] | None) -> str:
    for index, sender in enumerate(senders or []):
        if not 1 <= len(sender) <= MAX_SENDER_CHARS:
            raise Unprocessable(
                f"a sender has 1 to {MAX_SENDER_CHARS} characters",
                code="invalid_value",
                field=f"senders[{index}]",
            )
    return json.dumps(list(dict.fromkeys(senders or [])))


def _countries_json(countries: Sequence[str] | None) -> str | None:
    """The allow-list as stored; empty or ``None`` is any country (stored as NULL)."""
    if not countries:
        return None
    codes = sorted({c.upper() for c in countries})
    for code in codes:
        if not known_region(code):
            raise Unprocessable(
                f"{code!r} is not an ISO 3166 country code", code="invalid_value", field="countries"
            )
    return json.dumps(codes)


def _name_taken(name: str) -> Conflict:
    return Conflict(f"a channel named {name!r} exists in this account", code="channel_exists", field="name")


def _validated(model: type[BaseModel], values: Mapping[str, Any] | None, where: str) -> BaseModel:
    try:
        return model.model_validate(values or {})
    except ValidationError as exc:
        # include_input=False: for credentials the rejected value is itself a secret.
        first = exc.errors(include_input=False, include_url=False)[0]
        field = ".".join([where, *(str(p) for p in first["loc"])])
        raise Unprocessable(f"{field}: {first['msg']}", code=f"invalid_{where}", field=field) from None


def _sealed_credentials(
    cls: type[Channel], values: Mapping[str, Any] | None, box: SecretBox | None
) -> str | None:
    checked = _validated(cls.credentials_model, values, "credentials")
    assert isinstance(checked, cls.credentials_model)
    if not type(checked).model_fields:
        return None
    if box is None:
        raise ValueError("credentials need the instance secret to be sealed")
    return seal_credentials(cls, checked, box)


def _require_admin(principal: Principal) -> None:
    if not principal.allows(Role.ADMIN):
        raise PermissionDenied("this needs the admin role", code="forbidden")
