"""Big lists are worked beside the event loop: planning or validating 100,000 recipients takes
seconds of CPU, and meanwhile other requests and the dispatcher keep moving."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from tidings.features.messages.schemas import SendMessagesRequest

OFF_LOOP_RECIPIENTS = 1_000

P = ParamSpec("P")
R = TypeVar("R")


async def beside_the_loop(recipients: int, work: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """``work(*args, **kwargs)``, in a thread when it is for ``OFF_LOOP_RECIPIENTS`` or more."""
    if recipients >= OFF_LOOP_RECIPIENTS:
        return await asyncio.to_thread(work, *args, **kwargs)
    return work(*args, **kwargs)


def recipients_given(request: SendMessagesRequest) -> int:
    if isinstance(request.to, list):
        return len(request.to)
    return len(request.messages or request.recipients or ())
