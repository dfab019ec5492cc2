"""What a Telegram channel is configured with: plain settings, and the bot's secrets kept apart."""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, field_validator

from tidings.channels.base import ChannelCredentials, ChannelSettings
from tidings.channels.http import BaseUrl

# "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11": the bot's id, a colon, a secret
# (https://core.telegram.org/bots/api#authorizing-your-bot).
BOT_TOKEN = re.compile(r"([0-9]{1,20}):[A-Za-z0-9_-]{20,200}")
# setWebhook's secret_token: "1-256 characters. Only characters A-Z, a-z, 0-9, _ and - are allowed"
# (https://core.telegram.org/bots/api#setwebhook).
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


class TelegramSettings(ChannelSettings):
    # Tests and local development point this at the fake (``tidings simulate telegram``), or at a
    # self-hosted Bot API server (https://github.com/tdlib/telegram-bot-api).
    api_base_url: BaseUrl = "https://api.telegram.org"
    # Where Telegram reaches this gateway; the webhook URL registered with setWebhook is
    # ``{public_base_url}/webhooks/{channel_id}/updates``.
    public_base_url: BaseUrl | None = None
    # The bot's own address, the ``to`` of inbound messages (``telegram:@name_bot``); by default
    # ``telegram:<bot id>``, the id being the token's public first half.
    bot_address: str | None = Field(default=None, min_length=1, max_length=64)
    # Call setWebhook whenever the adapter opens (needs public_base_url and webhook_secret). Off by
    # default: sending needs no webhook, and one call by hand (register_webhook) is enough.
    register_webhook: bool = False
    timeout_seconds: float = Field(default=15, gt=0, le=120)
    # As many as the dispatcher lets run at once per channel (dispatch.channel_concurrency): at
    # 200 ms a request, 100 connections held a channel below 500 messages a second (measured).
    max_connections: int = Field(default=256, ge=1, le=10_000)


class TelegramCredentials(ChannelCredentials):
    """The bot token from @BotFather, and the secret Telegram echoes on every webhook call.

    Without ``webhook_secret`` the channel still sends, but refuses every webhook: nothing else
    proves an Update comes from Telegram.
    """

    bot_token: SecretStr
    webhook_secret: SecretStr | None = None

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        # The message never repeats the value: validation errors reach API answers.
        if not BOT_TOKEN.fullmatch(value.get_secret_value()):
            raise ValueError("must look like <bot id>:<secret> as @BotFather issues it")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @property
    def bot_id(self) -> str:
        """The bot's user id: the token's first half, which Telegram shows publicly."""
        return self.bot_token.get_secret_value().partition(":")[0]
