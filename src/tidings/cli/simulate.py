"""``tidings simulate <provider>``: run a provider's fake for local development and tests."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Protocol

import typer

from tidings.cli.base import app, console
from tidings.cli.heap import freeze_startup_objects

simulate_app = typer.Typer(help="Run a fake provider on a local port.", no_args_is_help=True)
app.add_typer(simulate_app, name="simulate")


# Every fake listens on a port (each command has its own default) of one interface.
PortOption = Annotated[int, typer.Option(help="Port to listen on (0: any free port)", min=0, max=65535)]
HostOption = Annotated[str, typer.Option(help="Interface to listen on")]


def _seconds(help: str) -> Any:
    """A delay the fake waits, in seconds."""
    return typer.Option(help=help, min=0)


def _or_random(help: str) -> Any:
    """A credential or id the fake makes up when none is given."""
    return typer.Option(help=f"{help} (default: random)")


@simulate_app.command("twilio")
def twilio(
    port: PortOption = 8765,
    host: HostOption = "127.0.0.1",
    account_sid: Annotated[str | None, _or_random("Account SID to accept")] = None,
    auth_token: Annotated[str | None, _or_random("Auth Token to accept")] = None,
    latency: Annotated[float, _seconds("Seconds before answering each create")] = 0.0,
    callback_delay: Annotated[float, _seconds("Seconds before each status callback")] = 0.5,
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
    _serve_http(fake, "Twilio", {"account_sid": fake.account_sid, "auth_token": fake.auth_token})


@simulate_app.command("flowroute")
def flowroute(
    port: PortOption = 8766,
    host: HostOption = "127.0.0.1",
    access_key: Annotated[str | None, _or_random("Access key to accept")] = None,
    secret_key: Annotated[str | None, _or_random("Secret key to accept")] = None,
    latency: Annotated[float, _seconds("Seconds before answering each send")] = 0.0,
    callback_delay: Annotated[float, _seconds("Seconds before each delivery receipt")] = 0.5,
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
    _serve_http(fake, "Flowroute", {"access_key": fake.access_key, "secret_key": fake.secret_key})


@simulate_app.command("viber")
def viber(
    port: PortOption = 8767,
    host: HostOption = "127.0.0.1",
    auth_token: Annotated[str | None, _or_random("Bot auth token to accept")] = None,
    latency: Annotated[float, _seconds("Seconds before answering each send")] = 0.0,
    callback_delay: Annotated[float, _seconds("Seconds before each receipt callback")] = 0.5,
) -> None:
    """A fake Viber REST bot API: point a viber channel's api_base_url at it."""
    from tidings.simulators.viber import FakeViber

    fake = FakeViber(
        auth_token=auth_token, host=host, port=port, latency=latency, callback_delay=callback_delay
    )
    _serve_http(fake, "Viber", {"auth_token": fake.auth_token})


@simulate_app.command("telegram")
def telegram(
    port: PortOption = 8769,
    host: HostOption = "127.0.0.1",
    bot_token: Annotated[str | None, _or_random("Bot token to accept")] = None,
    webhook_secret: Annotated[str | None, _or_random("Secret for Updates until setWebhook sets one")] = None,
    latency: Annotated[float, _seconds("Seconds before answering each call")] = 0.0,
) -> None:
    """A fake Telegram Bot API: point a telegram channel's api_base_url at it."""
    from tidings.simulators.telegram import FakeTelegram

    fake = FakeTelegram(
        bot_token=bot_token, webhook_secret=webhook_secret, host=host, port=port, latency=latency
    )
    _serve_http(
        fake, "Telegram Bot API", {"bot_token": fake.bot_token, "webhook_secret": fake.webhook_secret}
    )


@simulate_app.command("whatsapp")
def whatsapp(
    port: PortOption = 8768,
    host: HostOption = "127.0.0.1",
    access_token: Annotated[str | None, _or_random("Bearer token to accept")] = None,
    app_secret: Annotated[str | None, _or_random("Secret that signs notifications")] = None,
    phone_number_id: Annotated[str | None, _or_random("Business phone number id")] = None,
    display_phone_number: Annotated[str, typer.Option(help="The business number, digits")] = "15550783881",
    webhook_url: Annotated[
        str | None,
        typer.Option(help="Callback URL for notifications: {gateway}/webhooks/{channel_id}/events"),
    ] = None,
    latency: Annotated[float, _seconds("Seconds before answering each send")] = 0.0,
    status_delay: Annotated[float, _seconds("Seconds before each status notification")] = 0.5,
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
    credentials = {
        "phone_number_id": fake.phone_number_id,
        "access_token": fake.access_token,
        "app_secret": fake.app_secret,
    }
    _serve_http(
        fake,
        "WhatsApp Cloud API",
        credentials,
        lambda url: [f'open a number\'s 24 h window: POST {url}/_fake/window {{"number": "+1…"}}'],
    )


@simulate_app.command("smpp")
def smpp(
    port: PortOption = 2775,
    host: HostOption = "127.0.0.1",
    receipt_delay: Annotated[float, _seconds("Seconds before each delivery receipt")] = 0.5,
    response_delay: Annotated[float, _seconds("Seconds before each submit_sm_resp")] = 0.0,
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


def _serve_http(
    fake: _Fake,
    title: str,
    credentials: Mapping[str, str | None],
    notes: Callable[[str], list[str]] = lambda _: [],
) -> None:
    """:func:`_serve` for a fake HTTP provider: its URL, the ``credentials`` a channel needs,
    ``notes`` on its own steering (of its URL) and where the messages it received are listed."""
    _serve(
        fake,
        lambda url: [
            f"fake {title} listening on {url}",
            *(f"{name} {value}" for name, value in credentials.items()),
            *notes(url),
            f"received messages: GET {url}/_fake/messages",
        ],
    )


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
