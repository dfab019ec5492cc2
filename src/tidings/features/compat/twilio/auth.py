"""Who is calling, in Twilio's terms, and which account a path's ``{AccountSid}`` may name.

Twilio's clients authenticate with HTTP Basic: ``AC…:auth_token`` (an account or a subaccount
with its own token), or ``SK…:secret``, an API key. The native authenticator checks both; an SK
SID is the arithmetic image of the native key id (``sids.py``), so the secret must belong to
exactly that key. A native Bearer key is accepted too: it is the same credential.
"""

from __future__ import annotations

import base64
import binascii

from fastapi import Request

from tidings.core.tenancy import Principal
from tidings.errors import NotFound, Unauthenticated
from tidings.features.compat.twilio.exceptions import AUTHENTICATION, TwilioError, not_found
from tidings.features.compat.twilio.sids import ACCOUNT_SID, is_sid, to_sid
from tidings.web.auth import AUTHENTICATOR, Authenticator

API_KEY_LETTERS = "SK"
API_KEY_PREFIX = "key"


def authentication_failed() -> TwilioError:
    return TwilioError(AUTHENTICATION, "Authenticate", 401)


async def twilio_principal(request: Request) -> Principal:
    """FastAPI dependency: the authenticated caller, or a 401 20003 with Twilio's challenge."""
    try:
        return await _authenticate(AUTHENTICATOR.of(request.app), request.headers.get("authorization"))
    except Unauthenticated:
        raise authentication_failed() from None


async def _authenticate(accounts: Authenticator, authorization: str | None) -> Principal:
    scheme, _, value = (authorization or "").partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return await accounts.authenticate_key(value)
    if scheme.lower() != "basic" or not value:
        raise authentication_failed()
    try:
        user, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise authentication_failed() from None
    if not sep or not user or not password:
        raise authentication_failed()
    if is_sid(user, API_KEY_LETTERS):
        caller = await accounts.authenticate_key(password)
        # The secret is some valid key; it must be the very key the SID names, so an SK SID
        # never works with another key's secret.
        if (
            caller.key_id is None
            or to_sid(API_KEY_LETTERS, caller.key_id) != API_KEY_LETTERS + user[2:].lower()
        ):
            raise authentication_failed()
        return caller
    if not ACCOUNT_SID.fullmatch(user):
        raise authentication_failed()
    return await accounts.authenticate_basic(user, password)


def path_account(caller: Principal, account_sid: str) -> str:
    """The account ``{AccountSid}`` names when the caller may act for it: its own or one below it
    in its tree. Any other (a parent's, a sibling's, one that does not exist) is the same 20404,
    so nothing tells them apart."""
    if not ACCOUNT_SID.fullmatch(account_sid):
        raise not_found()
    try:
        return caller.account_in_tree(account_sid)
    except NotFound:
        raise not_found() from None


def acting_as(caller: Principal, account_id: str) -> Principal:
    """The caller narrowed to the one account a path names (its own or a subaccount), as Twilio
    scopes a request to the account in its URL: ``/Accounts/{parent}/Messages.json`` lists the
    parent's messages, not its subaccounts', and a parent sends as its subaccount through that
    subaccount's path."""
    return Principal(account_id, caller.role, frozenset({account_id}), caller.key_id)
