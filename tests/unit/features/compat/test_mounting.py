"""The compat mounts go ahead of the native routes, and refuse to start over a native route."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from starlette.routing import Mount

from tidings.config import Settings
from tidings.features.compat import mount_compat


def app_with(path: str) -> FastAPI:
    app = FastAPI()
    app.state.services = {}

    @app.get(path)
    async def native() -> None: ...

    return app


def test_surfaces_are_mounted_first() -> None:
    app = app_with("/v1/messages")
    prefixes = mount_compat(app, Settings())
    assert "/twilio" in prefixes
    mounts = [route.path for route in app.router.routes[: len(prefixes)] if isinstance(route, Mount)]
    assert mounts == prefixes


def test_a_native_route_under_a_surface_prefix_stops_the_start() -> None:
    with pytest.raises(ValueError, match="/twilio/api/anything"):
        mount_compat(app_with("/twilio/api/anything"), Settings())
    assert "/twilio" in mount_compat(app_with("/twilioish"), Settings())
