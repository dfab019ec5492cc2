"""One send, ``POST /v1/messages``, as five steps in order, each taking the value the one before
gave: origin, plan, recipients, screen, write. Each step's module says what it does and why."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from tidings.features.accounts import AccountService
from tidings.features.channels import ChannelService
from tidings.features.messages.off_loop import beside_the_loop, recipients_given
from tidings.features.messages.origin import ChooseOrigin, Limits, Send
from tidings.features.messages.planning import plan
from tidings.features.messages.recipients import Resolve
from tidings.features.messages.screening import Screen
from tidings.features.messages.writing import Write
from tidings.features.routes import RouteService
from tidings.store.engine import Database
from tidings.store.intake import IntakeWriter


class SendPipeline:
    """The steps, each built once with the services it needs."""

    def __init__(
        self,
        db: Database,
        writer: IntakeWriter,
        *,
        accounts: AccountService,
        channels: ChannelService,
        routes: RouteService,
        limits: Limits,
        number_pool: Executor | None,
        on_queued: Callable[[], None],
    ) -> None:
        self._origin = ChooseOrigin(accounts, channels, routes, limits)
        self._resolve = Resolve(db, number_pool)
        self._screen = Screen(db, channels)
        self._write = Write(db, writer, on_queued)

    def use_number_pool(self, pool: Executor | None) -> None:
        self._resolve.number_pool = pool

    async def send(self, send: Send) -> dict[str, Any]:
        """Accept a send: each step raises the documented 4xx, or hands its value on."""
        # The plan comes before the recipients: a request's own errors are answered before any
        # contact or number is looked at, and a list over the limit is never validated.
        origin = await self._origin(send)  # origin.py: channel, sender, limits, routes
        planned = await beside_the_loop(recipients_given(send.request), plan, origin)  # planning.py
        addressed = await self._resolve(planned)  # recipients.py: contacts, numbers, routes
        screened = await self._screen(addressed)  # screening.py: none valid, templates, windows
        return await self._write(screened)  # writing.py: rows, events, batch, idempotency answer
