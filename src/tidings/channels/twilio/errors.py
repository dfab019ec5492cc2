"""Twilio's answers turned into :class:`SendError`: transient ones retry, the rest fail at once.

Error body (REST API 2010-04-01): ``{"code": 21211, "message": "...", "more_info": "...",
"status": 400}``. Codes: https://www.twilio.com/docs/api/errors
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidings.channels.base import SendError
from tidings.channels.http import parse_retry_after

# Twilio error codes that mean "not now" rather than "never", whatever the HTTP status says.
TRANSIENT_CODES = frozenset(
    {
        20429,  # too many requests
        20500,  # internal server error
        20503,  # service unavailable
        21611,  # this From has too many messages queued
        30001,  # queue overflow
    }
)

# Delivery failures reported on status callbacks (ErrorCode), for a readable detail.
DELIVERY_ERRORS = {
    30001: "queue overflow",
    30002: "account suspended",
    30003: "unreachable destination handset",
    30004: "message blocked",
    30005: "unknown destination handset",
    30006: "landline or unreachable carrier",
    30007: "message filtered by the carrier",
    30008: "unknown error",
    63016: "WhatsApp: outside the 24-hour session window; a template is needed",
}

MAX_MESSAGE_CHARS = 500


def error_for_response(status: int, payload: Any, retry_after: str | None) -> SendError:
    """The error for a non-2xx answer; ``payload`` is the decoded JSON body, if it was JSON."""
    body: Mapping[str, Any] = payload if isinstance(payload, Mapping) else {}
    code = body.get("code")
    twilio_code = code if isinstance(code, int) and not isinstance(code, bool) else None
    text = body.get("message")
    message = str(text)[:MAX_MESSAGE_CHARS] if text else f"Twilio answered HTTP {status}"
    name = f"twilio_{twilio_code}" if twilio_code is not None else f"twilio_http_{status}"
    transient = status == 429 or status >= 500 or twilio_code in TRANSIENT_CODES
    if transient:
        return SendError(name, message, retryable=True, retry_after=parse_retry_after(retry_after))
    return SendError(name, message, retryable=False)


def network_error(exc: BaseException) -> SendError:
    """Connection refused or reset, DNS, TLS, timeout: the request may not have arrived."""
    detail = str(exc)[:200] or "no detail"
    return SendError("twilio_network", f"{type(exc).__name__} talking to Twilio: {detail}", retryable=True)


def delivery_error(code: str | None, message: str | None = None) -> tuple[str | None, str | None]:
    """``(code, detail)`` for a status callback's ErrorCode, or a fetched Message's
    ``error_code`` with its ``error_message`` (used when the code is not in our table)."""
    if not code:
        return None, None
    detail = DELIVERY_ERRORS.get(int(code)) if code.isdigit() else None
    return f"twilio_{code}", detail or (message or "")[:MAX_MESSAGE_CHARS] or f"Twilio error {code}"
