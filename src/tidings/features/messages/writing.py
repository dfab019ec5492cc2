"""Send, step 5, the write: the batch, a row and a first event per message, and the answer kept
for the idempotency key, committed in one transaction by the intake writer (store/intake.py);
then the 202. When a concurrent request with the same key won, its answer is the answer."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from tidings.core.clock import now_ms
from tidings.core.ids import new_id, new_ids
from tidings.features.messages.origin import Send
from tidings.features.messages.presenters import accepted_batch_json
from tidings.features.messages.recipients import Addressed
from tidings.metrics import MESSAGES_ACCEPTED
from tidings.store.engine import Database
from tidings.store.idempotency import stored_answer
from tidings.store.intake import MESSAGE_COLUMNS, IntakeUnit, IntakeWriter

_CHANNEL_POSITION = MESSAGE_COLUMNS.index("channel_id")


@dataclass(frozen=True, slots=True)
class Write:
    db: Database
    writer: IntakeWriter
    on_queued: Callable[[], None]  # wakes the dispatcher

    async def __call__(self, addressed: Addressed) -> dict[str, Any]:
        plan = addressed.plan
        send = plan.origin.send
        now = now_ms()
        batch_id = new_id("bat")
        ids = new_ids("msg", len(addressed.recipients))
        rows = message_rows(addressed, ids=ids, batch_id=batch_id, now=now)
        # With routes a batch can span channels; the batch names its first message's.
        batch_channel = rows[0][_CHANNEL_POSITION] if rows else plan.origin.channel["id"]
        status = "scheduled" if plan.send_at is not None else "queued"
        response = accepted_batch_json(batch_id, addressed, batch_channel, ids, status, now)
        unit = IntakeUnit(
            batch=_batch_row(addressed, batch_id, batch_channel, now),
            messages=rows,
            events=[(i, status, now, None, None) for i in ids],
            templated=plan.template is not None,
            with_contacts=addressed.contact_ids is not None,
            with_callback_format=send.callback_format is not None,
            idempotency=_idempotency_row(send, response, now),
        )
        try:
            await self.writer.write(unit)
        except IntegrityError:
            if send.idempotency_key is None:
                raise
            # A concurrent request with the same key won the race: answer what it answered.
            replay = await stored_reply(
                self.db, send.principal.account_id, send.idempotency_key, send.request_hash
            )
            if replay is None:
                raise
            return replay
        MESSAGES_ACCEPTED.inc(len(ids))
        self.on_queued()
        return response


async def stored_reply(db: Database, account_id: str, key: str, request_hash: str) -> dict[str, Any] | None:
    """The answer kept for this idempotency key, if it is still kept (422 if the request differs)."""
    stored = await stored_answer(db, account_id, key, request_hash)
    if stored is None:
        return None
    body: dict[str, Any] = json.loads(stored[1])
    return body


def message_rows(addressed: Addressed, *, ids: list[str], batch_id: str, now: int) -> list[tuple[Any, ...]]:
    """Message rows as tuples in ``MESSAGE_COLUMNS`` order (a test pins the order).

    Each recipient goes to the channel of its route, else to the request's channel. Rows of a
    template send carry the template as one more, last, value (``TEMPLATE_MESSAGE_COLUMNS``);
    free-form rows leave the column out. Rows of a send that addressed contacts end with the
    contact id, then those of a send with a ``callback_format`` with it (``store.intake.message_columns``).
    """
    plan = addressed.plan
    origin = plan.origin
    account_id, channel_id, sender = origin.send.principal.account_id, origin.channel["id"], origin.sender
    status_callback = origin.send.request.status_callback
    status = "scheduled" if plan.send_at is not None else "queued"
    due_at = plan.send_at if plan.send_at is not None else now
    send_at, expires_at, priority, metadata = plan.send_at, plan.expires_at, plan.priority, plan.metadata
    if addressed.uniform:
        body, info = addressed.bodies[0], addressed.infos[0]
        bodies: Any = [(body, info)] * len(ids)
    else:
        bodies = zip(addressed.bodies, addressed.infos, strict=True)
    if addressed.routes is not None:
        choices: Any = [
            (channel_id, None, None) if r is None else (r.channel_id, r.name, r.fallback_channel_id)
            for r in addressed.routes
        ]
    else:
        choices = [(channel_id, None, None)] * len(ids)
    rows: list[tuple[Any, ...]] = [
        (
            message_id,
            account_id,
            batch_id,
            "outbound",
            status,
            priority,
            routed_channel,
            sender,
            recipient,
            body,
            info.encoding.value,
            info.segments,
            due_at,
            send_at,
            expires_at,
            0,
            None,
            None,
            None,
            None,
            None,
            status_callback,
            metadata,
            now,
            now,
            route,
            fallback_channel_id,
            False,
        )
        for message_id, recipient, (body, info), (routed_channel, route, fallback_channel_id) in zip(
            ids, addressed.recipients, bodies, choices, strict=True
        )
    ]
    if plan.template is not None:
        template = plan.template
        rows = [(*row, template) for row in rows]
    if addressed.contact_ids is not None:
        rows = [(*row, contact_id) for row, contact_id in zip(rows, addressed.contact_ids, strict=True)]
    callback_format = origin.send.callback_format
    if callback_format is not None:
        rows = [(*row, callback_format) for row in rows]
    return rows


def _batch_row(addressed: Addressed, batch_id: str, channel_id: str, now: int) -> dict[str, Any]:
    plan = addressed.plan
    origin = plan.origin
    request = origin.send.request
    uniform = addressed.uniform
    return {
        "id": batch_id,
        "account_id": origin.send.principal.account_id,
        "channel_id": channel_id,
        "body": addressed.bodies[0] if uniform else None,
        "sender": origin.sender,
        "encoding": addressed.infos[0].encoding.value if uniform else None,
        "segments": addressed.infos[0].segments if uniform else None,
        "priority": plan.priority,
        "send_at": plan.send_at,
        "accepted": len(addressed.recipients),
        "invalid": json.dumps([asdict(i) for i in addressed.invalid]),
        "duplicates": addressed.duplicates,
        "metadata": json.dumps(request.metadata) if request.metadata else None,
        "created_at": now,
    }


def _idempotency_row(send: Send, response: dict[str, Any], now: int) -> dict[str, Any] | None:
    if send.idempotency_key is None:
        return None
    return {
        "account_id": send.principal.account_id,
        "key": send.idempotency_key,
        "request_hash": send.request_hash,
        "status_code": 202,
        "response_body": json.dumps(response),
        "created_at": now,
    }
