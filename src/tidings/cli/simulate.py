"""``tidings simulate <provider>``: run a provider's fake for local development and tests."""

from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING, Annotated

import typer

from tidings.cli.base import app, console

if TYPE_CHECKING:
    from tidings.simulators.twilio import FakeTwilio

simulate_app = typer.Typer(help="Run a fake provider on a local port.", no_args_is_help=True)
app.add_typer(simulate_app, name="simulate")


@simulate_app.command("twilio")
def twilio(
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port)", min=0, max=65535)] = 8765,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    account_sid: Annotated[str | None, typer.Option(help="Account SID to accept (default: random)")] = None,
    auth_token: Annotated[str | None, typer.Option(help="Auth Token to accept (default: random)")] = None,
    latency: Annotated[float, typer.Option(help="Seconds before answering each create", min=0)] = 0.0,
    callback_delay: Annotated[float, typer.Option(help="Seconds before each status callback", min=0)] = 0.5,
) -> None:
    """A fake Twilio Messages API: point a twilio channel's api_base_url at it."""
    from tidings.simulators.twilio import FakeTwilio

    fake = FakeTwilio(
        account_sid=account_sid,
        auth_token=auth_token,
        host=host,
        port=port,
        latency=latency,
        callback_delay=callback_delay,
    )
    asyncio.run(_serve(fake))


async def _serve(fake: FakeTwilio) -> None:
    url = await fake.start()
    # The fake's own throwaway credentials: printed so a channel can be configured with them.
    console.print(f"fake Twilio listening on {url}", soft_wrap=True)
    console.print(f"account_sid {fake.account_sid}", soft_wrap=True)
    console.print(f"auth_token {fake.auth_token}", soft_wrap=True)
    console.print(f"received messages: GET {url}/_fake/messages", soft_wrap=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await fake.close()
