"""Channel rows built and checked: each type validates its own settings and credentials, which
are sealed with the instance secret before they reach the database. Shared by the channels
service, account bootstrap (the sandbox channel) and the TOML declarations."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.channels.base import Channel
from tidings.channels.registry import channel_class, channel_type_names
from tidings.channels.stored import open_credentials, seal_credentials
from tidings.core.clock import now_ms
from tidings.core.ids import new_id
from tidings.core.numbers import known_region
from tidings.crypto import SecretBox
from tidings.errors import Conflict, Unprocessable
from tidings.store import channels as repo

# Each message stores its sender in 64 characters.
MAX_SENDER_CHARS = 64

# Columns a change may set directly (settings and credentials go through their type's models).
_PLAIN_FIELDS = ("name", "senders", "mps", "max_batch_size", "max_segments", "countries", "is_default")


async def insert_checked(conn: AsyncConnection, row: dict[str, Any]) -> None:
    """Insert a channel row under the account's channel lock: a taken name is a 409, and a new
    default clears the old one."""
    await repo.lock_account_channels(conn, row["account_id"])
    if await repo.channel_named(conn, row["account_id"], row["name"]) is not None:
        raise name_taken(row["name"])
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
        raise name_taken(name)
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


def name_taken(name: str) -> Conflict:
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
