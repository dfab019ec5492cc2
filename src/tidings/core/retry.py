"""Retry timing: exponential backoff with "equal jitter" (AWS architecture blog, 2015).

Jitter spreads the retries of a burst that failed together, so a provider recovering from an
outage is not hit by all of them at the same instant; keeping half the delay fixed means a retry
never comes back immediately, which full jitter allows.
"""

from __future__ import annotations

import random


def backoff_seconds(attempt: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Delay before retry ``attempt`` (1 = first): uniform in [c/2, c], c = min(cap, base·2^(n-1))."""
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    ceiling = float(min(cap, base * (2 ** (attempt - 1))))
    jitter: float = (rng if rng is not None else _shared).uniform(0, ceiling / 2)
    return ceiling / 2 + jitter


_shared = random.Random()
