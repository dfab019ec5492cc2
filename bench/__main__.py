"""``python -m bench [bulk|singles|capped|twilio|smpp|compat-twilio|http-clients] [--quick]``: run
the scenarios on each configuration and print one table (``http-clients``, which needs no gateway,
its own)."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import compat_twilio, http_clients, scenarios
from bench.provider import start_fake_twilio
from bench.server import Config, start
from bench.smsc import start_fake_smsc

CONFIGS = [
    Config("sqlite FULL", {"TIDINGS_SQLITE_SYNCHRONOUS": "FULL"}),
    Config("sqlite NORMAL", {"TIDINGS_SQLITE_SYNCHRONOUS": "NORMAL"}),
    Config("sqlite 1 proc", {"TIDINGS_NUMBER_WORKERS": "0"}),
    Config("postgresql", postgres=True),
    Config(
        "pg: api + 2 workers",
        {
            "TIDINGS_REDIS_URL": "redis://127.0.0.1:6379/0",
            "TIDINGS_REDIS_KEY_PREFIX": f"bench-{uuid.uuid4().hex}",
        },
        postgres=True,
        workers=2,
    ),
]
CAPS = (100, 1_000)
# The Twilio channel against a fake that answers each create after 200 ms.
SLOW_PROVIDER_CAPS = (100, 500)
SLOW_PROVIDER_LATENCY_S = 0.2
SLOW_OPEN_RECIPIENTS = 5_000
SCENARIOS = {"bulk", "singles", "capped", "twilio", "smpp", "compat-twilio", "http-clients"}
# Scenarios run once, not on each gateway configuration.
STANDALONE = {"http-clients"}
SMPP_SESSIONS = (1, 2, 4)  # binds per channel, each with a window of 10
# An SMSC that answers each submit after 20 ms: a window of 10 then carries at most 500 msg/s,
# so binds, not the CPU, set the pace.
SMPP_FAR_DELAY_S = 0.02
console = Console()


async def run(which: set[str], quick: bool, config_names: set[str] | None) -> dict[str, Any]:
    results: dict[str, Any] = {}
    recipients = 20_000 if quick else 100_000
    for config in CONFIGS:
        if config_names and config.name not in config_names:
            continue
        row: dict[str, Any] = {}
        if "bulk" in which:
            server = await start(config)
            try:
                row["bulk"] = await scenarios.bulk(server, recipients)
            finally:
                await server.stop()
        if "singles" in which:
            server = await start(config)
            try:
                row["closed"] = await scenarios.singles_closed(server, requests=3_000 if quick else 10_000)
                row["paced"] = await scenarios.singles_paced(server, seconds=4 if quick else 10)
            finally:
                await server.stop()
        if "capped" in which:
            server = await start(config)
            try:
                for mps in CAPS:
                    row[f"capped {mps}"] = await scenarios.capped(server, mps, seconds=5 if quick else 10)
            finally:
                await server.stop()
        if "twilio" in which:
            server = await start(config)
            fake = await start_fake_twilio(server.workdir)
            try:
                channel = await scenarios.twilio_channel(server, fake)
                # The adapter's own path, API to Twilio's 201: the fake posts no callbacks. First,
                # on a fresh database as the sandbox's bulk run is.
                await fake.configure(status_callbacks=False)
                row["twilio sends"] = await scenarios.bulk(
                    server, recipients, channel=channel, until_sent=True
                )
                await fake.configure(status_callbacks=True)
                row["twilio bulk"] = await scenarios.bulk(server, recipients, channel=channel)
                await fake.configure(latency=SLOW_PROVIDER_LATENCY_S)
                # No mps: as fast as the in-flight limit allows, which has to grow to keep up
                # (a new channel, so its limit starts from the floor).
                slow = await scenarios.twilio_channel(server, fake)
                row["twilio slow open"] = await scenarios.bulk(server, SLOW_OPEN_RECIPIENTS, channel=slow)
                for mps in SLOW_PROVIDER_CAPS:
                    row[f"twilio slow {mps}"] = await scenarios.provider_capped(
                        server, fake, mps, seconds=5 if quick else 10
                    )
            finally:
                await fake.stop()
                await server.stop()
        if "smpp" in which:
            server = await start(config)
            smsc = await start_fake_smsc(server.workdir)
            far = await start_fake_smsc(server.workdir, response_delay=SMPP_FAR_DELAY_S)
            try:
                for sessions in SMPP_SESSIONS:
                    channel = await scenarios.smpp_channel(server, smsc.port, sessions)
                    row[f"smpp {sessions}"] = await scenarios.bulk(server, recipients, channel=channel)
                for sessions in SMPP_SESSIONS:
                    channel = await scenarios.smpp_channel(server, far.port, sessions)
                    row[f"smpp far {sessions}"] = await scenarios.bulk(
                        server, recipients // 10, channel=channel
                    )
            finally:
                await far.stop()
                await smsc.stop()
                await server.stop()
        if "compat-twilio" in which:
            server = await start(config)
            try:
                row["compat twilio"] = await compat_twilio.run(
                    server, requests=2_000 if quick else 10_000, max_s=15 if quick else 30
                )
            finally:
                await server.stop()
        results[config.name] = row
        console.print(f"[dim]{config.name} done[/]")
    return results


def _cpu_ms(result: Any) -> float:
    """Server CPU milliseconds per delivered message."""
    return float(result.cpu_s * 1000 / max(1, result.delivered))


def _path(result: compat_twilio.PathResult) -> str:
    return f"{result.latency.rate:,.0f} ({result.cpu_ms_per_message:.3f})"


def show(results: dict[str, Any]) -> None:
    table = Table(title="Tidings benchmarks (2-core machine, sandbox channel at zero latency)")
    table.add_column("measure")
    for name in results:
        table.add_column(name, justify="right")
    rows: list[tuple[str, Any]] = [
        ("bulk: recipients", lambda r: f"{r['bulk'].recipients:,}"),
        ("bulk: accepted (202) in s", lambda r: f"{r['bulk'].accept_s:.2f}"),
        ("bulk: all delivered in s", lambda r: f"{r['bulk'].delivered_s:.1f}"),
        ("bulk: end-to-end msg/s", lambda r: f"{r['bulk'].rate:,.0f}"),
        ("bulk: server CPU ms/msg", lambda r: f"{r['bulk'].cpu_s * 1000 / max(1, r['bulk'].delivered):.3f}"),
        ("singles, 50 clients: req/s", lambda r: f"{r['closed'].rate:,.0f}"),
        (
            "singles, 50 clients: p50 / p99 ms",
            lambda r: f"{r['closed'].p50_ms:.1f} / {r['closed'].p99_ms:.1f}",
        ),
        ("singles at 500/s: achieved req/s", lambda r: f"{r['paced'].rate:,.0f}"),
        ("singles at 500/s: p50 / p99 ms", lambda r: f"{r['paced'].p50_ms:.1f} / {r['paced'].p99_ms:.1f}"),
        *(
            (
                f"channel capped at {mps} mps: achieved",
                lambda r, mps=mps: f"{r[f'capped {mps}'].rate:,.1f} ({r[f'capped {mps}'].deviation:+.1%})",
            )
            for mps in CAPS
        ),
        ("twilio (fake, 0 ms): end-to-end msg/s", lambda r: f"{r['twilio bulk'].rate:,.0f}"),
        (
            "twilio / sandbox end-to-end",
            lambda r: f"{r['twilio bulk'].rate / r['bulk'].rate:.2f}",
        ),
        ("twilio sends (API to 201, no callbacks): msg/s", lambda r: f"{r['twilio sends'].rate:,.0f}"),
        ("twilio sends / sandbox", lambda r: f"{r['twilio sends'].rate / r['bulk'].rate:.2f}"),
        ("twilio sends: server CPU ms/msg", lambda r: f"{_cpu_ms(r['twilio sends']):.3f}"),
        (
            f"twilio, no mps, fake 200 ms: msg/s ({SLOW_OPEN_RECIPIENTS:,})",
            lambda r: f"{r['twilio slow open'].rate:,.0f}",
        ),
        (
            "twilio bulk: server CPU ms/msg",
            lambda r: f"{r['twilio bulk'].cpu_s * 1000 / max(1, r['twilio bulk'].delivered):.3f}",
        ),
        *(
            (
                f"twilio at {mps} mps, fake 200 ms: achieved",
                lambda r, mps=mps: (
                    f"{r[f'twilio slow {mps}'].rate:,.1f} ({r[f'twilio slow {mps}'].deviation:+.1%})"
                ),
            )
            for mps in SLOW_PROVIDER_CAPS
        ),
        *(
            (
                f"smpp, {n} bind(s) × window 10: msg/s (CPU ms/msg)",
                lambda r, n=n: f"{r[f'smpp {n}'].rate:,.0f} ({_cpu_ms(r[f'smpp {n}']):.3f})",
            )
            for n in SMPP_SESSIONS
        ),
        *(
            (
                f"smpp, SMSC answering in 20 ms, {n} bind(s): msg/s",
                lambda r, n=n: f"{r[f'smpp far {n}'].rate:,.0f}",
            )
            for n in SMPP_SESSIONS
        ),
        (
            "native POST /v1/messages, 50 clients: req/s (CPU ms/msg)",
            lambda r: _path(r["compat twilio"].native),
        ),
        (
            "twilio POST …/Messages.json, 50 clients: req/s (CPU ms/msg)",
            lambda r: _path(r["compat twilio"].compat),
        ),
        (
            f"twilio / native CPU per message (target ≤ {compat_twilio.TARGET_RATIO})",
            lambda r: f"{r['compat twilio'].ratio:.2f}",
        ),
        ("errors", lambda r: str(sum(getattr(r.get(k), "errors", 0) for k in ("closed", "paced")))),
    ]
    for label, cell in rows:
        values = []
        for row in results.values():
            try:
                values.append(cell(row))
            except (KeyError, ZeroDivisionError):
                values.append("-")
        table.add_row(label, *values)
    console.print(table)


def _plain(result: Any) -> Any:
    """A result as JSON takes it (the compat result nests two)."""
    if isinstance(result, compat_twilio.CompatResult):
        return {"native": _plain(result.native), "compat": _plain(result.compat), "ratio": result.ratio}
    if isinstance(result, compat_twilio.PathResult):
        return {"latency": vars(result.latency), "cpu_s": result.cpu_s}
    return vars(result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    # No `choices=`: argparse checks an empty `nargs="*"` list against them and refuses it.
    parser.add_argument("scenarios", nargs="*", help=f"{', '.join(sorted(SCENARIOS))} (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller runs, for a smoke check")
    parser.add_argument("--config", action="append", help="only this configuration (repeatable)")
    parser.add_argument(
        "--in-flight",
        type=int,
        default=http_clients.IN_FLIGHT,
        help=f"http-clients: sends in flight at once (default {http_clients.IN_FLIGHT})",
    )
    args = parser.parse_args()
    which = set(args.scenarios or SCENARIOS)
    if not which <= SCENARIOS:
        parser.error(f"scenarios are: {', '.join(sorted(SCENARIOS))}")
    if not 1 <= args.in_flight <= 1_000:
        parser.error("--in-flight is from 1 to 1000")
    serialisable: dict[str, Any] = {}
    if which - STANDALONE:
        results = asyncio.run(run(which, args.quick, set(args.config) if args.config else None))
        show(results)
        serialisable = {name: {k: _plain(v) for k, v in row.items()} for name, row in results.items()}
    if "http-clients" in which:
        runs = asyncio.run(http_clients.run(quick=args.quick, in_flight=args.in_flight))
        http_clients.show(runs, in_flight=args.in_flight)
        serialisable["http-clients"] = http_clients.serialisable(runs)
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / f"{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(serialisable, indent=2))


if __name__ == "__main__":
    main()
