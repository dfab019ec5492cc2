"""``tidings simulate <provider>``: run a provider's fake for local development and tests."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from typing import Annotated, Protocol

import typer

from tidings.cli.base import app, console
from tidings.cli.heap import freeze_startup_objects

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
    _serve(
        fake,
        lambda url: [
            f"fake Twilio listening on {url}",
            f"account_sid {fake.account_sid}",
            f"auth_token {fake.auth_token}",
            f"received messages: GET {url}/_fake/messages",
        ],
    )


@simulate_app.command("flowroute")
def flowroute(
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port)", min=0, max=65535)] = 8766,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    access_key: Annotated[str | None, typer.Option(help="Access key to accept (default: random)")] = None,
    secret_key: Annotated[str | None, typer.Option(help="Secret key to accept (default: random)")] = None,
    latency: Annotated[float, typer.Option(help="Seconds before answering each send", min=0)] = 0.0,
    callback_delay: Annotated[float, typer.Option(help="Seconds before each delivery receipt", min=0)] = 0.5,
) -> None:
    """A fake Flowroute Messaging API (v2.1 and v2.2): point a flowroute channel's api_base_url at it."""
    from tidings.simulators.flowroute import FakeFlowroute

    fake = FakeFlowroute(
        access_key=access_key,
        secret_key=secret_key,
        host=host,
        port=port,
        latency=latency,
        callback_delay=callback_delay,
    )
    _serve(
        fake,
        lambda url: [
            f"fake Flowroute listening on {url}",
            f"access_key {fake.access_key}",
            f"secret_key {fake.secret_key}",
            f"received messages: GET {url}/_fake/messages",
        ],
    )


@simulate_app.command("viber")
def viber(
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port)", min=0, max=65535)] = 8767,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    auth_token: Annotated[str | None, typer.Option(help="Bot auth token to accept (default: random)")] = None,
    latency: Annotated[float, typer.Option(help="Seconds before answering each send", min=0)] = 0.0,
    callback_delay: Annotated[float, typer.Option(help="Seconds before each receipt callback", min=0)] = 0.5,
) -> None:
    """A fake Viber REST bot API: point a viber channel's api_base_url at it."""
    from tidings.simulators.viber import FakeViber

    fake = FakeViber(
        auth_token=auth_token, host=host, port=port, latency=latency, callback_delay=callback_delay
    )

    _serve(
        fake,
        lambda url: [
            f"fake Viber listening on {url}",
            f"auth_token {fake.auth_token}",
            f"received messages: GET {url}/_fake/messages",
        ],
    )


@simulate_app.command("telegram")
def telegram(
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port)", min=0, max=65535)] = 8769,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    bot_token: Annotated[str | None, typer.Option(help="Bot token to accept (default: random)")] = None,
    webhook_secret: Annotated[
        str | None, typer.Option(help="Secret for Updates until setWebhook sets one (default: random)")
    ] = None,
    latency: Annotated[float, typer.Option(help="Seconds before answering each call", min=0)] = 0.0,
) -> None:
    """A fake Telegram Bot API: point a telegram channel's api_base_url at it."""
    from tidings.simulators.telegram import FakeTelegram

    fake = FakeTelegram(
        bot_token=bot_token, webhook_secret=webhook_secret, host=host, port=port, latency=latency
    )

    _serve(
        fake,
        lambda url: [
            f"fake Telegram Bot API listening on {url}",
            f"bot_token {fake.bot_token}",
            f"webhook_secret {fake.webhook_secret}",
            f"received messages: GET {url}/_fake/messages",
        ],
    )


@simulate_app.command("whatsapp")
def whatsapp(
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port)", min=0, max=65535)] = 8768,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    access_token: Annotated[str | None, typer.Option(help="Bearer token to accept (default: random)")] = None,
    app_secret: Annotated[
        str | None, typer.Option(help="Secret that signs notifications (default: random)")
    ] = None,
    phone_number_id: Annotated[
        str | None, typer.Option(help="Business phone number id (default: random)")
    ] = None,
    display_phone_number: Annotated[str, typer.Option(help="The business number, digits")] = "15550783881",
    webhook_url: Annotated[
        str | None,
        typer.Option(help="Callback URL for notifications: {gateway}/webhooks/{channel_id}/events"),
    ] = None,
    latency: Annotated[float, typer.Option(help="Seconds before answering each send", min=0)] = 0.0,
    status_delay: Annotated[float, typer.Option(help="Seconds before each status notification", min=0)] = 0.5,
) -> None:
    """A fake WhatsApp Cloud API: point a whatsapp channel's api_base_url at it."""
    from tidings.simulators.whatsapp import FakeWhatsApp

    fake = FakeWhatsApp(
        access_token=access_token,
        app_secret=app_secret,
        phone_number_id=phone_number_id,
        display_phone_number=display_phone_number,
        webhook_url=webhook_url,
        host=host,
        port=port,
        latency=latency,
        status_delay=status_delay,
    )

    _serve(
        fake,
        lambda url: [
            f"fake WhatsApp Cloud API listening on {url}",
            f"phone_number_id {fake.phone_number_id}",
            f"access_token {fake.access_token}",
            f"app_secret {fake.app_secret}",
            f'open a number\'s 24 h window: POST {url}/_fake/window {{"number": "+1…"}}',
            f"received messages: GET {url}/_fake/messages",
        ],
    )


@simulate_app.command("smpp")
def smpp(
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port)", min=0, max=65535)] = 2775,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    receipt_delay: Annotated[float, typer.Option(help="Seconds before each delivery receipt", min=0)] = 0.5,
    response_delay: Annotated[float, typer.Option(help="Seconds before each submit_sm_resp", min=0)] = 0.0,
    id_base: Annotated[str, typer.Option(help="Message ids in submit_sm_resp: decimal or hex")] = "decimal",
    receipt_id_base: Annotated[
        str | None, typer.Option(help="Message ids in receipts: decimal or hex (default: as id-base)")
    ] = None,
) -> None:
    """A fake SMSC (SMPP 3.4): point an smpp channel's host and port at it; any bind is accepted."""
    from tidings.simulators.smpp import FakeSmsc

    bases = ("decimal", "hex")
    if id_base not in bases or receipt_id_base not in (*bases, None):
        raise typer.BadParameter("id bases are decimal or hex")
    fake = FakeSmsc(host=host, port=port, receipt_delay=receipt_delay, response_delay=response_delay)
    fake.id_base = "hex" if id_base == "hex" else "decimal"
    fake.receipt_id_base = (
        None if receipt_id_base is None else ("hex" if receipt_id_base == "hex" else "decimal")
    )

    _serve(
        fake,
        lambda url: [
            f"fake SMSC listening on {url} (SMPP 3.4, any system_id/password)",
        ],
        on_stop=lambda: f"{len(fake.received_messages)} submits taken, {fake.binds} binds",
    )


class _Fake(Protocol):
    async def start(self) -> str: ...

    async def close(self) -> None: ...


def _serve(
    fake: _Fake, describe: Callable[[str], list[str]], *, on_stop: Callable[[], str] | None = None
) -> None:
    """Start ``fake``, print what a channel needs to use it (``describe`` of its address: the
    fake's own throwaway credentials), and run until SIGINT or SIGTERM."""

    async def run() -> None:
        address = await fake.start()
        freeze_startup_objects()
        for line in describe(address):
            console.print(line, soft_wrap=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            if on_stop is not None:
                console.print(on_stop(), soft_wrap=True)
            await fake.close()

    import uvloop  # as the gateway runs: a fake on the slower default loop was the bench's limit

    uvloop.run(run())
