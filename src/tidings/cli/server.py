"""``serve``, ``api``, ``worker`` and ``migrate``: run the gateway and prepare its database."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated

import typer
from rich.markup import escape

from tidings.cli.base import (
    app,
    console,
    err,
    print_bootstrap,
    settings_from_env,
)
from tidings.cli.heap import freeze_startup_objects
from tidings.config import Settings
from tidings.declarations import Applied
from tidings.store.engine import Database, redacted_url
from tidings.store.migrate import upgrade


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
) -> None:
    """Run the API and the dispatcher in one process (embedded mode: migrates SQLite itself)."""
    settings = settings_from_env(host=host, port=port)
    _run_server(settings, run_dispatcher=True, migrate_first=settings.is_sqlite)


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="Interface to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
) -> None:
    """Run the HTTP API only (scaled mode; workers dispatch)."""
    _run_server(settings_from_env(host=host, port=port), run_dispatcher=False, migrate_first=False)


@app.command()
def worker(
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve Prometheus /metrics on this port (on TIDINGS_HOST)")
    ] = None,
) -> None:
    """Run dispatch only: claim due messages, send them, record outcomes and receipts (scaled mode)."""
    from tidings import logs

    settings = settings_from_env()
    logs.configure(settings.log_level, settings.log_format)
    # A worker never migrates: on an old schema it would write rows the API can't read.
    asyncio.run(_prepare_database(settings, migrate=False))
    if metrics_port is not None:
        import prometheus_client

        prometheus_client.start_http_server(metrics_port, addr=settings.host)
    import uvloop

    uvloop.run(_run_worker(settings))


async def _run_worker(settings: Settings) -> None:
    from tidings.runtime import Gateway

    gateway = Gateway(settings, run_api=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await gateway.start()
    assert gateway.dispatcher is not None
    freeze_startup_objects()
    console.print(f"Tidings worker {gateway.dispatcher.worker_id} running")
    try:
        await stop.wait()
    finally:
        # Graceful: in-flight sends finish and every outcome is written before exit.
        await gateway.stop()


def _run_server(settings: Settings, *, run_dispatcher: bool, migrate_first: bool) -> None:
    import uvicorn

    from tidings import logs
    from tidings.app import create_app
    from tidings.runtime import Gateway

    logs.configure(settings.log_level, settings.log_format)
    # Checked before the server starts so a bad database or a bad declaration in the config
    # file gives one clear line, not a trace. The gateway repeats the install step when it
    # starts; by then it changes nothing.
    asyncio.run(_prepare_database(settings, migrate=migrate_first))
    declared = asyncio.run(_prepare_install(settings))
    gateway = Gateway(settings, run_dispatcher=run_dispatcher)
    app_ = create_app(settings, gateway=gateway)

    original_start = gateway.start

    async def start_and_announce() -> None:
        await original_start()
        freeze_startup_objects()
        if gateway.bootstrapped is not None:  # another process emptied the database meanwhile
            print_bootstrap(gateway.bootstrapped, settings)
        if settings.channels or settings.routes:
            console.print(declared.summary(), soft_wrap=True)
        console.print(f"Tidings listening on http://{settings.host}:{settings.port} (docs at /docs)")

    gateway.start = start_and_announce  # type: ignore[method-assign]
    uvicorn.run(
        app_,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        loop="uvloop",
        http="httptools",
        # Forwarded headers are not trusted: the gateway never derives identity from them.
        proxy_headers=False,
        server_header=False,
    )


async def _prepare_database(settings: Settings, *, migrate: bool) -> None:
    from tidings.store.migrate import SchemaNotMigrated, ensure_migrated

    where = redacted_url(settings.database_url)
    try:
        if migrate:
            await upgrade(settings.database_url)
        db = Database(settings.database_url)
        try:
            await ensure_migrated(db)
        finally:
            await db.close()
    except SchemaNotMigrated as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    except Exception as exc:  # the driver's text can carry the password: name the kind only
        err.print(f"[red]error:[/] database at {where} is unreachable ({type(exc).__name__})")
        raise typer.Exit(1) from None
    if settings.redis_url:
        await _check_redis(settings.redis_url)


async def _check_redis(url: str) -> None:
    """Scaled mode's shared rate limits need Redis: refuse to start without it, in one line."""
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
    try:
        await client.ping()
    except Exception as exc:
        err.print(f"[red]error:[/] Redis at {redacted_url(url)} is unreachable ({type(exc).__name__})")
        raise typer.Exit(1) from None
    finally:
        await client.aclose()


async def _prepare_install(settings: Settings) -> Applied:
    """The primary account on an empty database (its credentials printed now: they are shown
    once, even if a declaration below fails), then the config file's channels and routes."""
    from tidings.crypto import SecretBox
    from tidings.declarations import DeclarationError
    from tidings.features.accounts import AccountService
    from tidings.runtime import bootstrap, declare

    db = Database(settings.database_url)
    box = SecretBox(settings.resolved_secret_key())
    try:
        boot = await bootstrap(AccountService(db, box), settings)
        if boot is not None:
            print_bootstrap(boot, settings)
        return await declare(db, box, settings)
    except DeclarationError as exc:
        err.print(f"[red]error:[/] config file: {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from None
    finally:
        await db.close()


@app.command()
def migrate() -> None:
    """Apply database migrations (Alembic) up to the newest."""
    settings = settings_from_env()
    try:
        asyncio.run(upgrade(settings.database_url))
    except Exception as exc:
        err.print(f"[red]migration failed for {redacted_url(settings.database_url)}:[/] {type(exc).__name__}")
        raise typer.Exit(1) from None
    console.print(f"database {redacted_url(settings.database_url)} is at the newest schema")
