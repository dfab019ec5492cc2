"""``tidings api`` and ``tidings worker`` as separate processes on one PostgreSQL database."""

from __future__ import annotations

import asyncio

import pytest

from support.fleet import Fleet
from support.ports import free_port

pytestmark = pytest.mark.postgres


async def test_worker_refuses_an_unmigrated_database(fleet: Fleet) -> None:
    result = await asyncio.to_thread(fleet.run, "worker")

    assert result.returncode == 1
    assert "not migrated" in result.stderr and "tidings migrate" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


async def test_api_and_two_workers_deliver_a_batch(fleet: Fleet) -> None:
    migrated = await asyncio.to_thread(fleet.run, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    await fleet.start_api()
    metrics_ports = [free_port(), free_port()]
    for n, port in enumerate(metrics_ports):
        await fleet.start_worker(f"worker-{n}", "--metrics-port", str(port))

    numbers = [f"+2783{n:07d}" for n in range(2_000)]
    status, batch = await fleet.call("POST", "/v1/messages", {"to": numbers, "body": "scaled"})
    assert status == 202, batch
    done = await fleet.wait_for_batch(batch["id"], timeout=60)

    assert done["status_counts"].get("delivered") == 2_000, done
    claimed = [await fleet.metric(port, "tidings_messages_claimed_total") for port in metrics_ports]
    assert sum(claimed) == 2_000 and all(n > 0 for n in claimed), claimed
