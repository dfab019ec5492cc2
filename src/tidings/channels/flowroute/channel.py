"""The Flowroute adapter: sends SMS and MMS through the Messaging API and takes its callbacks.

A message with media URLs goes out as MMS (``is_mms``, ``media_urls``); everything else as SMS.
Flowroute's ``mdr2-…`` record id is the provider message id that delivery receipts match.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    PollTiming,
    Receipt,
    SendError,
    SendResult,
)
from tidings.channels.flowroute import api, auth, callbacks
from tidings.channels.flowroute.config import FlowrouteCredentials, FlowrouteSettings
from tidings.channels.http import HttpChannel
from tidings.channels.keepalive import KeepAliveClient
from tidings.channels.polling import poll_each

CALLBACK_KINDS = ("status", "inbound")
_PHONE_DIGITS = frozenset("0123456789")


class FlowrouteChannel(HttpChannel):
    type = "flowroute"
    settings_model = FlowrouteSettings
    credentials_model = FlowrouteCredentials
    supports_polling = True  # GET /messages/{id}: the message detail record

    def __init__(
        self,
        channel_id: str,
        settings: ChannelSettings,
        reports: ChannelReports,
        credentials: ChannelCredentials | None = None,
    ) -> None:
        super().__init__(channel_id, settings, reports, credentials)
        assert isinstance(settings, FlowrouteSettings) and isinstance(credentials, FlowrouteCredentials)
        self.config = settings
        self.secrets = credentials
        self._messages_path = api.messages_path(settings)
        wants_receipts = settings.public_base_url and settings.delivery_receipts
        self._dlr_callback = (
            self.callback_url("status") if wants_receipts and credentials.webhook_token else None
        )

    def open_client(self) -> KeepAliveClient:
        return api.open_client(self.config, self.secrets)

    async def send(self, message: OutboundMessage) -> SendResult:
        message_id = await api.create_message(self.client(), self._messages_path, self.document(message))
        return SendResult(message.id, provider_message_id=message_id)

    def poll_timing(self) -> PollTiming | None:
        return self.config.poll_timing(callbacks=self._dlr_callback is not None)

    async def poll(self, provider_message_ids: Sequence[str]) -> list[Receipt]:
        """Look up each message's record and read its status with the DLR table."""
        client = self.client()

        async def fetch(record_id: str) -> Receipt | None:
            record = await api.fetch_record(client, api.record_path(self._messages_path, record_id))
            return callbacks.record_receipt(record_id, record) if record is not None else None

        return await poll_each(provider_message_ids, fetch)

    def document(self, message: OutboundMessage) -> dict[str, Any]:
        """The JSON:API ``message`` document Flowroute's send endpoint takes."""
        if not message.sender:
            raise SendError(
                "flowroute_no_sender",
                "Flowroute needs a sender: one of the account's numbers",
                retryable=False,
            )
        attributes: dict[str, Any] = {
            "to": self._number(message.recipient, "recipient"),
            "from": self._number(message.sender, "sender"),
            "body": message.body,
        }
        if message.media_urls:
            attributes["is_mms"] = True
            attributes["media_urls"] = list(message.media_urls)
        if self._dlr_callback:
            attributes["dlr_callback"] = self._dlr_callback
        return {"data": {"type": "message", "attributes": attributes}}

    def _number(self, number: str, role: str) -> str:
        digits = number.removeprefix("+")
        if not number.startswith("+") or not digits or not set(digits) <= _PHONE_DIGITS:
            # whatsapp:, telegram: ... addresses: Flowroute carries SMS and MMS only.
            raise SendError(
                f"flowroute_invalid_{role}",
                f"Flowroute sends to phone numbers only: {number!r}",
                retryable=False,
            )
        # v2.1 wants 11-digit NANP digits ("12065551234"); v2.2 wants E.164 ("+12065551234").
        return digits if self.config.api_version == "v2.1" else number

    def callback_url(self, kind: str) -> str:
        """The URL Flowroute calls for ``kind``, token included: give it as the number's or
        account's SMS and MMS callback for ``inbound``; ``status`` is sent with every message.

        It holds the callback token, so it is a secret: never log it."""
        base = f"{self.config.public_base_url}/webhooks/{self.channel_id}/{kind}"
        token = self.secrets.webhook_token
        return auth.with_token(base, token.get_secret_value()) if token is not None else base

    async def parse_callback(self, request: CallbackRequest) -> CallbackResult:
        if request.kind not in CALLBACK_KINDS:
            raise CallbackNotFound(f"flowroute channels take webhooks of kinds {', '.join(CALLBACK_KINDS)}")
        token = self.secrets.webhook_token
        if token is None:
            raise CallbackRejected("this channel cannot verify Flowroute webhooks: it needs webhook_token")
        # Before parsing: an unauthenticated body gets no further than this.
        if not auth.is_valid(request.query, token.get_secret_value()):
            raise CallbackRejected("the webhook token is missing or does not match")
        document = callbacks.parse_document(request.body)
        if request.kind == "status":
            found = callbacks.receipt(document)
            return CallbackResult(receipts=[found] if found else [])
        return CallbackResult(inbound=[callbacks.inbound(document)])
