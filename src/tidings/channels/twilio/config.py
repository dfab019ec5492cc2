"""What a Twilio channel is configured with: plain settings, and the secrets kept apart."""

from __future__ import annotations

from typing import Self

from pydantic import Field, SecretStr, model_validator

from tidings.channels.base import ChannelCredentials
from tidings.channels.http import BaseUrl
from tidings.channels.polling import PollingSettings


class TwilioSettings(PollingSettings):
    # Tests and local development point this at the fake (``tidings simulate twilio``).
    api_base_url: BaseUrl = "https://api.twilio.com"
    # Where Twilio reaches this gateway, exactly as Twilio is told (scheme, host, port, any path
    # prefix of a reverse proxy). Status callbacks are requested only when it is set, and
    # webhooks are verified against it: never against the request's Host header.
    public_base_url: BaseUrl | None = None
    # Used as the sender when a message has no ``from`` (Twilio then picks from the pool).
    messaging_service_sid: str | None = Field(default=None, pattern=r"^MG[0-9a-fA-F]{32}$")
    status_callbacks: bool = True
    timeout_seconds: float = Field(default=15, gt=0, le=120)
    # As many as the dispatcher lets run at once per channel (dispatch.channel_concurrency): at
    # 200 ms a request, 100 connections held a channel below 500 messages a second (measured).
    max_connections: int = Field(default=256, ge=1, le=10_000)


class TwilioCredentials(ChannelCredentials):
    """An Account SID with its Auth Token, or with an API key (SID and secret).

    REST calls use the API key when one is given (Twilio's recommendation for production);
    webhooks are always signed with the Auth Token, so without it they cannot be verified and
    are refused.
    """

    account_sid: str = Field(pattern=r"^AC[0-9a-fA-F]{32}$")
    auth_token: SecretStr | None = Field(default=None, min_length=1)
    api_key_sid: str | None = Field(default=None, pattern=r"^SK[0-9a-fA-F]{32}$")
    api_key_secret: SecretStr | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> Self:
        if (self.api_key_sid is None) != (self.api_key_secret is None):
            raise ValueError("api_key_sid and api_key_secret go together")
        if self.auth_token is None and self.api_key_sid is None:
            raise ValueError("give auth_token, or api_key_sid with api_key_secret")
        return self

    def basic_auth(self) -> tuple[str, str]:
        """The HTTP Basic user and password for REST calls."""
        if self.api_key_sid is not None and self.api_key_secret is not None:
            return self.api_key_sid, self.api_key_secret.get_secret_value()
        assert self.auth_token is not None
        return self.account_sid, self.auth_token.get_secret_value()
