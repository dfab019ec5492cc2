"""The Twilio adapter: sends through the Messages API and takes Twilio's callbacks.

Recipients ``whatsapp:+1…`` go out over WhatsApp with a ``whatsapp:`` sender; everything else
is SMS/MMS. Twilio's message SID is the provider message id that status callbacks match.
"""

from __future__ import annotations

from collections.abc import Sequence

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
    PollTiming,
    Receipt,
    SendError,
    SendResult,
)
from tidings.channels.http import HttpChannel
from tidings.channels.keepalive import KeepAliveClient
from tidings.channels.polling import poll_each
from tidings.channels.twilio import api, callbacks, signature
from tidings.channels.twilio.config import TwilioCredentials, TwilioSettings

WHATSAPP = "whatsapp:"
CALLBACK_KINDS = ("status", "inbound")


class TwilioChannel(HttpChannel):
    type = "twilio"
    settings_model = TwilioSettings
    credentials_model = TwilioCredentials
    supports_polling = True  # GET Messages/{sid}.json
    # WhatsApp recipients only (SMS has no window); Twilio answers 63016 outside it. Twilio's
    # Content Templates (ContentSid) are not the Cloud API object: templates are refused here.
    service_window_hours = 24

    def __init__(
        self,
        channel_id: str,
        settings: ChannelSettings,
        reports: ChannelReports,
        credentials: ChannelCredentials | None = None,
    ) -> None:
        super().__init__(channel_id, settings, reports, credentials)
        assert isinstance(settings, TwilioSettings) and isinstance(credentials, TwilioCredentials)
        self.config = settings
        self.secrets = credentials
        self._messages_path = api.messages_path(settings, credentials.account_sid)
        self._status_callback = (
            self.callback_url("status") if settings.public_base_url and settings.status_callbacks else None
        )

    def open_client(self) -> KeepAliveClient:
        return api.open_client(self.config, self.secrets)

    async def send(self, message: OutboundMessage) -> SendResult:
        sid = await api.create_message(self.client(), self._messages_path, self.form(message))
        return SendResult(message.id, provider_message_id=sid)

    def poll_timing(self) -> PollTiming | None:
        return self.config.poll_timing(callbacks=self._status_callback is not None)

    async def poll(self, provider_message_ids: Sequence[str]) -> list[Receipt]:
        """Fetch each Message and read its ``status`` with the status callbacks' table."""
        client = self.client()

        async def fetch(sid: str) -> Receipt | None:
            found = await api.fetch_message(client, api.message_path(self._messages_path, sid))
            if found is None or not isinstance(found.get("status"), str):
                return None  # unknown to Twilio (404): asked again later, until the window ends
            code = found.get("error_code")
            message = found.get("error_message")
            return callbacks.receipt_for(
                sid,
                found["status"],
                str(code) if code is not None else None,
                message if isinstance(message, str) else None,
            )

        return await poll_each(provider_message_ids, fetch)

    def form(self, message: OutboundMessage) -> list[tuple[str, str]]:
        """The Messages create parameters for one message."""
        form = [("To", message.recipient)]
        if message.sender:
            sender = message.sender
            if message.recipient.startswith(WHATSAPP) and not sender.startswith(WHATSAPP):
                sender = WHATSAPP + sender
            form.append(("From", sender))
        elif self.config.messaging_service_sid:
            form.append(("MessagingServiceSid", self.config.messaging_service_sid))
        else:
            raise SendError(
                "twilio_no_sender",
                "the message has no sender and the channel no messaging_service_sid",
                retryable=False,
            )
        if message.body:
            form.append(("Body", message.body))
        form.extend(("MediaUrl", url) for url in message.media_urls)
        if self._status_callback:
            form.append(("StatusCallback", self._status_callback))
        return form

    def callback_url(self, kind: str) -> str:
        """The URL Twilio calls for ``kind`` (set it as the number's messaging webhook for inbound)."""
        return f"{self.config.public_base_url}/webhooks/{self.channel_id}/{kind}"

    async def parse_callback(self, request: CallbackRequest) -> CallbackResult:
        if request.kind not in CALLBACK_KINDS:
            raise CallbackNotFound(f"twilio channels take webhooks of kinds {', '.join(CALLBACK_KINDS)}")
        if request.method != "POST":
            # Twilio's messaging webhooks are configured as POST; nothing here answers a GET.
            raise CallbackNotFound("twilio channels take webhooks by POST only")
        fields = callbacks.parse_form(request.body)
        self._verify(request, fields)
        if request.kind == "status":
            found = callbacks.receipt(fields)
            return CallbackResult(receipts=[found] if found else [])
        return CallbackResult(
            inbound=[callbacks.inbound(fields)],
            reply=CallbackReply(body=callbacks.EMPTY_TWIML, content_type="text/xml"),
        )

    def _verify(self, request: CallbackRequest, fields: list[tuple[str, str]]) -> None:
        if not self.config.public_base_url or self.secrets.auth_token is None:
            raise CallbackRejected(
                "this channel cannot verify Twilio signatures: it needs public_base_url and auth_token"
            )
        url = self.callback_url(request.kind) + (f"?{request.query}" if request.query else "")
        token = self.secrets.auth_token.get_secret_value()
        if not signature.is_valid(token, url, fields, request.headers.get(signature.HEADER.lower())):
            raise CallbackRejected("the X-Twilio-Signature header is missing or does not match")
