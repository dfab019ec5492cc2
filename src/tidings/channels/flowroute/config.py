"""What a Flowroute channel is configured with: plain settings, and the secrets kept apart."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from tidings.channels.base import ChannelCredentials

# One URL rule for every HTTP provider: http(s), no trailing slash.
from tidings.channels.http import BaseUrl
from tidings.channels.polling import PollingSettings


class FlowrouteSettings(PollingSettings):
    # Tests and local development point this at the fake (``tidings simulate flowroute``).
    api_base_url: BaseUrl = "https://api.flowroute.com"
    # v2.1 takes numbers as 11-digit NANP without "+", v2.2 as E.164 with "+"; both answer
    # the same JSON:API documents. https://developer.flowroute.com/api/messages/v2.2/send-an-sms/
    api_version: Literal["v2.1", "v2.2"] = "v2.1"
    # Where Flowroute reaches this gateway. Delivery receipts are requested (``dlr_callback``)
    # only when it and the credentials' ``webhook_token`` are set.
    public_base_url: BaseUrl | None = None
    delivery_receipts: bool = True
    timeout_seconds: float = Field(default=15, gt=0, le=120)
    # As many as the dispatcher lets run at once per channel (dispatch.channel_concurrency): at
    # 200 ms a request, 100 connections held a channel below 500 messages a second (measured).
    max_connections: int = Field(default=256, ge=1, le=10_000)


class FlowrouteCredentials(ChannelCredentials):
    """The API credentials from Flowroute Manage (HTTP Basic: access key as user, secret key as
    password), and the token that authenticates Flowroute's callbacks to us.

    Flowroute signs no callbacks; the token travels in the callback URL we give Flowroute and
    comes back on every callback (see ``auth``). Without it every callback is refused.
    """

    access_key: SecretStr = Field(min_length=1, max_length=128)
    secret_key: SecretStr = Field(min_length=1, max_length=256)
    webhook_token: SecretStr | None = Field(default=None, min_length=16, max_length=256)
