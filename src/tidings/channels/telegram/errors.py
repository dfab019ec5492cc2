"""The Bot API's answers turned into :class:`SendError`: transient ones retry, the rest fail at once.

An error answer is ``{"ok": false, "error_code": 403, "description": "Forbidden: bot was blocked
by the user", "parameters": {"retry_after": 5}}``; ``parameters`` (ResponseParameters) is
optional. https://core.telegram.org/bots/api#making-requests and #responseparameters
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from tidings.channels.base import SendError
from tidings.channels.http import MAX_RETRY_AFTER_SECONDS

MAX_MESSAGE_CHARS = 500
TOKEN_MASK = "<bot token>"


def error_for_response(status: int, payload: Any) -> SendError:
    """The error for an answer with ``ok: false`` or a non-2xx status; ``payload`` is the decoded
    JSON body, if it was JSON (a proxy's 502 page is not)."""
    body: Mapping[str, Any] = payload if isinstance(payload, Mapping) else {}
    raw_code = body.get("error_code")
    error_code = raw_code if isinstance(raw_code, int) and not isinstance(raw_code, bool) else None
    text = body.get("description")
    message = str(text)[:MAX_MESSAGE_CHARS] if text else f"the Bot API answered HTTP {status}"
    name = f"telegram_{error_code}" if error_code is not None else f"telegram_http_{status}"
    # 429 is flood control; 5xx (and a proxy's non-JSON 502/504) mean Telegram did not get to it.
    # Every other code (400 chat not found, 403 bot blocked, 401 bad token...) will not change.
    if 429 in (status, error_code) or status >= 500 or (error_code or 0) >= 500:
        return SendError(name, message, retryable=True, retry_after=retry_after(body))
    migrated = _parameters(body).get("migrate_to_chat_id")
    if isinstance(migrated, int):
        # The group became a supergroup: the message needs re-addressing, not a retry.
        message = f"{message} (the chat is now telegram:{migrated})"[:MAX_MESSAGE_CHARS]
    return SendError(name, message, retryable=False)


def retry_after(body: Mapping[str, Any]) -> float | None:
    """Seconds to wait, from ``parameters.retry_after`` (the Bot API sends no Retry-After header)."""
    seconds = _parameters(body).get("retry_after")
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return None
    return min(max(float(seconds), 0.0), MAX_RETRY_AFTER_SECONDS)


def network_error(exc: BaseException, token: str) -> SendError:
    """Connection refused or reset, DNS, TLS, timeout: the request may not have arrived.

    The token is in the request path; should an exception's text ever quote the path, it is
    masked here, because this message is stored with the message and logged.
    """
    detail = redact(str(exc), token)[:200] or "no detail"
    return SendError(
        "telegram_network", f"{type(exc).__name__} talking to the Bot API: {detail}", retryable=True
    )


def redact(text: str, token: str) -> str:
    """``text`` with the bot token masked, raw or percent-encoded."""
    for form in {token, quote(token, safe=""), quote(token)}:
        text = text.replace(form, TOKEN_MASK)
    return text


def _parameters(body: Mapping[str, Any]) -> Mapping[str, Any]:
    parameters = body.get("parameters")
    return parameters if isinstance(parameters, Mapping) else {}
