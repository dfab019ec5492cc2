"""Keep the objects made at start-up out of the garbage collector's way."""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Move everything alive now (modules, routes, compiled SQL, caches) into the collector's
    permanent generation, so its full collections scan only what was made since.

    Called once a process is ready to serve. Under load the full collections over the
    start-up heap were the largest single cost left on the send path: Twilio sends through a
    zero-latency fake went from 3,705 to 4,390 msg/s with this alone (gateway CPU 0.265 → 0.226
    ms per message, measured). Objects made later are collected as before.
    """
    gc.collect()
    gc.freeze()
