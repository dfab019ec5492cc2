"""What a compat surface gives the app factory: where it is mounted and how its app is built."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.types import ASGIApp

from tidings.config import Settings
from tidings.web.responses import JSONResponse


class SurfaceSettings(BaseModel):
    """Every surface's section of ``[compat.<name>]`` (``TIDINGS_COMPAT__<NAME>__ENABLED=false``)."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True


S = TypeVar("S", bound=SurfaceSettings)


@dataclass(frozen=True)
class Surface:
    """One drop-in API: ``build`` makes its ASGI app, which is mounted at ``prefix``.

    ``build`` receives the gateway's service registry (the same one native routers read, so a
    surface's endpoints take ``Depends(MESSAGES)`` like any other) and the gateway's settings.
    """

    name: str
    prefix: str
    settings_model: type[SurfaceSettings]
    build: Callable[[dict[str, object], Settings, Any], ASGIApp]


def surface_settings(settings: Settings, name: str, model: type[S]) -> S:
    """The surface's section of ``settings.compat``, validated by its own model.

    A bad section stops the gateway at start with the section's name, like any bad setting."""
    try:
        return model.model_validate(settings.compat.get(name, {}))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or name}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"compat.{name}: {problems}") from None


def surface_app(services: dict[str, object], *, title: str) -> FastAPI:
    """A surface's own FastAPI app: it shares the gateway's service registry, renders JSON like the
    native API, and publishes no OpenAPI document of its own (the surface's reference is the
    system it imitates, and its docs/ page)."""
    app = FastAPI(
        title=title, default_response_class=JSONResponse, openapi_url=None, docs_url=None, redoc_url=None
    )
    app.state.services = services
    return app
