"""``send``, ``status`` and ``normalize``: the commands a developer uses day to day."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tidings.cli.base import (
    api_client,
    app,
    console,
    err,
    settings_from_env,
)
from tidings.client import ApiError, TidingsClient
from tidings.config import Settings
from tidings.core.numbers import InvalidNumberError, normalize_number, normalize_numbers
from tidings.core.templates import placeholders


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
    settings = settings_from_env()
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
    async with api_client(settings) as client:
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
    asyncio.run(_status(settings_from_env(), ref))


async def _status(settings: Settings, ref: str) -> None:
    async with api_client(settings) as client:
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
