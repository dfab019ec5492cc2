"""The surface's error shape: ``{"error": "<sentence>"}`` with the HTTP status (the seed documents
only the 401 status, with no body). Every error leaves so, an unknown path and an unexpected
failure included; none carries a trace or a secret."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from tidings import errors
from tidings.web.responses import JSONResponse

log = logging.getLogger(__name__)

_STATUS = {
    errors.InvalidRequest: 400,
    errors.Unauthenticated: 401,
    errors.PermissionDenied: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.PayloadTooLarge: 413,
    errors.Unprocessable: 400,  # the seed knows bad input as 400 only
    errors.RateLimited: 429,
}


class BadInput(errors.InvalidRequest):
    """A request the seed's API would refuse: 400, nothing changed."""


class TooMany(errors.PayloadTooLarge):
    """More numbers than the gateway takes in one request: 413."""


def error_json(message: str, status: int, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.TidingsError)
    async def _tidings(_: Request, exc: errors.TidingsError) -> JSONResponse:
        status = next((code for cls, code in _STATUS.items() if isinstance(exc, cls)), 400)
        headers = {}
        if isinstance(exc, errors.Unauthenticated):
            headers["WWW-Authenticate"] = 'Basic realm="tidings", Bearer realm="tidings"'
        if isinstance(exc, errors.RateLimited):
            headers["Retry-After"] = str(exc.retry_after)
        return error_json(exc.message, status, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        # Bodies are read by hand (requests.py); this is only a path parameter FastAPI refused.
        return error_json("the request is not valid", 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = {404: "no such endpoint", 405: "method not allowed on this endpoint"}.get(
            exc.status_code, "the request was refused"
        )
        return error_json(message, exc.status_code, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Type and route only: the exception text may carry request data or secrets.
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
        return error_json("something went wrong on our side; nothing was changed", 500)
