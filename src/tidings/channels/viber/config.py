"""What a Viber channel is configured with: plain settings, and the bot's auth token kept apart."""

from __future__ import annotations

from pydantic import Field, SecretStr

from tidings.channels.base import ChannelCredentials, ChannelSettings
from tidings.channels.http import BaseUrl

# https://developers.viber.com/docs/api/rest-bot-api/#send-message: sender.name "Max 28 characters".
MAX_SENDER_NAME = 28


class ViberSettings(ChannelSettings):
    # Tests and local development point this at the fake (``tidings simulate viber``).
    api_base_url: BaseUrl = "https://chatapi.viber.com"
    # Where Viber reaches this gateway. With it (and ``register_webhook``) the adapter registers
    # {public_base_url}/webhooks/{channel_id}/callback as the bot's webhook when it opens.
    public_base_url: BaseUrl | None = None
    register_webhook: bool = True
    # Viber requires a sender name on every message; a message's own sender overrides it. It is
    # also the recipient recorded on inbound messages (a bot has no address of its own).
    sender_name: str = Field(min_length=1, max_length=MAX_SENDER_NAME)
    sender_avatar: str | None = Field(default=None, max_length=1024, pattern=r"^https?://")
    min_api_version: int = Field(default=1, ge=1, le=100)
    timeout_seconds: float = Field(default=15, gt=0, le=120)
    # As many as the dispatcher lets run at once per channel (dispatch.channel_concurrency): at
    # 200 ms a request, 100 connections held a channel below 500 messages a second (measured).
    max_connections: int = Field(default=256, ge=1, le=10_000)


class ViberCredentials(ChannelCredentials):
    """The bot's authentication token ("app key"): sent as X-Viber-Auth-Token on every call and
    the key of the HMAC that signs Viber's callbacks."""

    auth_token: SecretStr = Field(min_length=1, max_length=200)
