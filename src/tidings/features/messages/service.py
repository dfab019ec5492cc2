"""The messages use cases: send (single, bulk, personalised), read, cancel, batches."""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Any

from tidings.core.clock import now_ms, to_rfc3339
from tidings.core.cursors import IDS, NUMBERS, Page
from tidings.core.events import CALLBACK_FORMATS
from tidings.core.presenters import message_json
from tidings.core.tenancy import Principal, Role
from tidings.errors import Conflict, NotFound
from tidings.features.messages import repository as repo
from tidings.features.messages.origin import Send
from tidings.features.messages.pipeline import SendPipeline
from tidings.features.messages.presenters import batch_status_json
from tidings.features.messages.schemas import SendMessagesRequest
from tidings.features.messages.writing import stored_reply
from tidings.store.engine import Database
from tidings.web.services import ServiceKey


class MessageService:
    def __init__(self, db: Database, pipeline: SendPipeline) -> None:
        self._db = db
        self._pipeline = pipeline

    def use_number_pool(self, pool: Executor | None) -> None:
        """Validate large recipient lists in this process pool."""
        self._pipeline.use_number_pool(pool)

    async def send(
        self,
        principal: Principal,
        request: SendMessagesRequest,
        *,
        idempotency_key: str | None = None,
        request_hash: str = "",
        callback_format: str | None = None,
    ) -> dict[str, Any]:
        """Accept a send request: validate, persist in one transaction, answer the batch.

        ``callback_format``: the form of the ``status_callback`` deliveries, None for the native
        JSON; the Twilio surface passes ``core.events.TWILIO_FORMAT`` (docs/webhooks.md, "Formats").
        """
        principal.require(Role.SENDER)
        if callback_format is not None and callback_format not in CALLBACK_FORMATS:
            raise ValueError(f"no callback format {callback_format!r}")  # a caller's bug, not a 4xx
        if idempotency_key is not None:
            replay = await self.idempotent_replay(principal, idempotency_key, request_hash)
            if replay is not None:
                return replay
        return await self._pipeline.send(
            Send(principal, request, idempotency_key, request_hash, callback_format)
        )

    async def idempotent_replay(
        self, principal: Principal, key: str, request_hash: str
    ) -> dict[str, Any] | None:
        return await stored_reply(self._db, principal.account_id, key, request_hash)

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


# How routers reach this service (tidings.web.services).
MESSAGES: ServiceKey[MessageService] = ServiceKey("messages")
