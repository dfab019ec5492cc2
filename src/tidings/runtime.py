"""The running gateway: one object that owns the database, the services and the dispatcher.

The same object backs ``tidings serve`` (API and dispatcher in one process), ``tidings api``
(``run_dispatcher=False``), ``tidings worker`` (``run_api=False``) and the tests.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import Executor, ProcessPoolExecutor

from tidings.config import Settings
from tidings.core.numbers import normalize_numbers
from tidings.crypto import SecretBox
from tidings.declarations import Applied, apply_declarations
from tidings.dispatch.dispatcher import Dispatcher
from tidings.dispatch.rate_limits import RateLimiter
from tidings.dispatch.wakeups import DueListener
from tidings.features.accounts import AccountService, Bootstrap
from tidings.features.channels import ChannelService
from tidings.features.compat import DELIVERY_FORMATS
from tidings.features.contacts import ContactService
from tidings.features.conversations import ConversationService, ConversationStep, conversation_timers
from tidings.features.event_stream import EventStream
from tidings.features.inbound import InboundService
from tidings.features.messages import Limits, MessageService, SendPipeline
from tidings.features.optouts import OptOutKeywords, OptOutService
from tidings.features.provider_callbacks import CallbackService
from tidings.features.proxy import ProxyService, ProxyStep, proxy_expiry
from tidings.features.routes import RouteService
from tidings.features.sandbox import SandboxService
from tidings.store.engine import Database
from tidings.store.intake import IntakeWriter
from tidings.store.migrate import ensure_migrated
from tidings.webhooks.delivery import Deliverer

log = logging.getLogger(__name__)


class Gateway:
    def __init__(self, settings: Settings, *, run_dispatcher: bool = True, run_api: bool = True) -> None:
        self.settings = settings
        self.run_api = run_api
        self.db = Database(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
        self.box = SecretBox(settings.resolved_secret_key())
        self.accounts = AccountService(self.db, self.box)
        self.channels = ChannelService(self.db, self.box, lineage=self.accounts.lineage)
        self.routes = RouteService(self.db, self.accounts)
        self.inbound = InboundService(self.db)
        self.inbound.add_step(OptOutKeywords())  # first: STOP applies whatever else takes the message
        self.inbound.add_step(ProxyStep())  # then proxy sessions, then conversations (docs/architecture.md)
        self.inbound.add_step(ConversationStep())  # after opt-outs and proxy sessions
        self.callbacks = CallbackService(self.db, self.box, self.inbound)
        self.channels.on_change(self.callbacks.forget)
        self.intake = IntakeWriter(self.db)
        self.dispatcher = (
            Dispatcher(self.db, settings.dispatch, limiter=RateLimiter.from_settings(settings), box=self.box)
            if run_dispatcher
            else None
        )
        self.due_listener = (
            DueListener(settings.database_url, self.dispatcher.wake)
            if self.dispatcher is not None and not self.db.is_sqlite
            else None
        )
        # Webhooks go out wherever messages do: worker processes, or the single serve process.
        self.deliverer = (
            Deliverer(self.db, self.box, settings.webhooks, formats=DELIVERY_FORMATS)
            if run_dispatcher
            else None
        )
        self.event_stream = EventStream(self.db, settings.event_stream)
        self.number_pool: Executor | None = None
        self.messages = MessageService(
            self.db,
            SendPipeline(
                self.db,
                self.intake,
                accounts=self.accounts,
                channels=self.channels,
                routes=self.routes,
                limits=Limits(
                    max_recipients=settings.max_recipients,
                    max_body_chars=settings.max_body_chars,
                    max_segments=settings.default_max_segments,
                    max_schedule_days=settings.max_schedule_days,
                    default_country=settings.default_country,
                    allowed_countries=None,
                ),
                number_pool=None,
                on_queued=self._wake_dispatcher,
            ),
        )
        self.sandbox = SandboxService(self.db, self.inbound, self.accounts, self.channels)
        self.contacts = ContactService(self.db, self.accounts, default_country=settings.default_country)
        self.opt_outs = OptOutService(self.db, self.accounts, default_country=settings.default_country)
        self.conversations = ConversationService(
            self.db, self.accounts, default_country=settings.default_country, on_queued=self._wake_dispatcher
        )
        # Idle timers are swept where messages are dispatched: worker processes and serve.
        self.conversation_timers = (
            conversation_timers(self.db, on_queued=self._wake_dispatcher) if run_dispatcher else None
        )
        self.proxy = ProxyService(
            self.db, self.accounts, default_country=settings.default_country, on_queued=self._wake_dispatcher
        )
        # Expired proxy sessions are ended where messages are dispatched, like the timers above.
        self.proxy_expiry = proxy_expiry(self.db, on_queued=self._wake_dispatcher) if run_dispatcher else None
        self.bootstrapped: Bootstrap | None = None
        self.declared: Applied | None = None

    async def start(self) -> None:
        await ensure_migrated(self.db)
        if self.run_api:
            await self._start_api()
        if self.dispatcher is not None:
            self.dispatcher.inbound_handler = self.inbound.receive
            await self.dispatcher.start()
        if self.deliverer is not None:
            await self.deliverer.start()
        if self.conversation_timers is not None:
            self.conversation_timers.start()
        if self.proxy_expiry is not None:
            self.proxy_expiry.start()
        if self.due_listener is not None:
            self.due_listener.start()

    async def _start_api(self) -> None:
        self.bootstrapped, self.declared = await install(self.db, self.box, self.settings, self.accounts)
        if self.settings.number_workers > 0:
            pool = ProcessPoolExecutor(self.settings.number_workers, mp_context=_number_context())
            warmups = [
                pool.submit(normalize_numbers, ["+14155550100"]) for _ in range(self.settings.number_workers)
            ]
            await asyncio.gather(*(asyncio.wrap_future(f) for f in warmups))
            self.number_pool = pool
            self.messages.use_number_pool(pool)
        self.intake.start()
        self.callbacks.start()

    async def stop(self) -> None:
        if self.conversation_timers is not None:
            await self.conversation_timers.stop()
        if self.proxy_expiry is not None:
            await self.proxy_expiry.stop()
        if self.due_listener is not None:
            await self.due_listener.stop()
        await self.intake.stop()
        await self.callbacks.stop()
        if self.dispatcher is not None:
            await self.dispatcher.stop()
        if self.deliverer is not None:
            await self.deliverer.stop()
        if self.number_pool is not None:
            self.number_pool.shutdown(cancel_futures=True)
        await self.db.close()

    def _wake_dispatcher(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.wake()


async def install(
    db: Database, box: SecretBox, settings: Settings, accounts: AccountService | None = None
) -> tuple[Bootstrap | None, Applied]:
    """What an API process sets up before it serves: on an empty database the primary account
    (:func:`bootstrap`), then the channels and routes declared in the TOML file. Both are safe
    to repeat and to run in several processes at once. Raises :class:`DeclarationError` when
    the declarations cannot be applied."""
    bootstrapped = await bootstrap(accounts or AccountService(db, box), settings)
    return bootstrapped, await declare(db, box, settings)


async def bootstrap(accounts: AccountService, settings: Settings) -> Bootstrap | None:
    bootstrap_key = settings.bootstrap_key
    return await accounts.bootstrap(
        bootstrap_key=bootstrap_key.get_secret_value() if bootstrap_key else None,
        sandbox_settings=settings.sandbox,
    )


async def declare(db: Database, box: SecretBox, settings: Settings) -> Applied:
    declared = await apply_declarations(db, box, settings.channels, settings.routes)
    if declared.created or declared.updated:
        log.info(
            declared.summary(),
            extra={"declared_created": declared.created, "declared_updated": declared.updated},
        )
    return declared


def _number_context() -> multiprocessing.context.BaseContext:
    """Worker processes for number validation, forked from a small forkserver.

    Not plain fork: this process has threads (database drivers) that fork would copy
    mid-flight. Not spawn: each child would re-import the whole application (~2.7 s of CPU).
    The forkserver preloads only the number module, so workers start in a fraction of a second.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tidings.core.numbers"])
    return context
