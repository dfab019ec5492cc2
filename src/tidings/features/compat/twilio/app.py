"""The Twilio surface's app: one sub-application for every product, its routers from ``urls.py``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from tidings.config import Settings
from tidings.features.compat.surface import surface_app
from tidings.features.compat.twilio import exceptions, settings
from tidings.features.compat.twilio.urls import ROUTERS


def build(services: dict[str, object], _settings: Settings, options: Any) -> FastAPI:
    app = surface_app(services, title="Tidings: Twilio-compatible API")
    settings.install(app, options)
    exceptions.install_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    return app
