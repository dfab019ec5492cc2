"""``keys`` and ``accounts``: administration on the database directly, no server needed."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.table import Table

from tidings.cli.base import (
    accounts_app,
    console,
    err,
    fail,
    keys_app,
    print_bootstrap,
    settings_from_env,
)
from tidings.core.tenancy import Principal, Role
from tidings.crypto import SecretBox
from tidings.errors import TidingsError
from tidings.features.accounts import AccountService
from tidings.store.engine import Database
from tidings.store.migrate import upgrade


async def _admin() -> tuple[Database, AccountService, Principal]:
    """Shell access acts as an admin of the primary account (whoever can read the database can)."""
    settings = settings_from_env()
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
            fail(exc)
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
            keys = (await service.list_keys(admin, cursor=None, limit=1000)).rows
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
            fail(exc)
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
        settings = settings_from_env()
        if settings.is_sqlite:
            await upgrade(settings.database_url)
        db = Database(settings.database_url)
        service = AccountService(db, SecretBox(settings.resolved_secret_key()))
        try:
            boot = await service.bootstrap(bootstrap_key=None, name=name)
            if boot is not None:
                print_bootstrap(boot, settings)
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
