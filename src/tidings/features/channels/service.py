"""Creating and reading channels; each type validates its own settings and credentials.

Credentials are sealed with the instance secret before they reach the database and are never
returned: the row handed back carries ``credentials_ciphertext`` only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from tidings.cache import TTLCache
from tidings.channels.base import Channel
from tidings.channels.registry import channel_class, channel_type_names
from tidings.channels.stored import seal_credentials
from tidings.core.clock import now_ms
from tidings.core.ids import new_id
from tidings.core.tenancy import Principal, Role
from tidings.crypto import SecretBox
from tidings.errors import PermissionDenied, Unprocessable
from tidings.features.channels import repository as repo
from tidings.store.engine import Database

# Channel settings change rarely; the send path resolves a channel per request.
CHANNEL_CACHE_SECONDS = 5.0


class ChannelService:
    def __init__(self, db: Database, box: SecretBox) -> None:
        self._db = db
        self._box = box
        self._usable: TTLCache[dict[str, Any] | None] = TTLCache(CHANNEL_CACHE_SECONDS)

    async def usable(self, lineage: Sequence[str], id_or_name: str | None) -> dict[str, Any] | None:
        """The channel an account with this lineage sends on (see ``find_usable_channel``)."""

        async def load() -> dict[str, Any] | None:
            async with self._db.read() as conn:
                return await repo.find_usable_channel(conn, lineage, id_or_name)

        return await self._usable.get_or_load((tuple(lineage), id_or_name), load)

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
        ``credentials`` as the type's ``credentials_model`` takes them (sealed before storing)."""
        if not principal.allows(Role.ADMIN):
            raise PermissionDenied("this needs the admin role", code="forbidden")
        row = new_channel_row(
            principal.account_id, type=type, name=name, credentials=credentials, box=self._box, **options
        )
        async with self._db.write() as conn:
            await repo.insert_channel(conn, row)
        self._usable.clear()
        return row


def new_channel_row(
    account_id: str,
    *,
    type: str,
    name: str,
    settings: dict[str, Any] | None = None,
    senders: list[str] | None = None,
    mps: int | None = None,
    max_batch_size: int = 1,
    max_segments: int = 10,
    countries: list[str] | None = None,
    is_default: bool = False,
    credentials: Mapping[str, Any] | None = None,
    box: SecretBox | None = None,
) -> dict[str, Any]:
    """A validated channels row; settings and credentials are checked against the type's own
    models, and credentials sealed with ``box``."""
    try:
        cls = channel_class(type)
    except ValueError:
        raise Unprocessable(
            f"unknown channel type {type!r}; known: {', '.join(channel_type_names())}",
            code="unknown_channel_type",
            field="type",
        ) from None
    checked = _validated(cls.settings_model, settings, "settings")
    ciphertext = _sealed_credentials(cls, credentials, box)
    now = now_ms()
    return {
        "id": new_id("chn"),
        "account_id": account_id,
        "name": name,
        "type": type,
        "is_default": is_default,
        "senders": json.dumps(senders or []),
        "settings": checked.model_dump_json(),
        "credentials_ciphertext": ciphertext,
        "mps": mps,
        "max_batch_size": max_batch_size,
        "max_segments": max_segments,
        "countries": json.dumps(sorted(c.upper() for c in countries)) if countries else None,
        "created_at": now,
        "updated_at": now,
    }


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
