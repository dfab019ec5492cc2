"""Authentication: ``Authorization: Bearer <api key>`` or HTTP Basic ``<account id>:<auth token>``.

The web floor defines what it needs (:class:`Authenticator`); the accounts feature provides it,
registered under :data:`AUTHENTICATOR` by the app factory.
"""

from __future__ import annotations

import base64
import binascii
from typing import Protocol

from fastapi import Request

from tidings.core.tenancy import Principal
from tidings.errors import Unauthenticated
from tidings.web.services import ServiceKey


class Authenticator(Protocol):
    async def authenticate_key(self, secret: str) -> Principal: ...

    async def authenticate_basic(self, account_id: str, token: str) -> Principal: ...


AUTHENTICATOR: ServiceKey[Authenticator] = ServiceKey("authenticator")


async def authenticate(accounts: Authenticator, authorization: str | None) -> Principal:
    if not authorization:
        raise Unauthenticated("send an API key as `Authorization: Bearer <key>`", code="missing_credentials")
    scheme, _, value = authorization.partition(" ")
    scheme = scheme.lower()
    value = value.strip()
    if scheme == "bearer" and value:
        return await accounts.authenticate_key(value)
    if scheme == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthenticated("malformed Basic credentials", code="invalid_credentials") from None
        account_id, sep, token = decoded.partition(":")
        if not sep or not account_id or not token:
            raise Unauthenticated("malformed Basic credentials", code="invalid_credentials")
        return await accounts.authenticate_basic(account_id, token)
    raise Unauthenticated("unsupported Authorization scheme", code="invalid_credentials")


async def principal(request: Request) -> Principal:
    """FastAPI dependency: the authenticated caller of this request."""
    return await authenticate(AUTHENTICATOR.of(request.app), request.headers.get("authorization"))
