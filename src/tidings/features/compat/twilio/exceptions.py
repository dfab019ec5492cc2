"""Twilio's error body, and the handlers that make every error of the surface leave in it.

``{"code", "message", "more_info", "status"}`` with the HTTP status equal to ``status``: what
the official SDKs parse into ``TwilioRestException``. Never ``type`` + ``title`` (RFC 9457): the
Python SDK then raises a different exception, which code catching ``TwilioRestException`` misses.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from tidings import errors
from tidings.features.compat.twilio.locations import product_path
from tidings.web.responses import JSONResponse

log = logging.getLogger(__name__)

MORE_INFO = "https://www.twilio.com/docs/errors/{code}"
# The realm Twilio names, so a client that reads the challenge sees what it expects.
CHALLENGE = {"WWW-Authenticate": 'Basic realm="Twilio API"'}

NOT_FOUND = 20404
AUTHENTICATION = 20003
TOO_MANY_REQUESTS = 20429
UNKNOWN_PARAMETER = 20001  # Twilio: "Unknown parameters"
INVALID_PARAMETER = 21200  # Twilio's generic "invalid parameter" in the 212xx range
METHOD_NOT_ALLOWED = 20004
INTERNAL = 20500


class TwilioError(Exception):
    """An error in Twilio's terms: its numeric code, a message and the HTTP status."""

    def __init__(self, code: int, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class ResourceNotFound(TwilioError):
    """A 20404 whose message names the requested path, as Twilio's does; the handler fills it
    in, so code deep in a lookup need not know the URL."""

    def __init__(self) -> None:
        super().__init__(NOT_FOUND, "", 404)


def not_found() -> ResourceNotFound:
    return ResourceNotFound()


def unknown_parameter(name: str) -> TwilioError:
    return TwilioError(UNKNOWN_PARAMETER, f"Unknown parameter: {name} is not supported by this resource")


def unsupported_parameter(name: str, why: str) -> TwilioError:
    """A parameter Twilio has and Tidings cannot honour: refused, never silently ignored."""
    return TwilioError(UNKNOWN_PARAMETER, f"{name} is not supported: {why}")


def invalid_parameter(name: str, problem: str, code: int = INVALID_PARAMETER) -> TwilioError:
    return TwilioError(code, f"Invalid parameter {name}: {problem}")


def error_body(code: int, message: str, status: int) -> dict[str, Any]:
    return {"code": code, "message": message, "more_info": MORE_INFO.format(code=code), "status": status}


def twilio_response(exc: TwilioError, request: Request) -> JSONResponse:
    message = exc.message
    if isinstance(exc, ResourceNotFound):
        message = f"The requested resource {product_path(request)} was not found"
    headers = CHALLENGE if exc.code == AUTHENTICATION and exc.status == 401 else None
    return JSONResponse(error_body(exc.code, message, exc.status), status_code=exc.status, headers=headers)


def translate(exc: errors.TidingsError) -> TwilioError:
    """A native service's refusal in Twilio's terms. The native message is kept: it names the
    field and the reason, which no Twilio code says as precisely."""
    if isinstance(exc, errors.NotFound):
        return ResourceNotFound()
    if isinstance(exc, errors.Unauthenticated):
        return TwilioError(AUTHENTICATION, "Authenticate", 401)
    if isinstance(exc, errors.PermissionDenied):
        # Twilio answers a credential that may not do something with 20003 and 403.
        return TwilioError(AUTHENTICATION, f"Permission denied: {exc.message}", 403)
    if isinstance(exc, errors.RateLimited):
        return TwilioError(TOO_MANY_REQUESTS, "Too Many Requests", 429)
    if isinstance(exc, errors.PayloadTooLarge):
        return TwilioError(INVALID_PARAMETER, exc.message, 413)
    return TwilioError(INVALID_PARAMETER, exc.message, 400)


def install_handlers(app: FastAPI) -> None:
    """Every error the sub-app can meet leaves as Twilio's body; nothing a client sends is a 500."""

    @app.exception_handler(TwilioError)
    async def _twilio(request: Request, exc: TwilioError) -> JSONResponse:
        return twilio_response(exc, request)

    @app.exception_handler(errors.TidingsError)
    async def _native(request: Request, exc: errors.TidingsError) -> JSONResponse:
        response = twilio_response(translate(exc), request)
        if isinstance(exc, errors.RateLimited):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = list(exc.errors())
        first = problems[0] if problems else {}
        where = ".".join(str(part) for part in first.get("loc", ())[1:]) or "request"
        message = f"Invalid parameter {where}: {first.get('msg', 'invalid')}"
        return twilio_response(TwilioError(INVALID_PARAMETER, message), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return twilio_response(ResourceNotFound(), request)
        if exc.status_code == 405:
            error = TwilioError(METHOD_NOT_ALLOWED, f"Method not allowed: {request.method}", 405)
            return twilio_response(error, request)
        code = INTERNAL if exc.status_code >= 500 else INVALID_PARAMETER
        return twilio_response(TwilioError(code, str(exc.detail), exc.status_code), request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The type and path only: an exception's text may carry a body or a secret.
        log.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path)
        return twilio_response(TwilioError(INTERNAL, "Internal Server Error", 500), request)
