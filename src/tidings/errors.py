"""The exception tree every layer raises and the web layer turns into the API's error JSON
(``{"error": {code, message, field}}``, docs/decisions/0002-api-conventions.md).

TidingsError                 code, message, field
├── InvalidRequest           malformed request: bad JSON, wrong types, unknown fields (400)
├── Unauthenticated          missing or wrong credentials (401)
├── PermissionDenied         authenticated, but the role may not do this (403)
├── NotFound                 no such resource *for this caller* (404, also for other tenants')
├── Conflict                 the resource's state forbids the change (409)
├── PayloadTooLarge          too many recipients or too large a body (413)
├── Unprocessable            well-formed, but the values are unacceptable (422)
└── RateLimited              slow down; ``retry_after`` seconds (429)
"""

from __future__ import annotations


class TidingsError(Exception):
    """Base of every error a client can cause; carries a stable machine-readable code."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field = field


class InvalidRequest(TidingsError):
    code = "invalid_request"


class Unauthenticated(TidingsError):
    code = "unauthenticated"


class PermissionDenied(TidingsError):
    code = "permission_denied"


class NotFound(TidingsError):
    code = "not_found"


class Conflict(TidingsError):
    code = "conflict"


class PayloadTooLarge(TidingsError):
    code = "payload_too_large"


class Unprocessable(TidingsError):
    code = "unprocessable"


class RateLimited(TidingsError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after
