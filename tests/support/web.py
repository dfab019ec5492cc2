"""Small loopback HTTP servers for tests: an aiohttp app on a port the kernel picks (port 0, so
parallel workers never collide), and a bounded wait for a condition the server's handlers meet."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable

from aiohttp import web


@contextlib.asynccontextmanager
async def serving(routes: Iterable[web.AbstractRouteDef]) -> AsyncIterator[str]:
    """``routes`` served on 127.0.0.1 for the block; its base URL (``http://127.0.0.1:PORT``)."""
    app = web.Application()
    app.add_routes(routes)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def eventually(check: Callable[[], object], seconds: float = 5.0) -> None:
    """Return once ``check()`` is true, re-checking every 20 ms; fail after ``seconds``."""
    for _ in range(int(seconds / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"condition not met in {seconds} s")
