"""The seed's HTTP Basic login, mapped onto an account's credentials.

The seed had one username and password in its environment. Here the username and password are
either an account id and its auth token (``AC…:<auth token>``, as the native Basic login), or
any username with an API key as the password (the key says whose account it is). A Bearer API
key is taken too. Every failure is the seed's 401."""

from __future__ import annotations

import base64
import binascii
import re

from fastapi import Request

from tidings.core.tenancy import Principal
from tidings.errors import Unauthenticated
from tidings.web.auth import AUTHENTICATOR, authenticate

_ACCOUNT_ID = re.compile(r"AC[0-9a-f]{32}")


async def caller(request: Request) -> Principal:
    accounts = AUTHENTICATOR.of(request.app)
    header = request.headers.get("authorization") or ""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return await authenticate(accounts, header or None)
    try:
        username, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthenticated("malformed Basic credentials") from None
    if not sep or not password:
        raise Unauthenticated("malformed Basic credentials")
    if _ACCOUNT_ID.fullmatch(username):
        return await accounts.authenticate_basic(username, password)
    return await accounts.authenticate_key(password)
