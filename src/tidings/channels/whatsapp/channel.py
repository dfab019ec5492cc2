"""The WhatsApp Cloud API adapter: sends text, media and templates to ``whatsapp:+<E.164>``
recipients and takes Meta's webhooks (handshake and notifications) on one URL."""

from __future__ import annotations

import mimetypes
from typing import Any

from tidings.channels.base import (
    CallbackNotFound,
    CallbackRejected,
    CallbackReply,
    CallbackRequest,
    CallbackResult,
    ChannelCredentials,
    ChannelReports,
    ChannelSettings,
    OutboundMessage,
    SendError,
    SendResult,
)
from tidings.channels.http import HttpChannel
from tidings.channels.keepalive import KeepAliveClient
from tidings.channels.whatsapp import api, callbacks, signature
from tidings.channels.whatsapp.config import WhatsAppCredentials, WhatsAppSettings

CALLBACK_KIND = "events"
MAX_TEXT_CHARS = 4096  # text.body (Cloud API messages reference)
MAX_CAPTION_CHARS = 1024
CAPTIONED = frozenset({"image", "video", "document"})


class WhatsAppChannel(HttpChannel):
    type = "whatsapp"
    settings_model = WhatsAppSettings
    credentials_model = WhatsAppCredentials
    supports_templates = True
    service_window_hours = 24  # Meta answers 131047 to free-form messages outside it

    def __init__(
        self,
        channel_id: str,
        settings: ChannelSettings,
        reports: ChannelReports,
        credentials: ChannelCredentials | None = None,
    ) -> None:
        super().__init__(channel_id, settings, reports, credentials)
        assert isinstance(settings, WhatsAppSettings) and isinstance(credentials, WhatsAppCredentials)
        self.config = settings
        self.secrets = credentials
        self._messages_path = api.messages_path(settings)

    def open_client(self) -> KeepAliveClient:
        return api.open_client(self.config, self.secrets)

    async def send(self, message: OutboundMessage) -> SendResult:
        wamid = await api.send_message(self.client(), self._messages_path, self.message_object(message))
        return SendResult(message.id, provider_message_id=wamid)

    def message_object(self, message: OutboundMessage) -> dict[str, Any]:
        """The Cloud API message object for one message: a template, one media item, or text."""
        sent: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": wa_number(message.recipient),
        }
        if message.template is not None:
            return {**sent, "type": "template", "template": dict(message.template)}
        if message.media_urls:
            return {**sent, **_media(message)}
        if not message.body:
            raise SendError("whatsapp_empty_body", "a text message needs a body", retryable=False)
        if len(message.body) > MAX_TEXT_CHARS:
            raise SendError(
                "whatsapp_body_too_long",
                f"text bodies are limited to {MAX_TEXT_CHARS} characters",
                retryable=False,
            )
        text: dict[str, Any] = {"body": message.body}
        if self.config.link_previews:
            text["preview_url"] = True
        return {**sent, "type": "text", "text": text}

    def callback_url(self) -> str | None:
        """The callback URL to set in the App Dashboard (WhatsApp > Configuration), if known."""
        if not self.config.public_base_url:
            return None
        return f"{self.config.public_base_url}/webhooks/{self.channel_id}/{CALLBACK_KIND}"

    async def parse_callback(self, request: CallbackRequest) -> CallbackResult:
        if request.kind != CALLBACK_KIND:
            raise CallbackNotFound(f"whatsapp channels take webhooks of kind {CALLBACK_KIND}")
        if request.method == "GET":
            return self._handshake(request)
        if request.method != "POST":
            raise CallbackNotFound("whatsapp webhooks are GET (handshake) or POST (notifications)")
        if self.secrets.app_secret is None:
            raise CallbackRejected("this channel cannot verify Meta's signatures: it needs app_secret")
        secret = self.secrets.app_secret.get_secret_value()
        if not signature.is_valid(secret, request.body, request.headers.get(signature.HEADER.lower())):
            raise CallbackRejected("the X-Hub-Signature-256 header is missing or does not match")
        notification = callbacks.parse(request.body)
        result = CallbackResult()
        for value in notification.changes_for(self.config.phone_number_id):
            result.receipts.extend(callbacks.receipts(value))
            result.inbound.extend(callbacks.inbound(value))
        return result

    def _handshake(self, request: CallbackRequest) -> CallbackResult:
        if self.secrets.verify_token is None:
            raise CallbackRejected("this channel cannot answer Meta's handshake: it needs verify_token")
        answer = signature.challenge(request.query, self.secrets.verify_token.get_secret_value())
        if answer is None:
            raise CallbackRejected("hub.mode, hub.verify_token or hub.challenge is missing or wrong")
        return CallbackResult(reply=CallbackReply(body=answer.encode(), content_type="text/plain"))


def wa_number(recipient: str) -> str:
    """The Cloud API's ``to``: the E.164 digits without ``+`` (``whatsapp:`` prefix optional)."""
    number = recipient.removeprefix("whatsapp:")
    digits = number.removeprefix("+")
    if not number.startswith("+") or not digits.isdigit() or not 7 <= len(digits) <= 15:
        raise SendError(
            "whatsapp_bad_recipient", "WhatsApp recipients are whatsapp:+<E.164 number>", retryable=False
        )
    return digits


def _media(message: OutboundMessage) -> dict[str, Any]:
    # One media object per Cloud API message; several would need several messages (and ids).
    if len(message.media_urls) > 1:
        raise SendError(
            "whatsapp_too_many_media", "a WhatsApp message carries one media item", retryable=False
        )
    link = message.media_urls[0]
    kind = media_type(link)
    media: dict[str, Any] = {"link": link}
    if message.body:
        if kind not in CAPTIONED:
            raise SendError(
                "whatsapp_caption_not_supported", f"{kind} messages take no caption", retryable=False
            )
        if len(message.body) > MAX_CAPTION_CHARS:
            raise SendError(
                "whatsapp_caption_too_long",
                f"captions are limited to {MAX_CAPTION_CHARS} characters",
                retryable=False,
            )
        media["caption"] = message.body
    return {"type": kind, kind: media}


def media_type(link: str) -> str:
    """The message type for a media URL, from its file extension; unknown files go as documents."""
    guessed, _ = mimetypes.guess_type(link.split("?", 1)[0])
    major = (guessed or "").split("/", 1)[0]
    if guessed == "image/webp":
        return "sticker"
    return major if major in ("image", "video", "audio") else "document"
