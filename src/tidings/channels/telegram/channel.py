"""The Telegram adapter: sends text with the Bot API's sendMessage and takes the Updates Telegram posts to us.

Recipients are ``telegram:<chat id>`` or ``telegram:@channelusername``. The Bot API has no
delivery receipts: a sendMessage answered with the Message means the message is in the chat, so
each accepted send is reported ``delivered`` at once (docs/providers.md, "Telegram").
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
    Receipt,
    SendError,
    SendResult,
)
from tidings.channels.http import HttpChannel
from tidings.channels.keepalive import KeepAliveClient
from tidings.channels.telegram import api, callbacks
from tidings.channels.telegram.config import TelegramCredentials, TelegramSettings
from tidings.core.statuses import MessageStatus

log = logging.getLogger(__name__)

CALLBACK_KIND = "updates"
# What the registered webhook asks for: the adapter turns nothing else into messages.
ALLOWED_UPDATES = ("message",)


class TelegramChannel(HttpChannel):
    type = "telegram"
    settings_model = TelegramSettings
    credentials_model = TelegramCredentials

    def __init__(
        self,
        channel_id: str,
        settings: ChannelSettings,
        reports: ChannelReports,
        credentials: ChannelCredentials | None = None,
    ) -> None:
        super().__init__(channel_id, settings, reports, credentials)
        assert isinstance(settings, TelegramSettings) and isinstance(credentials, TelegramCredentials)
        self.config = settings
        self.secrets = credentials
        self.bot_address = settings.bot_address or f"telegram:{credentials.bot_id}"

    def open_client(self) -> KeepAliveClient:
        return api.open_client(self.config)

    async def start(self) -> None:
        await super().start()
        if self.config.register_webhook:
            try:
                await self.register_webhook()
            except (SendError, ValueError) as error:
                # Sending does not depend on it; inbound messages wait until it is set.
                log.warning("telegram setWebhook failed: %s", error, extra={"channel_id": self.channel_id})

    async def send(self, message: OutboundMessage) -> SendResult:
        client = self.client()
        params = self.send_params(message)
        sent = await self._call(client, "sendMessage", params)
        provider_id = api.message_key(sent)
        await self._report_delivered(provider_id)
        return SendResult(message.id, provider_message_id=provider_id)

    def send_params(self, message: OutboundMessage) -> dict[str, Any]:
        """sendMessage's parameters for one message: plain text, no parse_mode, so the body
        reaches the chat exactly as written (https://core.telegram.org/bots/api#sendmessage)."""
        if message.media_urls:
            raise SendError(
                "telegram_media_unsupported", "this channel sends text only, not media", retryable=False
            )
        return {"chat_id": api.chat_id(message.recipient), "text": message.body}

    def callback_url(self) -> str:
        """The URL to register with setWebhook (:meth:`register_webhook` does it)."""
        return f"{self.config.public_base_url}/webhooks/{self.channel_id}/{CALLBACK_KIND}"

    async def register_webhook(self, *, drop_pending_updates: bool = False) -> str:
        """Point the bot's Updates at this channel: setWebhook with the channel's webhook URL and
        secret_token (https://core.telegram.org/bots/api#setwebhook). Returns the URL set;
        raises ``ValueError`` without public_base_url or webhook_secret, :class:`SendError` when
        the Bot API refuses."""
        if not self.config.public_base_url or self.secrets.webhook_secret is None:
            raise ValueError("registering a webhook needs public_base_url and webhook_secret")
        params = {
            "url": self.callback_url(),
            "secret_token": self.secrets.webhook_secret.get_secret_value(),
            "allowed_updates": list(ALLOWED_UPDATES),
            "drop_pending_updates": drop_pending_updates,
        }
        if self._client is not None:
            await self._call(self._client, "setWebhook", params)
        else:
            client = api.open_client(self.config)
            try:
                await self._call(client, "setWebhook", params)
            finally:
                await client.close()
        return str(params["url"])

    async def parse_callback(self, request: CallbackRequest) -> CallbackResult:
        if request.kind != CALLBACK_KIND:
            raise CallbackNotFound(f"telegram channels take webhooks of kind {CALLBACK_KIND}")
        secret = self.secrets.webhook_secret
        if secret is None:
            raise CallbackRejected("this channel has no webhook_secret to verify Telegram's calls with")
        given = request.headers.get(callbacks.SECRET_HEADER.lower())
        if not callbacks.secret_matches(secret.get_secret_value(), given):
            raise CallbackRejected(f"the {callbacks.SECRET_HEADER} header is missing or does not match")
        message = callbacks.inbound(callbacks.parse_update(request.body), self.bot_address)
        # Any 2xx tells Telegram the Update arrived; other kinds are acknowledged so they are not
        # redelivered.
        return CallbackResult(inbound=[message] if message else [])

    async def _call(self, client: KeepAliveClient, method: str, params: dict[str, Any]) -> Any:
        token = self.secrets.bot_token.get_secret_value()
        return await api.call(client, api.method_path(self.config, token, method), token, params)

    async def _report_delivered(self, provider_id: str) -> None:
        try:
            await self.reports.receipts(self.channel_id, [Receipt(provider_id, MessageStatus.DELIVERED)])
        except Exception:
            # The message did go out; failing the send now would send it again on retry. It stays
            # `sent`, which is true.
            log.exception("could not report a delivered receipt", extra={"channel_id": self.channel_id})
