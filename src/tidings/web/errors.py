"""Every error leaves as the API's error JSON (docs/decisions/0002-api-conventions.md); nothing a
client sends can cause a 500 or a trace."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from tidings import errors
from tidings.web.responses import JSONResponse

log = logging.getLogger(__name__)

STATUS = {
    errors.InvalidRequest: 400,
    errors.Unauthenticated: 401,
    errors.PermissionDenied: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.PayloadTooLarge: 413,
    errors.Unprocessable: 422,
    errors.RateLimited: 429,
}

# Pydantic error types that mean "the request is shaped wrong" (400) rather than "a value is
# unacceptable" (422).
_MALFORMED = {
    "json_invalid",
    "json_type",
    "missing",
    "extra_forbidden",
    "model_type",
    "model_attributes_type",
}
_UNION_TAG = re.compile(r"^(str|int|float|bool|none|list\[.*\]|dict\[.*\]|function-.*|tagged-union\[.*\])$")


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


def error_response(exc: errors.TidingsError) -> JSONResponse:
    status = next((code for cls, code in STATUS.items() if isinstance(exc, cls)), 400)
    headers = {}
    if isinstance(exc, errors.RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, errors.Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="tidings", Basic realm="tidings"'
    return JSONResponse(error_body(exc.code, exc.message, exc.field), status_code=status, headers=headers)


def field_path(loc: Sequence[str | int]) -> str | None:
    """``("body", "to", 3)`` → ``to[3]``; ``("body", "messages", 2, "to")`` → ``messages[2].to``."""
    parts = [p for p in loc[1:] if not (isinstance(p, str) and _UNION_TAG.match(p))]
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path or None


def validation_response(exc: RequestValidationError) -> JSONResponse:
    problems = list(exc.errors())
    first = problems[0] if problems else {"type": "invalid", "loc": ("body",), "msg": "invalid request"}
    kind = str(first.get("type", "invalid"))
    loc = tuple(first.get("loc", ("body",)))
    field = field_path(loc)
    where = loc[0] if loc else "body"
    if kind == "json_invalid":
        return JSONResponse(error_body("invalid_json", "the request body is not valid JSON"), status_code=400)
    message = _sentence(kind, field, str(first.get("msg", "")))
    if where != "body":
        return JSONResponse(error_body("invalid_parameter", message, field), status_code=400)
    if kind in _MALFORMED or kind.endswith("_type"):
        code = {"missing": "missing_field", "extra_forbidden": "unknown_field"}.get(kind, "invalid_type")
        return JSONResponse(error_body(code, message, field), status_code=400)
    return JSONResponse(error_body("invalid_value", message, field), status_code=422)


def _sentence(kind: str, field: str | None, detail: str) -> str:
    name = field or "the request body"
    if kind == "missing":
        return f"{name} is required"
    if kind == "extra_forbidden":
        return f"{name} is not a known field"
    # Pydantic's own text is plain and carries no input values beyond the field's constraint.
    return f"{name}: {detail}" if detail else f"{name} is not valid"


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.TidingsError)
    async def _tidings(_: Request, exc: errors.TidingsError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
        message = {404: "no such endpoint", 405: "method not allowed on this endpoint"}.get(
            exc.status_code, str(exc.detail)
        )
        return JSONResponse(
            error_body(codes.get(exc.status_code, "http_error"), message),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Logged by type and route only: the exception text may carry request data or secrets.
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
        return JSONResponse(
            error_body("internal_error", "something went wrong on our side; nothing was changed"),
            status_code=500,
        )
