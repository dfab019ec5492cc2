"""Twilio's webhooks, posted by the native deliverer: ``StatusCallback`` and ``SmsUrl`` form posts
signed with ``X-Twilio-Signature`` (docs/twilio-compat.md).

:data:`TWILIO_CALLBACKS` is a delivery format (``tidings.webhooks.formats``) the runtime hands to
the deliverer, which stays below the features and never imports this surface. Outbox rows of
format ``twilio`` come from sends the Twilio surface made with ``callback_format=TWILIO_FORMAT``
(their status callbacks) and from inbound messages of accounts with a ``twilio_sms_url``.
Claiming, order per message, retries and give-up are the deliverer's, as for native webhooks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping, Set
from typing import Any
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import Connection, select

from tidings.core.events import TWILIO_FORMAT, carries_error
from tidings.core.statuses import MessageStatus
from tidings.crypto import SecretBox
from tidings.features.compat.twilio.messages.responses import MESSAGE_LETTERS
from tidings.features.compat.twilio.messages.statuses import UNKNOWN_ERROR, twilio_error_code, twilio_status
from tidings.features.compat.twilio.sids import to_sid
from tidings.store.outbox import ClaimedDelivery
from tidings.store.schema import accounts

API_VERSION = "2010-04-01"
SIGNATURE_HEADER = "X-Twilio-Signature"
IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def twilio_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """``X-Twilio-Signature`` of a form POST to ``url``, as the SDK's ``RequestValidator`` computes
    it: the URL exactly as configured, then each name (sorted by code point) followed by its
    value (a repeated name once per distinct value, values sorted), HMAC-SHA1 with the auth
    token, base64."""
    by_name: dict[str, set[str]] = {}
    for name, value in params:
        by_name.setdefault(name, set()).add(value)
    signed = url + "".join(name + value for name in sorted(by_name) for value in sorted(by_name[name]))
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def message_sid(native_id: str) -> str:
    """The ``SM…`` SID of a native message id (the surface's bijection, ``sids.py``)."""
    return to_sid(MESSAGE_LETTERS, native_id)


def callback_fields(event: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The form fields announcing ``event`` (a message row plus ``event_*`` keys): a status
    callback for an outbound message, the inbound fields for a received one."""
    sid = message_sid(event["id"])
    status = twilio_status(event["event_status"])
    fields = [("MessageSid", sid), ("SmsSid", sid), ("AccountSid", event["account_id"])]
    if event["sender"] is not None:
        fields.append(("From", event["sender"]))
    fields.append(("To", event["recipient"]))
    if status == MessageStatus.RECEIVED.value:
        fields += [
            ("SmsMessageSid", sid),
            ("Body", event["body"]),
            ("NumMedia", "0"),
            ("NumSegments", str(max(event["segments"], 1))),
            ("SmsStatus", status),
        ]
    else:
        fields += [("MessageStatus", status), ("SmsStatus", status)]
        if carries_error(event["event_status"]):
            code = twilio_error_code(event["event_code"]) or UNKNOWN_ERROR
            fields.append(("ErrorCode", str(code)))
    fields.append(("ApiVersion", API_VERSION))
    return fields


class TwilioCallbacks:
    """The ``twilio`` delivery format: Twilio's form post, signed with the auth token of the
    account that owns the message."""

    name: str | None = TWILIO_FORMAT

    def render(self, event: Mapping[str, Any]) -> str:
        return urlencode(callback_fields(event))

    def signing_keys(
        self, conn: Connection, box: SecretBox, account_ids: Set[str], *, now: int
    ) -> dict[str, str]:
        rows = conn.execute(
            select(accounts.c.id, accounts.c.auth_token_ciphertext).where(
                accounts.c.id.in_(sorted(account_ids))
            )
        )
        return {account_id: box.open(sealed) for account_id, sealed in rows}

    def headers(
        self, *, key: str, url: str, body: bytes, event_id: str, delivery: ClaimedDelivery
    ) -> dict[str, str]:
        params = parse_qsl(body.decode(), keep_blank_values=True)
        return {
            "Content-Type": FORM_CONTENT_TYPE,
            SIGNATURE_HEADER: twilio_signature(key, url, params),
            # The same on every retry of one delivery, as Twilio's: receivers dedupe on it.
            IDEMPOTENCY_HEADER: f"{event_id}-{delivery.id}",
        }


TWILIO_CALLBACKS = TwilioCallbacks()
