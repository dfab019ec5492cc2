"""The Viber adapter: sends to ``viber:<user id>`` through the REST bot API, keeps Viber's 64-bit
``message_token`` as an exact decimal string, and takes every callback at one webhook kind.
"""

from __future__ import annotations

import logging
from typing import Any

from tidings.channels.base import (
    CallbackNotFound,
    CallbackRejected,
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
from tidings.channels.viber import api, callbacks, signature
from tidings.channels.viber.config import ViberCredentials, ViberSettings

log = logging.getLogger(__name__)

CALLBACK_KIND = "callback"
# Receipt events we ask for; ``message``, ``subscribed`` and ``unsubscribed`` come regardless.
# https://creators.viber.com/docs/bots-api/getting-started/web-hooks
EVENT_TYPES = ("delivered", "seen", "failed")
# A picture message carries one ``media`` URL, its body as the description ("Max 768
# characters"; text messages: 7,000), limits Viber checks itself.
# https://developers.viber.com/docs/api/rest-bot-api/#picture-message
MAX_MEDIA_PER_MESSAGE = 1


class ViberChannel(HttpChannel):
    type = "viber"
    settings_model = ViberSettings
    credentials_model = ViberCredentials

    def __init__(
        self,
        channel_id: str,
        settings: ChannelSettings,
        reports: ChannelReports,
        credentials: ChannelCredentials | None = None,
    ) -> None:
        super().__init__(channel_id, settings, reports, credentials)
        assert isinstance(settings, ViberSettings) and isinstance(credentials, ViberCredentials)
        self.config = settings
        self.secrets = credentials
        self._send_path = api.endpoint_path(settings, "send_message")

    def open_client(self) -> KeepAliveClient:
        return api.open_client(self.config, self.secrets)

    async def start(self) -> None:
        await super().start()
        if self.config.public_base_url and self.config.register_webhook:
            try:
                await self.register_webhook()
            except SendError as error:
                # Sends still work once the webhook is set by hand; Viber answers 10
                # (webhookNotSet) until then, and each message says so.
                log.warning(
                    "viber set_webhook failed: %s %s",
                    error.code,
                    error.message,
                    extra={"channel_id": self.channel_id},
                )

    async def register_webhook(self) -> list[str]:
        """Make this channel's callback URL the bot's webhook (a bot has exactly one); the event
        types Viber granted. Raises :class:`SendError` with Viber's code when it refuses."""
        client = self.client()
        if not self.config.public_base_url:
            raise SendError(
                "viber_no_public_url", "set public_base_url to register a webhook", retryable=False
            )
        path = api.endpoint_path(self.config, "set_webhook")
        return await api.set_webhook(client, path, self.callback_url(), EVENT_TYPES)

    async def send(self, message: OutboundMessage) -> SendResult:
        token = await api.send_message(self.client(), self._send_path, self.payload(message))
        return SendResult(message.id, provider_message_id=token)

    def payload(self, message: OutboundMessage) -> dict[str, Any]:
        """The send_message body for one message."""
        if not message.recipient.startswith(callbacks.ADDRESS_PREFIX):
            raise SendError("viber_bad_recipient", "Viber recipients are viber:<user id>", retryable=False)
        if len(message.media_urls) > MAX_MEDIA_PER_MESSAGE:
            raise SendError(
                "viber_too_many_media", "a Viber message carries one picture at most", retryable=False
            )
        sender: dict[str, str] = {"name": message.sender or self.config.sender_name}
        if self.config.sender_avatar:
            sender["avatar"] = self.config.sender_avatar
        payload: dict[str, Any] = {
            "receiver": message.recipient.removeprefix(callbacks.ADDRESS_PREFIX),
            "min_api_version": self.config.min_api_version,
            "sender": sender,
            # Returned with the user's reply, so an inbound message can name what it answers.
            "tracking_data": message.id,
        }
        if message.media_urls:
            payload.update(type="picture", text=message.body, media=message.media_urls[0])
        else:
            payload.update(type="text", text=message.body)
        return payload

    def callback_url(self) -> str:
        """The URL Viber posts every callback to (receipts, inbound messages, the rest)."""
        return f"{self.config.public_base_url}/webhooks/{self.channel_id}/{CALLBACK_KIND}"

    async def parse_callback(self, request: CallbackRequest) -> CallbackResult:
        if request.kind != CALLBACK_KIND:
            raise CallbackNotFound(f"viber channels take webhooks of kind {CALLBACK_KIND}")
        # The signature covers the raw body only, so nothing is parsed before it verifies.
        token = self.secrets.auth_token.get_secret_value()
        if not signature.is_valid(token, request.body, request.headers.get(signature.HEADER.lower())):
            raise CallbackRejected("the X-Viber-Content-Signature header is missing or does not match")
        event = callbacks.parse_event(request.body)
        return callbacks.callback_result(event, self.config.sender_name)
