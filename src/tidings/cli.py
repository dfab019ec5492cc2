"""The ``tidings`` command line: run the gateway, migrate, send, and administer from the shell."""

from __future__ import annotations

import asyncio
import csv
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tidings.client import ApiError, TidingsClient
from tidings.config import Settings, load_settings, use_config_file
from tidings.core.numbers import InvalidNumberError, normalize_number, normalize_numbers
from tidings.core.templates import placeholders
from tidings.core.tenancy import Principal, Role
from tidings.crypto import SecretBox
from tidings.errors import TidingsError
from tidings.features.accounts.service import AccountService
from tidings.store.engine import Database, redacted_url
from tidings.store.migrate import upgrade

app = typer.Typer(help="Tidings messaging gateway.", no_args_is_help=True, add_completion=False)
keys_app = typer.Typer(help="API keys (works on the database directly).", no_args_is_help=True)
accounts_app = typer.Typer(help="Accounts (works on the database directly).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(accounts_app, name="accounts")
console = Console()
err = Console(stderr=True, soft_wrap=True)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="TOML settings file", exists=True, dir_okay=False)
]
FINAL = {"delivered", "undelivered", "failed", "canceled", "expired", "received"}


@app.callback()
def main(config: ConfigOption = None) -> None:
    use_config_file(config)


def _settings(**overrides: Any) -> Settings:
    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except Exception as exc:  # pydantic's message names the bad setting, never a secret's value
        err.print(f"[red]invalid configuration:[/] {exc}")
        raise typer.Exit(2) from None


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
) -> None:
    """Run the API and the dispatcher in one process (embedded mode: migrates SQLite itself)."""
    settings = _settings(host=host, port=port)
    _run_server(settings, run_dispatcher=True, migrate_first=settings.is_sqlite)


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="Interface to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
) -> None:
    """Run the HTTP API only (scaled mode; workers dispatch)."""
    _run_server(_settings(host=host, port=port), run_dispatcher=False, migrate_first=False)


def _run_server(settings: Settings, *, run_dispatcher: bool, migrate_first: bool) -> None:
    import uvicorn

    from tidings import logs
    from tidings.runtime import Gateway
    from tidings.web.app import create_app

    logs.configure(settings.log_level, settings.log_format)
    # Checked before the server starts so a bad database gives one clear line, not a trace.
    asyncio.run(_prepare_database(settings, migrate=migrate_first))
    gateway = Gateway(settings, run_dispatcher=run_dispatcher)
    app_ = create_app(settings, gateway=gateway)

    original_start = gateway.start

    async def start_and_announce() -> None:
        await original_start()
        if gateway.bootstrapped is not None:
            _print_bootstrap(gateway.bootstrapped, settings)
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


def _print_bootstrap(boot: Any, settings: Settings) -> None:
    table = Table(title="New Tidings install: save these, they are shown once", show_header=False)
    table.add_row("account id", boot.account_id)
    table.add_row("auth token", boot.auth_token)
    if settings.bootstrap_key is None:
        table.add_row("admin API key", boot.api_key)
    else:
        table.add_row("admin API key", "the value of TIDINGS_BOOTSTRAP_KEY")
    table.add_row("sandbox channel", boot.sandbox_channel_id)
    console.print(table)


@app.command()
def migrate() -> None:
    """Apply database migrations (Alembic) up to the newest."""
    settings = _settings()
    try:
        asyncio.run(upgrade(settings.database_url))
    except Exception as exc:
        err.print(f"[red]migration failed for {redacted_url(settings.database_url)}:[/] {type(exc).__name__}")
        raise typer.Exit(1) from None
    console.print(f"database {redacted_url(settings.database_url)} is at the newest schema")


@app.command()
def normalize(
    numbers: Annotated[list[str], typer.Argument(help="Numbers to check")],
    country: Annotated[
        str | None, typer.Option(help="Default country for national numbers (ISO code)")
    ] = None,
) -> None:
    """Normalise numbers to E.164 and show which are invalid and why (no server needed)."""
    region = country.upper() if country else None
    result = normalize_numbers(numbers, region, None)
    table = Table("input", "result")
    seen: set[str] = set()
    for raw in numbers:
        try:
            e164 = normalize_number(raw, region)
        except InvalidNumberError as error:
            table.add_row(raw, f"[red]invalid: {error.reason}[/]")
            continue
        table.add_row(raw, "[yellow]duplicate[/]" if e164 in seen else f"[green]{e164}[/]")
        seen.add(e164)
    console.print(table)
    console.print(f"{len(result.valid)} valid, {len(result.invalid)} invalid, {result.duplicates} duplicates")


@app.command()
def send(
    body: Annotated[str, typer.Option(help="Text, or a template with {{column}} slots for --to-file")],
    to: Annotated[list[str] | None, typer.Option(help="Recipient (repeatable)")] = None,
    to_file: Annotated[
        Path | None,
        typer.Option(
            help="CSV with a `to` column; other columns fill the template",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    channel: Annotated[str | None, typer.Option(help="Channel id or name")] = None,
    send_at: Annotated[str | None, typer.Option(help="RFC 3339 time to send at")] = None,
    country: Annotated[str | None, typer.Option(help="Default country for national numbers")] = None,
    wait: Annotated[bool, typer.Option(help="Show progress until every message is final")] = True,
) -> None:
    """Send one message, a list, or a CSV file through a running gateway."""
    settings = _settings()
    if not to and to_file is None:
        err.print("[red]give --to or --to-file[/]")
        raise typer.Exit(2)
    payload: dict[str, Any] = {"body": body}
    if to_file is not None:
        payload.update(_recipients_from_csv(to_file, body))
    else:
        payload["to"] = to[0] if to and len(to) == 1 else to
    for key, value in (("channel", channel), ("send_at", send_at), ("default_country", country)):
        if value is not None:
            payload[key] = value
    asyncio.run(_send(settings, payload, wait))


def _recipients_from_csv(path: Path, body: str) -> dict[str, Any]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        err.print(f"[red]{path} has no rows[/]")
        raise typer.Exit(2)
    columns = {c.lower().strip(): c for c in rows[0]}
    number_column = next(
        (columns[c] for c in ("to", "number", "phone", "msisdn", "mobile") if c in columns), None
    )
    if number_column is None:
        err.print(f"[red]{path} needs a column named to, number, phone, msisdn or mobile[/]")
        raise typer.Exit(2)
    if placeholders(body):
        return {
            "recipients": [
                {
                    "to": row[number_column],
                    "vars": {k: v for k, v in row.items() if k != number_column},
                }
                for row in rows
            ]
        }
    return {"to": [row[number_column] for row in rows]}


async def _send(settings: Settings, payload: dict[str, Any], wait: bool) -> None:
    async with _client(settings) as client:
        try:
            batch = await client.request("POST", "/v1/messages", json=payload)
        except ApiError as exc:
            err.print(f"[red]{exc}[/]")
            raise typer.Exit(1) from None
        console.print(
            f"batch [bold]{batch['id']}[/]: {batch['accepted']} accepted, "
            f"{len(batch['invalid'])} invalid, {batch['duplicates']} duplicates, "
            f"{batch['segments'] or 'varying'} segment(s) {batch['encoding'] or ''}"
        )
        for item in batch["invalid"][:20]:
            console.print(f"  [yellow]invalid[/] {item['input']}: {item['reason']}")
        if not wait or batch["accepted"] == 0 or batch["send_at"]:
            return
        await _follow(client, batch)


async def _follow(client: TidingsClient, batch: dict[str, Any]) -> None:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("sending", total=batch["accepted"])
        while True:
            status = await client.request("GET", f"/v1/batches/{batch['id']}")
            progress.update(task, completed=status["done"])
            if status["done"] >= status["accepted"]:
                break
            await asyncio.sleep(0.5)
    counts = ", ".join(f"{n} {s}" for s, n in sorted(status["status_counts"].items()))
    console.print(f"done: {counts}")


@app.command()
def status(
    ref: Annotated[str, typer.Argument(help="A message id (msg_…) or batch id (bat_…)")],
) -> None:
    """Show a message with its status history, or a batch's progress."""
    asyncio.run(_status(_settings(), ref))


async def _status(settings: Settings, ref: str) -> None:
    async with _client(settings) as client:
        try:
            if ref.startswith("bat_"):
                batch = await client.request("GET", f"/v1/batches/{ref}")
                console.print(f"batch {ref}: {batch['done']}/{batch['accepted']} final")
                table = Table("status", "messages")
                for name, count in sorted(batch["status_counts"].items()):
                    table.add_row(name, str(count))
                console.print(table)
                return
            message = await client.request("GET", f"/v1/messages/{ref}")
            events = await client.request("GET", f"/v1/messages/{ref}/events")
        except ApiError as exc:
            err.print(f"[red]{exc}[/]")
            raise typer.Exit(1) from None
    console.print(f"{message['id']} to {message['to']}: [bold]{message['status']}[/]")
    if message["error"]:
        console.print(f"  error {message['error']['code']}: {message['error']['message']}")
    table = Table("at", "status", "code", "detail")
    for event in events["data"]:
        table.add_row(event["at"], event["status"], event["code"] or "", event["detail"] or "")
    console.print(table)


def _client(settings: Settings) -> TidingsClient:
    if settings.api_key is None:
        err.print("[red]set TIDINGS_API_KEY to an API key of the gateway at TIDINGS_API_URL[/]")
        raise typer.Exit(2)
    return TidingsClient(settings.api_url, settings.api_key.get_secret_value())


async def _admin() -> tuple[Database, AccountService, Principal]:
    """Shell access acts as an admin of the primary account (whoever can read the database can)."""
    settings = _settings()
    db = Database(settings.database_url)
    service = AccountService(db, SecretBox(settings.resolved_secret_key()))
    from tidings.store.migrate import ensure_migrated

    try:
        await ensure_migrated(db)
    except Exception as exc:
        await db.close()
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    primary = await service.primary_account_id()
    if primary is None:
        await db.close()
        err.print("[red]no account yet: start `tidings serve` once, or run `tidings accounts create`[/]")
        raise typer.Exit(1)
    visible = await service.visible_accounts(primary)
    return db, service, Principal(primary, Role.ADMIN, frozenset(visible))


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="What the key is for")] = "cli",
    role: Annotated[Role, typer.Option(help="admin, sender or viewer")] = Role.SENDER,
    account: Annotated[str | None, typer.Option(help="Account id (default: the primary account)")] = None,
) -> None:
    """Create an API key and print its secret once."""

    async def run() -> None:
        db, service, admin = await _admin()
        try:
            new = await service.create_key(admin, name=name, role=role, account_id=account)
        except TidingsError as exc:
            _fail(exc)
        finally:
            await db.close()
        console.print(f"key {new.key['id']} ({role.value}) for {new.key['account_id']}:")
        console.print(new.secret, soft_wrap=True)

    asyncio.run(run())


@keys_app.command("list")
def keys_list() -> None:
    """List API keys of the primary account and its subaccounts."""

    async def run() -> None:
        db, service, admin = await _admin()
        try:
            keys = await service.list_keys(admin, after=None, limit=1000)
        finally:
            await db.close()
        table = Table("id", "account", "name", "role", "prefix", "revoked")
        for key in keys:
            table.add_row(
                key["id"],
                key["account_id"],
                key["name"],
                key["role"],
                key["key_prefix"],
                "yes" if key["revoked_at"] else "",
            )
        console.print(table)

    asyncio.run(run())


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key's id (key_…)")]) -> None:
    """Revoke an API key."""

    async def run() -> None:
        db, service, admin = await _admin()
        try:
            await service.revoke_key(admin, key_id)
        except TidingsError as exc:
            _fail(exc)
        finally:
            await db.close()
        console.print(f"revoked {key_id}")

    asyncio.run(run())


@accounts_app.command("create")
def accounts_create(
    name: Annotated[str, typer.Option(help="Account name")],
) -> None:
    """Create a subaccount of the primary account (or the primary itself on an empty database)."""

    async def run() -> None:
        settings = _settings()
        await upgrade(settings.database_url) if settings.is_sqlite else None
        db = Database(settings.database_url)
        service = AccountService(db, SecretBox(settings.resolved_secret_key()))
        try:
            boot = await service.bootstrap(bootstrap_key=None, name=name)
            if boot is not None:
                _print_bootstrap(boot, settings)
                return
        finally:
            await db.close()
        db, service, admin = await _admin()
        try:
            account, token = await service.create_account(admin, name)
        finally:
            await db.close()
        console.print(f"account {account['id']} (parent {account['parent_id']}), auth token:")
        console.print(token, soft_wrap=True)

    asyncio.run(run())


def _fail(exc: TidingsError) -> NoReturn:
    err.print(f"[red]error:[/] {exc.message} ({exc.code})")
    raise typer.Exit(1)


def run() -> None:  # pragma: no cover - console entry point
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    run()
