"""``tidings channels``: add, list, show and remove channels of a running gateway, through its API
with the configured key. Credentials go in and are never printed."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Column, Table

from tidings.cli.base import api_client, app, console, err, settings_from_env
from tidings.client import ApiError, TidingsClient

channels_app = typer.Typer(help="Channels of a running gateway (through its API).", no_args_is_help=True)
app.add_typer(channels_app, name="channels")

# Pages of the listing fetched at most (1,000 channels each).
MAX_PAGES = 100


@channels_app.command("add")
def add(
    channel_type: Annotated[str, typer.Argument(metavar="TYPE", help="sandbox, twilio, ...")],
    name: Annotated[str, typer.Option(help="Name, unique in the account")],
    setting: Annotated[
        list[str] | None,
        typer.Option("--setting", help="key=value (repeatable); a value that parses as JSON is read as JSON"),
    ] = None,
    credential: Annotated[
        list[str] | None,
        typer.Option("--credential", help="key=value (repeatable); stored encrypted, never shown"),
    ] = None,
    sender: Annotated[list[str] | None, typer.Option("--sender", help="A sender (repeatable)")] = None,
    mps: Annotated[int | None, typer.Option(help="Messages per second across all workers", min=1)] = None,
    max_batch_size: Annotated[int | None, typer.Option(help="Messages per provider call", min=1)] = None,
    max_segments: Annotated[int | None, typer.Option(help="Segments a message may have", min=1)] = None,
    country: Annotated[
        list[str] | None, typer.Option("--country", help="Allowed destination country (repeatable)")
    ] = None,
    default: Annotated[bool, typer.Option("--default", help="Make it the account's default channel")] = False,
) -> None:
    """Add a channel to the account of the configured API key."""
    body: dict[str, Any] = {
        "type": channel_type,
        "name": name,
        "settings": {key: _setting_value(value) for key, value in _pairs(setting, "--setting")},
        "credentials": dict(_pairs(credential, "--credential", secret=True)),
        "is_default": default,
    }
    optional = {
        "senders": sender,
        "mps": mps,
        "max_batch_size": max_batch_size,
        "max_segments": max_segments,
        "countries": country,
    }
    body.update({key: value for key, value in optional.items() if value is not None})
    channel = _call(lambda client: client.request("POST", "/v1/channels", json=body))
    console.print(f"added {channel['type']} channel [bold]{escape(channel['name'])}[/] {channel['id']}")


@channels_app.command("list")
def list_channels() -> None:
    """The channels the configured key's account can send on (a parent's marked inherited)."""

    async def fetch(client: TidingsClient) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": 1000}
        for _ in range(MAX_PAGES):
            page = await client.request("GET", "/v1/channels", params=params)
            found += page["data"]
            if page["next_cursor"] is None:
                break
            params["cursor"] = page["next_cursor"]
        return found

    # Ids whole even on a narrow terminal: they are what `show` and `remove` take.
    table = Table(Column("id", no_wrap=True, min_width=30), "name", "type", "default", "mps", "batch")
    for heading in ("senders", "credentials", "owner"):
        table.add_column(heading)
    for channel in _call(fetch):
        table.add_row(
            channel["id"],
            escape(channel["name"]),
            channel["type"],
            "yes" if channel["is_default"] else "",
            str(channel["mps"] or "unlimited"),
            str(channel["max_batch_size"]),
            escape(", ".join(channel["senders"])),
            "set" if channel["has_credentials"] else "",
            "inherited" if channel["inherited"] else "own",
        )
    console.print(table)


@channels_app.command("show")
def show(channel_id: Annotated[str, typer.Argument(help="The channel's id (chn_…)")]) -> None:
    """One channel with its settings (credentials only as set or not)."""
    channel = _call(lambda client: client.request("GET", f"/v1/channels/{channel_id}"))
    table = Table(show_header=False)
    rows = [
        ("id", channel["id"]),
        ("name", channel["name"]),
        ("type", channel["type"]),
        ("account", channel["account_id"] + (" (inherited)" if channel["inherited"] else "")),
        ("default", "yes" if channel["is_default"] else "no"),
        ("senders", ", ".join(channel["senders"]) or "-"),
        ("mps", str(channel["mps"] or "unlimited")),
        ("max batch size", str(channel["max_batch_size"])),
        ("max segments", str(channel["max_segments"])),
        ("countries", ", ".join(channel["countries"] or []) or "any"),
        ("credentials", "set (never shown)" if channel["has_credentials"] else "none"),
        ("created", channel["created_at"]),
        ("updated", channel["updated_at"]),
    ]
    for key, value in (channel["settings"] or {}).items():
        rows.append((f"settings.{key}", json.dumps(value)))
    for key, value in rows:
        table.add_row(key, escape(value))
    console.print(table)


@channels_app.command("remove")
def remove(channel_id: Annotated[str, typer.Argument(help="The channel's id (chn_…)")]) -> None:
    """Delete a channel; refused while routes use it or messages on it are not final."""
    _call(lambda client: client.request("DELETE", f"/v1/channels/{channel_id}"))
    console.print(f"removed {channel_id}")


def _pairs(items: list[str] | None, option: str, *, secret: bool = False) -> list[tuple[str, str]]:
    pairs = []
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            # A credential given without its key is probably the secret itself: not echoed.
            shown = "" if secret else f", got {item!r}"
            err.print(f"[red]error:[/] {option} takes key=value{escape(shown)}")
            raise typer.Exit(2)
        pairs.append((key.strip(), value))
    return pairs


def _setting_value(text: str) -> Any:
    """``20`` → 20, ``true`` → True, ``["+1…"]`` → a list; anything else stays text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _call(request: Any) -> Any:
    """Run one API call (``request(client)`` → awaitable) and end with one line if it fails."""
    settings = settings_from_env()

    async def run() -> Any:
        async with api_client(settings) as client:
            return await request(client)

    try:
        return asyncio.run(run())
    except ApiError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(1) from None
