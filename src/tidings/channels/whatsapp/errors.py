"""Meta's Graph API error answers turned into :class:`SendError`, classified by ``error.code``
(as Meta asks): transient ones retry, the rest fail at once."""

# Body: {"error": {"message": "(#131047) Re-engagement message", "type": "OAuthException",
# "code": 131047, "error_data": {"messaging_product": "whatsapp", "details": "..."},
# "error_subcode": ..., "fbtrace_id": "..."}}
# https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidings.channels.base import SendError

# Codes that mean "not now" rather than "never", whatever the HTTP status says.
TRANSIENT_CODES = frozenset(
    {
        2,  # API Service: temporary downtime or overload
        4,  # API Too Many Calls: the app's rate limit
        80007,  # the WhatsApp Business Account's rate limit
        130429,  # Cloud API throughput reached
        131000,  # Something went wrong (Meta: try again)
        131016,  # Service unavailable
        131048,  # spam rate limit: too many messages from this number were flagged
        131056,  # (business, consumer) pair rate limit: too many messages to one user
        131057,  # the business account is in maintenance mode
        133004,  # server temporarily unavailable
    }
)

# Delivery failures that say the handset could not be reached (a ``failed`` status with these is
# ``undelivered``); other codes on a failed status mean the message itself was refused.
UNDELIVERABLE_CODES = {
    131026: "message undeliverable: not on WhatsApp, old app version, or terms not accepted",
    131047: "re-engagement message: more than 24 hours since the customer last wrote; send a template",
    131049: "not delivered to maintain healthy ecosystem engagement",
    131050: "the user stopped marketing messages",
    130472: "the user's number is part of an experiment",
}

MAX_MESSAGE_CHARS = 500


def error_for_response(status: int, payload: Any) -> SendError:
    """The error for a non-2xx answer; ``payload`` is the decoded JSON body, if it was JSON."""
    body = payload.get("error") if isinstance(payload, Mapping) else None
    error: Mapping[str, Any] = body if isinstance(body, Mapping) else {}
    code = error.get("code")
    meta_code = code if isinstance(code, int) and not isinstance(code, bool) else None
    name = f"whatsapp_{meta_code}" if meta_code is not None else f"whatsapp_http_{status}"
    message = describe(error) or f"the Cloud API answered HTTP {status}"
    transient = status == 429 or status >= 500 or meta_code in TRANSIENT_CODES
    return SendError(name, message, retryable=transient)


def describe(error: Mapping[str, Any]) -> str:
    """Meta's ``message`` with ``error_data.details`` (where the useful part usually is)."""
    message = str(error.get("message") or error.get("title") or "")
    data = error.get("error_data")
    details = str(data.get("details") or "") if isinstance(data, Mapping) else ""
    text = f"{message}: {details}" if message and details and details != message else message or details
    return text[:MAX_MESSAGE_CHARS]


def network_error(exc: BaseException) -> SendError:
    """Connection refused or reset, DNS, TLS, timeout: the request may not have arrived."""
    detail = str(exc)[:200] or "no detail"
    return SendError(
        "whatsapp_network", f"{type(exc).__name__} talking to the Cloud API: {detail}", retryable=True
    )
