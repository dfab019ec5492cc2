"""The seed's error shape, ``{"message": "<sentence>"}``: 400 for anything wrong in a request (its
only refusal, the no-TN answer included), 404 for a TN or session that is not there, and, since
a gateway has callers, 401 and 403. Every error leaves so, an unknown path and an unexpected
failure included; none carries a trace or a secret."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from tidings import errors
from tidings.web.responses import JSONResponse

log = logging.getLogger(__name__)

NO_TN_AVAILABLE = "Could not create session -- No virtual TNs available"
NO_SUCH_SESSION = "Session could not be deleted because it does not exist"
NO_SUCH_TN = "Virtual TN could not be deleted because it does not exist"

# Native refusals in the seed's words and statuses, by native error code.
_TRANSLATED: dict[str, tuple[int, str]] = {
    "pool_exhausted": (400, NO_TN_AVAILABLE),
    "number_exists": (400, "Virtual TN already exists"),
    "number_taken": (400, "Virtual TN already exists"),
    "proxy_number_not_found": (404, NO_SUCH_TN),
    "proxy_session_not_found": (404, NO_SUCH_SESSION),
    # The seed deletes a session when it ends: an ended one does not exist for it.
    "session_ended": (404, NO_SUCH_SESSION),
}
_STATUS = {
    errors.Unauthenticated: 401,
    errors.PermissionDenied: 403,
    errors.NotFound: 404,
    errors.RateLimited: 429,
}
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="tidings", Basic realm="tidings"'}


class BadRequest(errors.InvalidRequest):
    """A request the seed would refuse: 400 with the sentence, nothing changed."""


def message_json(message: str, status: int, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.TidingsError)
    async def _tidings(_: Request, exc: errors.TidingsError) -> JSONResponse:
        if exc.code in _TRANSLATED:
            return message_json(_TRANSLATED[exc.code][1], _TRANSLATED[exc.code][0])
        headers = None
        if isinstance(exc, errors.Unauthenticated):
            headers = CHALLENGE
        elif isinstance(exc, errors.RateLimited):
            headers = {"Retry-After": str(exc.retry_after)}
        # The native 409, 413 and 422 are the seed's 400s.
        status = next((code for cls, code in _STATUS.items() if isinstance(exc, cls)), 400)
        return message_json(exc.message, status, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        # Bodies are read by hand (requests.py) and no route takes parameters, so this is a
        # safety net: nothing leaves in another shape.
        return message_json("The request is not valid", 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Request refused")
        return message_json(message, exc.status_code, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Type and route only: the exception text may carry request data or secrets.
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
        return message_json("Something went wrong on our side; nothing was changed", 500)
