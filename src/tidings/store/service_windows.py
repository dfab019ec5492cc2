"""The customer-service windows intake reads: which recipients wrote to a channel lately (the
upsert that opens a window runs with the inbound message, in features/inbound)."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.store.schema import service_windows

_OPEN_WINDOWS = select(service_windows.c.channel_id, service_windows.c.address).where(
    service_windows.c.address.in_(bindparam("addresses", expanding=True)),
    service_windows.c.channel_id.in_(bindparam("channels", expanding=True)),
    service_windows.c.last_inbound_at >= bindparam("since"),
)


async def read_open_windows(
    conn: AsyncConnection, pairs: set[tuple[str, str]], *, since: int
) -> set[tuple[str, str]]:
    """Which ``(channel_id, address)`` pairs had an inbound message at or after ``since``.

    One query per 1,000 addresses (bound-parameter limits), on the ``(channel_id, address)`` key.
    """
    channels = sorted({channel_id for channel_id, _ in pairs})
    addresses = sorted({address for _, address in pairs})
    found: set[tuple[str, str]] = set()
    for start in range(0, len(addresses), 1000):
        chunk = addresses[start : start + 1000]
        rows = await conn.execute(_OPEN_WINDOWS, {"addresses": chunk, "channels": channels, "since": since})
        found.update((channel_id, address) for channel_id, address in rows)
    return found & pairs
