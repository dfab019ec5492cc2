"""Mount every enabled compat surface on the gateway's app."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount

from tidings.config import Settings
from tidings.features.compat.surface import surface_settings
from tidings.features.compat.surfaces import SURFACES


def mount_compat(app: Starlette, settings: Settings) -> list[str]:
    """Mount the enabled surfaces under their prefixes; the prefixes mounted.

    Each surface's app shares the gateway's service registry, so its endpoints reach the same
    services as the native routers. A surface switched off is not mounted: its prefix answers the
    gateway's own 404.

    The mounts go ahead of the native routes: routing tries routes in order, and a compat request
    that first failed every native pattern cost a quarter of a Twilio create (measured in
    ``bench compat-twilio``). No native route may live under a surface's prefix, checked here at
    start, so going first shadows nothing."""
    services: dict[str, object] = app.state.services
    mounted: list[BaseRoute] = []
    prefixes = []
    for surface in SURFACES:
        options = surface_settings(settings, surface.name, surface.settings_model)
        if not options.enabled:
            continue
        _refuse_overlap(app.router.routes, surface.prefix)
        mounted.append(Mount(surface.prefix, app=surface.build(services, settings, options)))
        prefixes.append(surface.prefix)
    app.router.routes[:0] = mounted
    return prefixes


def _refuse_overlap(routes: list[BaseRoute], prefix: str) -> None:
    for route in routes:
        path = str(getattr(route, "path", ""))
        if path == prefix or path.startswith(prefix + "/"):
            raise ValueError(f"the native route {path} lies under the compat prefix {prefix}")
