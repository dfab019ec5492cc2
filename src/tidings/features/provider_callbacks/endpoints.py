"""``POST /webhooks/{channel_id}/{kind}``: providers' status callbacks and inbound messages;
``GET`` on the same path: subscription handshakes. No API key: the provider's signature (or
verify token) is the authentication, checked by the channel.

POSTs are served by :class:`CallbackIngress`, a plain ASGI layer in front of FastAPI: a provider
calls back two or three times per message sent, and FastAPI's routing, request object and
dependency handling cost more than verifying and storing the callback (measured: 40 % of the
main thread under a Twilio bulk send). The rare GET handshake stays an ordinary route.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from tidings.channels.base import CallbackError, CallbackRequest
from tidings.features.provider_callbacks.service import CALLBACKS
from tidings.web.errors import error_body
from tidings.web.responses import JSONResponse

router = APIRouter(tags=["webhooks"])

PREFIX = "/webhooks/"
# Providers post a few kilobytes at most (Twilio: ~1 KB plus up to ten media URLs).
MAX_WEBHOOK_BYTES = 256 * 1024


@router.get(
    "/webhooks/{channel_id}/{kind}",
    responses={
        200: {"description": "The handshake succeeded; the body is what the provider expects back"},
        403: {"description": "The verify token is missing or wrong"},
        404: {"description": "No such channel, or it takes no GET of this kind"},
    },
)
async def verify_webhook(request: Request, channel_id: str, kind: str) -> Response:
    """A provider's subscription handshake (Meta's ``hub.challenge``), answered by the channel."""
    callback = CallbackRequest(
        kind=kind,
        query=request.scope.get("query_string", b"").decode("latin-1"),
        headers={name.lower(): value for name, value in request.headers.items()},
        body=b"",
        method="GET",
    )
    try:
        reply = await CALLBACKS.of(request.app).handle(channel_id, callback)
    except CallbackError as exc:
        return JSONResponse(error_body(exc.code, exc.message), status_code=exc.status)
    return Response(reply.body, status_code=reply.status, media_type=reply.content_type)


def document(openapi: dict[str, Any]) -> dict[str, Any]:
    """Describe the POST that :class:`CallbackIngress` serves, beside the GET route's own entry."""
    operation = {
        "tags": ["webhooks"],
        "summary": "Receive Webhook",
        "description": "A provider's webhook, in the provider's own format, verified by the channel.",
        "operationId": "receive_webhook",
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string", "title": title}}
            for name, title in (("channel_id", "Channel Id"), ("kind", "Kind"))
        ],
        "requestBody": {"content": {"application/x-www-form-urlencoded": {}, "application/json": {}}},
        "responses": {
            "200": {"description": "Taken; the body is what the provider expects back"},
            "403": {"description": "The signature is missing or wrong; nothing was stored"},
            "404": {"description": "No such channel, or it takes no webhook of this kind"},
            "413": {"description": "The body is over 256 KiB"},
        },
    }
    openapi.setdefault("paths", {}).setdefault("/webhooks/{channel_id}/{kind}", {})["post"] = operation
    return openapi


class CallbackIngress:
    """Serves ``POST /webhooks/{channel_id}/{kind}``; everything else goes on to ``app``.

    An exception escaping here reaches Starlette's outermost error middleware, which answers
    with the app's generic 500 like any route's.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        channel_id, _, kind = scope["path"][len(PREFIX) :].partition("/")
        if not channel_id or not kind or "/" in kind:
            await self.app(scope, receive, send)  # not a callback path: FastAPI's 404
            return
        try:
            body = await _read_body(receive)
        except _ClientGone:
            return
        if body is None:
            too_large = error_body("payload_too_large", "webhook bodies are limited to 256 KiB")
            await _send_json(send, 413, too_large)
            return
        callback = CallbackRequest(
            kind=kind,
            # Raw, as sent: the signature covers the query string exactly as the provider wrote it.
            query=scope.get("query_string", b"").decode("latin-1"),
            headers={name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]},
            body=body,
        )
        try:
            reply = await CALLBACKS.of(scope["app"]).handle(channel_id, callback)
        except CallbackError as exc:
            await _send_json(send, exc.status, error_body(exc.code, exc.message))
            return
        await _send(send, reply.status, reply.content_type, reply.body)


class _ClientGone(Exception):
    """The provider hung up before its body was read: nothing to verify or answer."""


async def _read_body(receive: Receive) -> bytes | None:
    """The whole body, or None once it passes :data:`MAX_WEBHOOK_BYTES`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise _ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_WEBHOOK_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _send_json(send: Send, status: int, content: dict[str, Any]) -> None:
    await _send(send, status, "application/json", orjson.dumps(content))


async def _send(send: Send, status: int, content_type: str, body: bytes) -> None:
    if content_type.startswith("text/") and "charset" not in content_type:
        content_type += "; charset=utf-8"
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
