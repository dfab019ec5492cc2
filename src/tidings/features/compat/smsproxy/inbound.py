"""``POST /``: Flowroute's inbound message callback, handed to the native inbound path.

Flowroute signs nothing and sends no credentials: it POSTs to the URL it was given, query string
included (see ``tidings.channels.flowroute.auth``). So the callback URL carries the account and a
token only that account's admins can read (``GET /callback_url``):
``/compat/smsproxy/?account_id=AC…&token=…``, the token an HMAC of the account id under the
surface's key. A caller may instead send the account's credentials like any other call.
Either way the message counts only if its ``to`` is a virtual TN of *that* account: nobody can
write into another account's sessions.
"""

from __future__ import annotations

import hashlib
import hmac

from tidings.channels.base import CallbackError, InboundMessage
from tidings.channels.flowroute import callbacks
from tidings.errors import Unauthenticated
from tidings.features.compat.smsproxy.exceptions import BadRequest

ACCOUNT_PARAMETER = "account_id"
TOKEN_PARAMETER = "token"
_CONTEXT = b"tidings compat smsproxy inbound:"


class InboundTokens:
    """The per-account tokens of callback URLs, under one key (the surface's ``inbound_secret``,
    else one derived from the instance secret, so they survive restarts)."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(_CONTEXT + secret.encode()).digest()

    def token(self, account_id: str) -> str:
        return hmac.new(self._key, account_id.encode(), hashlib.sha256).hexdigest()

    def account(self, account_id: str | None, token: str | None) -> str:
        """The account a callback URL names, once its token checks out; 401 otherwise."""
        if not account_id or not token:
            raise Unauthenticated(
                "send the account's credentials, or use the callback URL of GET /callback_url"
            )
        # Constant-time: the comparison must not tell a caller how much of a guess was right.
        if not hmac.compare_digest(self.token(account_id).encode(), token.encode()):
            raise Unauthenticated("the callback token does not match the account")
        return account_id


def flowroute_message(body: bytes) -> InboundMessage:
    """The message of Flowroute's callback body (JSON:API ``data.attributes`` with ``from``,
    ``to``, ``body``; or its older flat ``{"to", "from", "body", "id"}``), read by the native
    Flowroute channel's own parser; numbers come out as ``+1…``."""
    try:
        return callbacks.inbound(callbacks.parse_document(body))
    except CallbackError as exc:
        raise BadRequest(f"Malformed inbound message: {exc.message}") from None
