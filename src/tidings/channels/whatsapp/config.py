"""What a WhatsApp Cloud API channel is configured with: plain settings, and the secrets kept apart."""

from __future__ import annotations

from pydantic import Field, SecretStr

from tidings.channels.base import ChannelCredentials, ChannelSettings
from tidings.channels.http import BaseUrl


class WhatsAppSettings(ChannelSettings):
    # Tests and local development point this at the fake (``tidings simulate whatsapp``).
    api_base_url: BaseUrl = "https://graph.facebook.com"
    # Graph API version in every URL; Meta supports each for about two years.
    api_version: str = Field(default="v21.0", pattern=r"^v[0-9]{1,3}\.[0-9]{1,2}$")
    # The business number's id (App Dashboard > WhatsApp > API Setup), not the number itself:
    # it is in every send URL and picks the sender, so a message's own sender is not used.
    phone_number_id: str = Field(pattern=r"^[0-9]{1,32}$")
    # Where Meta reaches this gateway; only shown as the callback URL to configure in the App
    # Dashboard (Meta signs the body, not the URL, so verification does not depend on it).
    public_base_url: BaseUrl | None = None
    # text.preview_url: render a preview of the first URL of a text message.
    link_previews: bool = False
    timeout_seconds: float = Field(default=15, gt=0, le=120)
    # As many as the dispatcher lets run at once per channel (dispatch.channel_concurrency): at
    # 200 ms a request, 100 connections held a channel below 500 messages a second (measured).
    max_connections: int = Field(default=256, ge=1, le=10_000)


class WhatsAppCredentials(ChannelCredentials):
    """A (system user) access token for sending; the app secret that signs webhook notifications
    and the verify token of the subscription handshake.

    Without ``app_secret`` notifications cannot be verified and are refused (403); without
    ``verify_token`` the GET handshake is refused (403).
    """

    access_token: SecretStr = Field(min_length=1)
    app_secret: SecretStr | None = Field(default=None, min_length=1)
    verify_token: SecretStr | None = Field(default=None, min_length=1)
