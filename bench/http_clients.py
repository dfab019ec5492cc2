"""``python -m bench http-clients [--quick]``: the Twilio adapter's ``send()`` through each HTTP
client (the shipped keep-alive client, aiohttp, httpx) to the fake Twilio, in one run.

The fake runs in its own process (``tidings simulate twilio``, as the other Twilio scenarios
run it). Each measurement is a fresh sender process that stands in for the gateway's worker: it
runs on uvloop with its start-up heap frozen, as ``tidings serve`` does, opens one Twilio channel
over the configuration's client, sends a warm-up, then ``MESSAGES`` messages with ``IN_FLIGHT``
calls at once, and reports its own CPU time over the measured sends only, so the fake's CPU is
never counted. Configurations alternate within each round, each round in a rotated order, so a
machine that gets busier or quieter during the run weighs on all of them alike.

Docs: ``docs/decisions/0003-provider-http-client.md`` records the figures and the choice.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.provider import FakeTwilioProcess, start_fake_twilio
from bench.scenarios import percentile
from bench.server import cpu_seconds
from bench.transports import twilio_channel_class
from tidings.channels.base import ChannelReports, OutboundMessage, SendError
from tidings.channels.twilio.config import TwilioCredentials, TwilioSettings
from tidings.cli.heap import freeze_startup_objects

MESSAGES = 20_000
WARMUP = 1_000  # not measured: connections opened, caches filled
ROUNDS = 5
QUICK = {"messages": 3_000, "warmup": 300, "rounds": 2}
# Calls in flight: where the dispatcher's adaptive limit stays against a provider that answers at
# once (its floor, dispatch.channel_min_concurrency; docs/limits.md).
IN_FLIGHT = 32
SEND_DEADLINE_S = 120.0  # each of the warm-up and the measured sends, in one sender process
SENDER = "+15005550006"
CONFIGURATIONS = ("keep-alive", "aiohttp", "httpx")
BASELINE = "keep-alive"
console = Console()


@dataclass
class ClientRun:
    transport: str
    round: int
    messages: int  # measured sends that returned (errors included)
    errors: int
    seconds: float
    cpu_s: float  # the sender process's CPU over the measured sends
    p50_ms: float
    p99_ms: float
    fake_cpu_s: float  # the fake's CPU over the whole sender run (warm-up included)
    fake_messages: int  # what the fake accepted over that run

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms(self) -> float:
        return self.cpu_s * 1000 / max(1, self.messages)

    @property
    def fake_cpu_ms(self) -> float:
        return self.fake_cpu_s * 1000 / max(1, self.fake_messages)


# -- the sender process -------------------------------------------------------------------------


async def _send_all(channel: Any, count: int, prefix: str, in_flight: int) -> tuple[list[float], int]:
    """``count`` sends, ``in_flight`` at a time, within :data:`SEND_DEADLINE_S`; each send's
    latency in seconds, and how many raised."""
    messages = [
        OutboundMessage(
            id=f"msg_{prefix}{n}",
            account_id="acc_bench",
            sender=SENDER,
            recipient=f"+27{prefix}{n:07d}",
            body="benchmark",
            encoding="gsm7",
            segments=1,
            attempt=1,
        )
        for n in range(count)
    ]
    queue = iter(messages)
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + SEND_DEADLINE_S

    async def sender() -> None:
        nonlocal errors
        for message in queue:
            if time.perf_counter() > stop_at:
                return
            started = time.perf_counter()
            try:
                await channel.send(message)
            except SendError:
                errors += 1
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(sender() for _ in range(in_flight)))
    return latencies, errors


async def _measure(args: argparse.Namespace) -> dict[str, Any]:
    async def ignore(*_: Any) -> None:
        return None

    channel = twilio_channel_class(args.transport)(
        "chn_bench",
        # No public_base_url: no StatusCallback is asked for, so the fake posts nothing back.
        TwilioSettings(api_base_url=args.url, timeout_seconds=30),
        ChannelReports(receipts=ignore, inbound=ignore),
        TwilioCredentials(account_sid=args.account_sid, auth_token=args.auth_token),
    )
    await channel.start()
    try:
        freeze_startup_objects()  # as `tidings serve` does once ready
        # The transport carries what the adapter reads: a create's 201, a fetch's 200 and a 404.
        sid = (await channel.send(_probe())).provider_message_id
        assert sid, "the create gave no sid"
        await channel.poll([sid, "SM" + "0" * 32])
        await _send_all(channel, args.warmup, "84", args.in_flight)
        cpu_before, started = time.process_time(), time.perf_counter()
        latencies, errors = await _send_all(channel, args.messages, "83", args.in_flight)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_before
    finally:
        await channel.close()
    return {
        "messages": len(latencies),
        "errors": errors,
        "seconds": seconds,
        "cpu_s": cpu,
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
    }


def _probe() -> OutboundMessage:
    return OutboundMessage(
        id="msg_probe",
        account_id="acc_bench",
        sender=SENDER,
        recipient="+27850000000",
        body="probe",
        encoding="gsm7",
        segments=1,
        attempt=1,
    )


def sender_main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(description="one measured sender (run by the http-clients scenario)")
    parser.add_argument("--transport", choices=CONFIGURATIONS, required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--account-sid", required=True)
    parser.add_argument("--auth-token", required=True)
    parser.add_argument("--messages", type=int, required=True)
    parser.add_argument("--warmup", type=int, required=True)
    parser.add_argument("--in-flight", type=int, required=True)
    args = parser.parse_args(argv)

    import uvloop  # the gateway's loop (`tidings serve`)

    print(json.dumps(uvloop.run(_measure(args))))


# -- the scenario -------------------------------------------------------------------------------


async def _one(
    fake: FakeTwilioProcess,
    transport: str,
    n: int,
    workdir: Path,
    *,
    messages: int,
    warmup: int,
    in_flight: int,
) -> ClientRun:
    await fake.reset()
    fake_before = cpu_seconds([fake.process.pid])
    log = workdir / f"sender-{transport}-{n}.log"
    with log.open("wb") as errors:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.http_clients",
            "--transport", transport, "--url", fake.url,
            "--account-sid", fake.account_sid, "--auth-token", fake.auth_token,
            "--messages", str(messages), "--warmup", str(warmup), "--in-flight", str(in_flight),
            cwd=Path(__file__).parent.parent,
            stdout=asyncio.subprocess.PIPE,
            stderr=errors,
        )  # fmt: skip
        try:
            out, _ = await asyncio.wait_for(process.communicate(), 2 * SEND_DEADLINE_S + 60)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise RuntimeError(f"the {transport} sender did not finish in time") from None
    if process.returncode != 0:
        raise RuntimeError(f"the {transport} sender failed: {log.read_text()[-2000:]}")
    fake_cpu = cpu_seconds([fake.process.pid]) - fake_before
    counts = await fake.counts()
    measured = json.loads(out.decode().strip().splitlines()[-1])
    expected = 1 + warmup + measured["messages"] - measured["errors"]
    if counts["count"] != expected or counts["duplicates"]:
        raise RuntimeError(f"{transport}: the fake accepted {counts}, expected {expected} once each")
    return ClientRun(transport, n, **measured, fake_cpu_s=fake_cpu, fake_messages=counts["count"])


async def run(*, quick: bool, in_flight: int = IN_FLIGHT) -> list[ClientRun]:
    messages = QUICK["messages"] if quick else MESSAGES
    warmup = QUICK["warmup"] if quick else WARMUP
    rounds = QUICK["rounds"] if quick else ROUNDS
    workdir = Path(tempfile.mkdtemp(prefix="tidings-bench-http-"))
    fake = await start_fake_twilio(workdir)
    runs: list[ClientRun] = []
    try:
        for n in range(rounds):
            order = CONFIGURATIONS[n % len(CONFIGURATIONS) :] + CONFIGURATIONS[: n % len(CONFIGURATIONS)]
            for transport in order:
                done = await _one(
                    fake, transport, n, workdir, messages=messages, warmup=warmup, in_flight=in_flight
                )
                runs.append(done)
                console.print(
                    f"[dim]round {n + 1}/{rounds} {transport}: {done.rate:,.0f} msg/s, "
                    f"{done.cpu_ms:.3f} ms CPU/msg, p99 {done.p99_ms:.1f} ms[/]"
                )
    finally:
        await fake.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return runs


def show(runs: list[ClientRun], *, in_flight: int = IN_FLIGHT) -> None:
    """One table: a column per client, min / median over the rounds, ratios of medians against
    the keep-alive client."""
    by: dict[str, list[ClientRun]] = {}
    for done in runs:
        by.setdefault(done.transport, []).append(done)

    def median(values: list[float]) -> float:
        return statistics.median(values) if values else float("nan")

    def spread(values: list[float], form: str) -> str:
        return f"{min(values):{form}} / {median(values):{form}}"

    base = by.get(BASELINE, [])
    base_rate, base_cpu = median([r.rate for r in base]), median([r.cpu_ms for r in base])
    table = Table(
        title=(
            f"Twilio send() through each HTTP client to the fake Twilio (own process): "
            f"{runs[0].messages if runs else 0:,} messages a run, {in_flight} in flight, "
            f"{len(base)} rounds alternated"
        )
    )
    table.add_column("measure (min / median)")
    for transport in by:
        table.add_column(transport, justify="right")
    rows: list[tuple[str, Any]] = [
        ("msg/s", lambda d: spread([r.rate for r in d], ",.0f")),
        ("msg/s, median × keep-alive", lambda d: f"{median([r.rate for r in d]) / base_rate:.2f}"),
        ("sender CPU ms/msg", lambda d: spread([r.cpu_ms for r in d], ".3f")),
        ("sender CPU, median × keep-alive", lambda d: f"{median([r.cpu_ms for r in d]) / base_cpu:.2f}"),
        ("send p50 ms", lambda d: spread([r.p50_ms for r in d], ".1f")),
        ("send p99 ms", lambda d: spread([r.p99_ms for r in d], ".1f")),
        ("fake CPU ms/msg (not counted)", lambda d: spread([r.fake_cpu_ms for r in d], ".3f")),
        # Fewer than asked for: the sends ran into SEND_DEADLINE_S.
        ("sends measured, fewest in a run", lambda d: f"{min(r.messages for r in d):,}"),
        ("errors", lambda d: str(sum(r.errors for r in d))),
    ]
    for label, cell in rows:
        table.add_row(label, *(cell(done) for done in by.values()))
    console.print(table)


def serialisable(runs: list[ClientRun]) -> list[dict[str, Any]]:
    return [asdict(done) for done in runs]


if __name__ == "__main__":
    sender_main(sys.argv[1:])
