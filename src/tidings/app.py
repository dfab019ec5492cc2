"""The ASGI application factory: the routers of every feature, the middleware in front of them,
and the registry through which routers reach the gateway's services (tidings.web.services)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from tidings import __version__
from tidings.config import Settings
from tidings.features.accounts import ACCOUNTS
from tidings.features.accounts.endpoints import router as accounts_router
from tidings.features.channels import CHANNELS
from tidings.features.channels.endpoints import router as channels_router
from tidings.features.compat import mount_compat
from tidings.features.contacts import CONTACTS
from tidings.features.contacts.endpoints import router as contacts_router
from tidings.features.conversations import CONVERSATIONS
from tidings.features.conversations.endpoints import router as conversations_router
from tidings.features.event_stream import EVENT_STREAM
from tidings.features.event_stream.endpoints import router as events_router
from tidings.features.messages import MESSAGES
from tidings.features.messages.endpoints import router as messages_router
from tidings.features.numbers.endpoints import router as numbers_router
from tidings.features.optouts import OPT_OUTS
from tidings.features.optouts.endpoints import router as optouts_router
from tidings.features.provider_callbacks import CALLBACKS
from tidings.features.provider_callbacks import endpoints as callbacks
from tidings.features.proxy import PROXY
from tidings.features.proxy.endpoints import router as proxy_router
from tidings.features.routes import ROUTES
from tidings.features.routes.endpoints import router as routes_router
from tidings.features.sandbox import SANDBOX
from tidings.features.sandbox.endpoints import router as sandbox_router
from tidings.runtime import Gateway
from tidings.web import errors
from tidings.web.auth import AUTHENTICATOR
from tidings.web.bodies import add_schemas
from tidings.web.limits import BodySizeLimit
from tidings.web.responses import JSONResponse
from tidings.web.services import DATABASE, SECRET_BOX, SETTINGS, Services

# 100,000 personalised messages of ~300 bytes each, with room to spare.
MAX_REQUEST_BYTES = 64 * 1024 * 1024


def create_app(settings: Settings, *, run_dispatcher: bool = True, gateway: Gateway | None = None) -> FastAPI:
    gateway = gateway or Gateway(settings, run_dispatcher=run_dispatcher)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await gateway.start()
        try:
            yield
        finally:
            await gateway.stop()

    app = FastAPI(
        title="Tidings",
        version=__version__,
        description="Self-hosted, provider-agnostic messaging gateway",
        default_response_class=JSONResponse,
        lifespan=lifespan,
    )
    app.state.services = _services(gateway).by_name
    errors.install(app)
    # Matched in this order, route by route: the busiest paths (sends) first. Providers'
    # callbacks never get here: CallbackIngress serves them in front of FastAPI.
    routers = (
        messages_router,
        numbers_router,
        accounts_router,
        channels_router,
        routes_router,
        contacts_router,
        optouts_router,
        conversations_router,
        proxy_router,
        sandbox_router,
        events_router,
        callbacks.router,
    )
    for router in routers:
        app.include_router(router)
    # After the native routers: mount_compat checks that none lies under a surface's prefix
    # (/twilio, /compat/...), then puts the surfaces' mounts first, shadowing nothing.
    mount_compat(app, settings)

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    async def readyz() -> JSONResponse:
        """The database answers."""
        try:
            async with gateway.db.read() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest().decode(), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(BodySizeLimit, max_bytes=MAX_REQUEST_BYTES)
    # Added last, so it runs first: providers' callbacks skip the rest of the stack.
    app.add_middleware(callbacks.CallbackIngress)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = callbacks.document(add_schemas(get_openapi_document(app)))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _services(gateway: Gateway) -> Services:
    """Every service a router reaches, under its typed key (tidings.web.services)."""
    services = Services()
    services.add(SETTINGS, gateway.settings)
    services.add(DATABASE, gateway.db)
    services.add(SECRET_BOX, gateway.box)
    services.add(AUTHENTICATOR, gateway.accounts)
    services.add(ACCOUNTS, gateway.accounts)
    services.add(CHANNELS, gateway.channels)
    services.add(ROUTES, gateway.routes)
    services.add(MESSAGES, gateway.messages)
    services.add(CONTACTS, gateway.contacts)
    services.add(OPT_OUTS, gateway.opt_outs)
    services.add(CONVERSATIONS, gateway.conversations)
    services.add(PROXY, gateway.proxy)
    services.add(SANDBOX, gateway.sandbox)
    services.add(EVENT_STREAM, gateway.event_stream)
    services.add(CALLBACKS, gateway.callbacks)
    return services


def get_openapi_document(app: FastAPI) -> dict[str, Any]:
    from fastapi.openapi.utils import get_openapi

    return get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
