"""The Twilio surface's section of the settings (``[compat.twilio]``)."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.requests import HTTPConnection

from tidings.features.compat.surface import SurfaceSettings


class TwilioSettings(SurfaceSettings):
    """``TIDINGS_COMPAT__TWILIO__PUBLIC_URL=https://sms.example.com``: the base URL clients reach
    the gateway at, for the absolute links of v1 lists (``meta.next_page_url``), which the SDK
    follows as given. Without it links are built from the request's scheme and Host."""

    public_url: str | None = None


def install(app: FastAPI, options: TwilioSettings) -> None:
    app.state.twilio_settings = options


def of(request: HTTPConnection) -> TwilioSettings:
    options: TwilioSettings = request.app.state.twilio_settings
    return options
