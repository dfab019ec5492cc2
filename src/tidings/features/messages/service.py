"""The messages use cases: send (single, bulk, personalised), read, cancel, batches."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import asdict
from typing import Any

from sqlalchemy.exc import IntegrityError

from tidings.channels.registry import channel_class
from tidings.core.clock import now_ms, to_rfc3339
from tidings.core.cursors import IDS, NUMBERS, Page
from tidings.core.ids import new_id, new_ids
from tidings.core.presenters import message_json
from tidings.core.routing import Router
from tidings.core.tenancy import Principal, Role
from tidings.errors import Conflict, NotFound, Unprocessable
from tidings.features.accounts import AccountService, countries_from_json
from tidings.features.channels import ChannelService
from tidings.features.messages import repository as repo
from tidings.features.messages.contacts import contact_recipients, resolve_contacts
from tidings.features.messages.intake import Limits, Planned, message_rows, plan
from tidings.features.messages.presenters import accepted_batch_json, batch_status_json
from tidings.features.messages.schemas import SendMessagesRequest
from tidings.features.messages.service_window import outside_window, windowed_recipients
from tidings.features.routes import RouteService
from tidings.metrics import MESSAGES_ACCEPTED
from tidings.store.engine import Database
from tidings.store.idempotency import stored_answer
from tidings.store.intake import MESSAGE_COLUMNS, IntakeUnit, IntakeWriter, read_open_windows
from tidings.web.services import ServiceKey

OFF_LOOP_RECIPIENTS = 1_000
_CHANNEL_POSITION = MESSAGE_COLUMNS.index("channel_id")


class MessageService:
    def __init__(
        self,
        db: Database,
        intake: IntakeWriter,
        *,
        accounts: AccountService,
        channels: ChannelService,
        routes: RouteService,
        limits: Limits,
        number_pool: Executor | None,
        on_queued: Callable[[], None],
    ) -> None:
        self._db = db
        self._intake = intake
        self._accounts = accounts
        self._channels = channels
        self._routes = routes
        self._limits = limits
        self._pool = number_pool
        self._on_queued = on_queued

    def use_number_pool(self, pool: Executor | None) -> None:
        """Validate large recipient lists in this process pool."""
        self._pool = pool

    async def send(
        self,
        principal: Principal,
        request: SendMessagesRequest,
        *,
        idempotency_key: str | None = None,
        request_hash: str = "",
    ) -> dict[str, Any]:
        """Accept a send request: validate, persist in one transaction, answer the batch."""
        principal.require(Role.SENDER)
        if idempotency_key is not None:
            replay = await self.idempotent_replay(principal, idempotency_key, request_hash)
            if replay is not None:
                return replay
        lineage = await self._accounts.lineage(principal.account_id)
        channel = await self._channels.usable(lineage, request.channel)
        account = await self._accounts.cached_account(principal.account_id)
        if channel is None:
            if request.channel is None:
                raise Unprocessable("this account has no default channel", code="no_channel")
            raise Unprocessable(
                f"no channel {request.channel!r} for this account",
                code="unknown_channel",
                field="channel",
            )
        limits = self._limits_for(account, channel)
        sender = _sender(request.from_, channel)
        named = contact_recipients(request)
        contacts = await resolve_contacts(self._db, principal.account_id, named) if named else None
        if _recipient_count(request) >= OFF_LOOP_RECIPIENTS:
            # Validating a big list takes seconds of CPU: do it beside the event loop so other
            # requests and the dispatcher keep moving meanwhile.
            planned = await asyncio.to_thread(plan, request, limits, self._pool, contacts)
        else:
            planned = plan(request, limits, self._pool, contacts)
        # A channel named in the request is used as is; otherwise the account's routes decide.
        router = await self._routes.router_for(lineage) if request.channel is None else None
        planned = await self._screen_service_windows(planned, lineage, channel, router, request)
        now = now_ms()
        batch_id = new_id("bat")
        ids = new_ids("msg", len(planned.recipients))
        rows = message_rows(
            planned,
            ids=ids,
            account_id=principal.account_id,
            batch_id=batch_id,
            channel_id=channel["id"],
            sender=sender,
            status_callback=request.status_callback,
            now=now,
            router=router,
        )
        if planned.template is not None:
            await self._check_templates(lineage, channel, rows)
        # With routes a batch can span channels; the batch names its first message's.
        batch_channel = rows[0][_CHANNEL_POSITION] if rows else channel["id"]
        status = "scheduled" if planned.send_at is not None else "queued"
        response = accepted_batch_json(batch_id, planned, batch_channel, ids, status, now)
        unit = IntakeUnit(
            batch=_batch_row(batch_id, principal.account_id, batch_channel, planned, sender, request, now),
            messages=rows,
            events=[(i, status, now, None, None) for i in ids],
            templated=planned.template is not None,
            with_contacts=planned.contact_ids is not None,
            idempotency=(
                {
                    "account_id": principal.account_id,
                    "key": idempotency_key,
                    "request_hash": request_hash,
                    "status_code": 202,
                    "response_body": json.dumps(response),
                    "created_at": now,
                }
                if idempotency_key is not None
                else None
            ),
        )
        try:
            await self._intake.write(unit)
        except IntegrityError:
            if idempotency_key is None:
                raise
            # A concurrent request with the same key won the race: answer what it answered.
            replay = await self.idempotent_replay(principal, idempotency_key, request_hash)
            if replay is None:
                raise
            return replay
        MESSAGES_ACCEPTED.inc(len(ids))
        self._on_queued()
        return response

    async def idempotent_replay(
        self, principal: Principal, key: str, request_hash: str
    ) -> dict[str, Any] | None:
        stored = await stored_answer(self._db, principal.account_id, key, request_hash)
        if stored is None:
            return None
        body: dict[str, Any] = json.loads(stored[1])
        return body

    async def list(
        self, principal: Principal, where: repo.MessageFilter, *, cursor: str | None, limit: int
    ) -> Page[dict[str, Any]]:
        paging = IDS.paging(cursor, limit)
        async with self._db.read() as conn:
            rows = await repo.list_messages(conn, sorted(principal.account_ids), where, paging)
        return paging.page(rows)

    async def get(self, principal: Principal, message_id: str) -> dict[str, Any]:
        async with self._db.read() as conn:
            row = await repo.get_message(conn, sorted(principal.account_ids), message_id)
        if row is None:
            raise NotFound(f"no message {message_id}", code="message_not_found")
        return message_json(row)

    async def events(
        self, principal: Principal, message_id: str, *, cursor: str | None, limit: int
    ) -> Page[dict[str, Any]]:
        paging = NUMBERS.paging(cursor, limit)
        async with self._db.read() as conn:
            if await repo.get_message(conn, sorted(principal.account_ids), message_id) is None:
                raise NotFound(f"no message {message_id}", code="message_not_found")
            rows = await repo.list_events(conn, message_id, paging)
        return paging.page(rows)

    async def cancel(self, principal: Principal, message_id: str) -> dict[str, Any]:
        principal.require(Role.SENDER)
        accounts = sorted(principal.account_ids)
        now = now_ms()
        canceled = await self._db.transact(
            lambda conn: repo.cancel_messages(conn, accounts, message_id=message_id, now=now)
        )
        async with self._db.read() as conn:
            row = await repo.get_message(conn, accounts, message_id)
        if row is None:
            raise NotFound(f"no message {message_id}", code="message_not_found")
        if not canceled:
            raise Conflict(
                f"the message is {row['status']}; only scheduled or queued messages can be canceled",
                code="not_cancelable",
            )
        return message_json(row)

    async def batch(self, principal: Principal, batch_id: str) -> dict[str, Any]:
        async with self._db.read() as conn:
            batch = await repo.get_batch(conn, sorted(principal.account_ids), batch_id)
            if batch is None:
                raise NotFound(f"no batch {batch_id}", code="batch_not_found")
            counts = await repo.batch_status_counts(conn, batch_id)
        return batch_status_json(batch, counts)

    async def cancel_batch(self, principal: Principal, batch_id: str) -> dict[str, Any]:
        principal.require(Role.SENDER)
        accounts = sorted(principal.account_ids)
        async with self._db.read() as conn:
            if await repo.get_batch(conn, accounts, batch_id) is None:
                raise NotFound(f"no batch {batch_id}", code="batch_not_found")
        now = now_ms()
        canceled = await self._db.transact(
            lambda conn: repo.cancel_messages(conn, accounts, batch_id=batch_id, now=now)
        )
        return {"id": batch_id, "canceled": len(canceled)}

    async def number_status(self, principal: Principal, number: str) -> dict[str, Any]:
        async with self._db.read() as conn:
            row = await repo.latest_outbound_to(conn, sorted(principal.account_ids), number)
        if row is None:
            raise NotFound(f"nothing was sent to {number}", code="number_not_found")
        return {
            "number": number,
            "status": row["status"],
            "message_id": row["id"],
            "updated_at": to_rfc3339(row["updated_at"]),
        }

    async def _screen_service_windows(
        self,
        planned: Planned,
        lineage: Sequence[str],
        channel: dict[str, Any],
        router: Router | None,
        request: SendMessagesRequest,
    ) -> Planned:
        """Refuse free-form messages to ``whatsapp:`` recipients outside their customer service
        window: none may reach WhatsApp until the user writes (or a template is sent).

        No query, and no look at the recipients, unless a channel involved has a window; then
        one query per 1,000 WhatsApp recipients.
        """
        if planned.template is not None:
            return planned
        hours: dict[str, int] = {}
        for channel_id in {channel["id"], *(r.channel_id for r in (router.routes if router else ()))}:
            row = channel if channel_id == channel["id"] else await self._channels.usable(lineage, channel_id)
            window = _service_window_hours(row)
            if window:
                hours[channel_id] = window
        if not hours:
            return planned
        chosen = windowed_recipients(planned, channel["id"], frozenset(hours), router)
        if not chosen:
            return planned
        now = now_ms()
        open_pairs: set[tuple[str, str]] = set()
        async with self._db.read() as conn:
            for window in set(hours.values()):
                pairs = {(c, r) for r, c in chosen.items() if hours[c] == window}
                open_pairs |= await read_open_windows(conn, pairs, since=now - window * 3_600_000)
        outside = {r for r, c in chosen.items() if (c, r) not in open_pairs}
        return outside_window(planned, outside, request.to) if outside else planned

    async def _check_templates(
        self, lineage: Sequence[str], channel: dict[str, Any], rows: Sequence[tuple[Any, ...]]
    ) -> None:
        """A template on a channel type that cannot send one is a 422 here, not a failed send."""
        for channel_id in {row[_CHANNEL_POSITION] for row in rows}:
            row = channel if channel_id == channel["id"] else await self._channels.usable(lineage, channel_id)
            if row is not None and not _supports_templates(row):
                raise Unprocessable(
                    f"channel {row['name']!r} is a {row['type']} channel, which cannot send WhatsApp "
                    "templates (only whatsapp channels can)",
                    code="template_unsupported",
                    field="template",
                )

    def _limits_for(self, account: dict[str, Any], channel: dict[str, Any]) -> Limits:
        allowed = _intersect(
            countries_from_json(account["allowed_countries"]),
            countries_from_json(channel["countries"]),
        )
        return Limits(
            max_recipients=self._limits.max_recipients,
            max_body_chars=self._limits.max_body_chars,
            max_segments=min(self._limits.max_segments, channel["max_segments"]),
            max_schedule_days=self._limits.max_schedule_days,
            default_country=account["default_country"] or self._limits.default_country,
            allowed_countries=allowed,
        )


def _recipient_count(request: SendMessagesRequest) -> int:
    if isinstance(request.to, list):
        return len(request.to)
    return len(request.messages or request.recipients or ())


def _service_window_hours(channel: dict[str, Any] | None) -> int | None:
    try:
        return channel_class(channel["type"]).service_window_hours if channel else None
    except ValueError:  # a type this build does not know
        return None


def _supports_templates(channel: dict[str, Any]) -> bool:
    try:
        return channel_class(channel["type"]).supports_templates
    except ValueError:
        return False


def _intersect(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    if a is None:
        return b
    if b is None:
        return a
    return a & b


def _sender(requested: str | None, channel: dict[str, Any]) -> str | None:
    senders: list[str] = json.loads(channel["senders"] or "[]")
    if requested is None:
        return senders[0] if senders else None
    if senders and requested not in senders:
        raise Unprocessable(
            f"{requested!r} is not one of this channel's senders",
            code="unknown_sender",
            field="from",
        )
    return requested


def _batch_row(
    batch_id: str,
    account_id: str,
    channel_id: str,
    planned: Planned,
    sender: str | None,
    request: SendMessagesRequest,
    now: int,
) -> dict[str, Any]:
    return {
        "id": batch_id,
        "account_id": account_id,
        "channel_id": channel_id,
        "body": planned.bodies[0] if planned.uniform else None,
        "sender": sender,
        "encoding": planned.infos[0].encoding.value if planned.uniform else None,
        "segments": planned.infos[0].segments if planned.uniform else None,
        "priority": planned.priority,
        "send_at": planned.send_at,
        "accepted": len(planned.recipients),
        "invalid": json.dumps([asdict(i) for i in planned.invalid]),
        "duplicates": planned.duplicates,
        "metadata": json.dumps(request.metadata) if request.metadata else None,
        "created_at": now,
    }


# How routers reach this service (tidings.web.services).
MESSAGES: ServiceKey[MessageService] = ServiceKey("messages")
