"""Flowroute's answers turned into :class:`SendError`: transient ones retry, the rest fail at once.

Error body (JSON:API): ``{"errors": [{"detail": "...", "id": "<uuid>", "status": 422, "title":
"..."}]}``. The ``id`` names one occurrence, not a kind of error, so codes come from the HTTP
status: ``flowroute_http_<status>``. https://developer.flowroute.com/api/messages/v2.1/ and
the OpenAPI ``Error`` schema in github.com/flowroute/flowroute-sdk-v3-python.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tidings.channels.base import SendError

# The same RFC 9110 reading (seconds or HTTP date, capped at an hour) for every provider.
from tidings.channels.http import parse_retry_after

MAX_MESSAGE_CHARS = 500
_SLUG = re.compile(r"[^a-z0-9]+")


def error_for_response(status: int, payload: Any, retry_after: str | None) -> SendError:
    """The error for a non-2xx answer; ``payload`` is the decoded JSON body, if it was JSON.

    429 (Flowroute throttles at 5 SMS or 1 MMS a second) and 5xx are worth retrying; every other
    4xx (401 credentials, 403 a sender not on the account, 404, 422 an invalid number or body)
    fails at once.
    """
    name = f"flowroute_http_{status}"
    message = _first_error_text(payload) or f"Flowroute answered HTTP {status}"
    if status == 429 or status >= 500:
        return SendError(name, message, retryable=True, retry_after=parse_retry_after(retry_after))
    return SendError(name, message, retryable=False)


def _first_error_text(payload: Any) -> str | None:
    errors = payload.get("errors") if isinstance(payload, Mapping) else None
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], Mapping):
        return None
    first = errors[0]
    text = first.get("detail") or first.get("title")
    if not isinstance(text, str) or not text:
        return None
    # The occurrence id is what Flowroute support asks for.
    reference = first.get("id")
    if isinstance(reference, str) and reference:
        text = f"{text} (Flowroute error id {reference})"
    return text[:MAX_MESSAGE_CHARS]


def network_error(exc: BaseException) -> SendError:
    """Connection refused or reset, DNS, TLS, timeout: the request may not have arrived."""
    detail = str(exc)[:200] or "no detail"
    return SendError(
        "flowroute_network", f"{type(exc).__name__} talking to Flowroute: {detail}", retryable=True
    )


def delivery_error(status: str, status_code: object, description: object) -> tuple[str, str]:
    """``(code, detail)`` for a delivery receipt that reports non-delivery.

    ``status_code`` is a string in DLR callbacks and an integer in message records; either way
    it becomes ``flowroute_<status_code>``, and without one the status names the code.
    """
    code_text = str(status_code).strip() if status_code not in (None, "") else ""
    if code_text and code_text.isdigit():
        code = f"flowroute_{code_text}"
    else:
        code = "flowroute_" + (_SLUG.sub("_", status.lower()).strip("_") or "undelivered")
    detail = description if isinstance(description, str) and description else status
    return code, detail[:MAX_MESSAGE_CHARS]
