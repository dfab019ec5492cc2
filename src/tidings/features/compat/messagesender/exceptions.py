"""The seed's error shape, ``{"error": "<sentence>"}``: 401 ``Unauthorized access`` with its
``WWW-Authenticate``, 400 for anything wrong in a request. Every error leaves so, an unknown
path and an unexpected failure included; none carries a trace or a secret."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from tidings import errors
from tidings.web.responses import JSONResponse

log = logging.getLogger(__name__)

UNAUTHORIZED = "Unauthorized access"
PAST_DATE = "Date must be in a future!"
# As the seed's HTTP Basic library answers.
CHALLENGE = {"WWW-Authenticate": 'Basic realm="Authentication Required"'}

_STATUS = {
    errors.PermissionDenied: 403,
    errors.NotFound: 404,
    errors.RateLimited: 429,
}


class BadInput(errors.InvalidRequest):
    """A request the seed would refuse: 400 with the sentence, nothing changed."""


def error_json(message: str, status: int, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.TidingsError)
    async def _tidings(_: Request, exc: errors.TidingsError) -> JSONResponse:
        if isinstance(exc, errors.Unauthenticated):
            return error_json(UNAUTHORIZED, 401, CHALLENGE)
        if isinstance(exc, errors.RateLimited):
            return error_json(exc.message, 429, {"Retry-After": str(exc.retry_after)})
        # The seed knows bad input as 400 only: the native 409, 413 and 422 are 400s here.
        status = next((code for cls, code in _STATUS.items() if isinstance(exc, cls)), 400)
        return error_json(exc.message, status)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        # Bodies are read by hand (requests.py); nothing else of a request is validated.
        return error_json("The request is not valid", 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Request refused")
        return error_json(message, exc.status_code, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Type and route only: the exception text may carry request data or secrets.
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
        return error_json("Something went wrong on our side; nothing was changed", 500)
