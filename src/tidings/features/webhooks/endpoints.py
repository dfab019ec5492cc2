"""``POST /webhooks/{channel_id}/{kind}``: providers' status callbacks and inbound messages;
``GET`` on the same path: subscription handshakes. No API key: the provider's signature (or
verify token) is the authentication, checked by the channel.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from tidings.channels.base import WebhookError, WebhookRequest
from tidings.web.errors import error_body
from tidings.web.responses import JSONResponse

router = APIRouter(tags=["webhooks"])

# Providers post a few kilobytes at most (Twilio: ~1 KB plus up to ten media URLs).
MAX_WEBHOOK_BYTES = 256 * 1024


@router.post(
    "/webhooks/{channel_id}/{kind}",
    responses={
        200: {"description": "Taken; the body is what the provider expects back"},
        403: {"description": "The signature is missing or wrong; nothing was stored"},
        404: {"description": "No such channel, or it takes no webhook of this kind"},
    },
)
async def receive_webhook(request: Request, channel_id: str, kind: str) -> Response:
    """A provider's webhook, in the provider's own format, verified by the channel."""
    body = await request.body()
    if len(body) > MAX_WEBHOOK_BYTES:
        return JSONResponse(error_body("payload_too_large", "webhook bodies are limited to 256 KiB"), 413)
    return await _handle(request, channel_id, _webhook_request(request, kind, body))


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
    return await _handle(request, channel_id, _webhook_request(request, kind, b"", method="GET"))


def _webhook_request(request: Request, kind: str, body: bytes, *, method: str = "POST") -> WebhookRequest:
    return WebhookRequest(
        kind=kind,
        # Raw, as sent: the signature covers the query string exactly as the provider wrote it.
        query=request.scope.get("query_string", b"").decode("latin-1"),
        headers={name.lower(): value for name, value in request.headers.items()},
        body=body,
        method=method,
    )


async def _handle(request: Request, channel_id: str, webhook: WebhookRequest) -> Response:
    try:
        reply = await request.app.state.gateway.webhooks.handle(channel_id, webhook)
    except WebhookError as exc:
        return JSONResponse(error_body(exc.code, exc.message), status_code=exc.status)
    return Response(reply.body, status_code=reply.status, media_type=reply.content_type)
