"""Mount every enabled compat surface on the gateway's app."""

from __future__ import annotations

from starlette.applications import Starlette

from tidings.config import Settings
from tidings.features.compat.surface import surface_settings
from tidings.features.compat.surfaces import SURFACES


def mount_compat(app: Starlette, settings: Settings) -> list[str]:
    """Mount the enabled surfaces under their prefixes; the prefixes mounted.

    Each surface's app shares the gateway's service registry, so its endpoints reach the same
    services as the native routers. A surface switched off is not mounted: its prefix answers the
    gateway's own 404."""
    services: dict[str, object] = app.state.services
    mounted = []
    for surface in SURFACES:
        options = surface_settings(settings, surface.name, surface.settings_model)
        if not options.enabled:
            continue
        app.mount(surface.prefix, surface.build(services, settings, options))
        mounted.append(surface.prefix)
    return mounted
