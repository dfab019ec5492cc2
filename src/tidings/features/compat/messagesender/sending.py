"""``/send_message`` onto the native send: each recipient's uuid is a contact's external id
and its service the kind of that contact's address; the send is ONE native batch through
``MessageService.send`` (scheduled natively when it has a date), and one record per recipient
keeps what the seed lists later."""

from __future__ import annotations

from tidings.core.clock import now_ms, to_ms
from tidings.core.ids import new_ids
from tidings.core.statuses import MessageStatus
from tidings.core.tenancy import Principal, Role
from tidings.errors import Unprocessable
from tidings.features.compat.messagesender import records
from tidings.features.compat.messagesender.exceptions import PAST_DATE, BadInput
from tidings.features.compat.messagesender.requests import SendOrder
from tidings.features.contacts import addresses_by_external_id
from tidings.features.messages import ContactRecipient, MessageService, SendMessagesRequest
from tidings.store.engine import Database


async def send_message(
    caller: Principal, order: SendOrder, db: Database, messages: MessageService
) -> list[records.Record]:
    caller.require(Role.SENDER)
    addresses = await _addresses(db, caller.account_id, order)
    request = SendMessagesRequest(
        to=[ContactRecipient(contact=r.uuid, channel_type=r.service) for r in order.recipients],
        body=order.body,
        send_at=order.send_at,
    )
    try:
        batch = await messages.send(caller, request)
    except Unprocessable as refusal:
        # A date a moment ahead may have passed by the time the intake reads it.
        raise BadInput(PAST_DATE if refusal.code == "send_at_in_past" else refusal.message) from None
    now = now_ms()
    queue, queued_at = (records.SCHEDULED, to_ms(order.send_at)) if order.send_at else (records.MAIN, now)
    status = MessageStatus.SCHEDULED if order.send_at else MessageStatus.QUEUED
    async with db.write() as conn:
        # Recipients sharing an address share its one message; one the intake refused (its
        # country, a WhatsApp service window) has none and is listed as failed.
        sent = await records.sent_to(conn, caller.account_id, batch["id"])
        message_ids = [sent.get(addresses[(r.uuid, r.service)]) for r in order.recipients]
        await records.add(
            conn,
            [
                {
                    "id": record_id,
                    "account_id": caller.account_id,
                    "message_id": message_id,
                    "queue": queue,
                    "uuid": r.uuid,
                    "service": r.service,
                    "body": order.body,
                    "queued_at": queued_at,
                    "created_at": now,
                }
                for record_id, r, message_id in zip(
                    new_ids("msr", len(message_ids)), order.recipients, message_ids, strict=True
                )
            ],
        )
    return [
        records.Record(queue, r.uuid, r.service, order.body, queued_at, status if message_id else None)
        for r, message_id in zip(order.recipients, message_ids, strict=True)
    ]


async def _addresses(db: Database, account_id: str, order: SendOrder) -> dict[tuple[str, str], str]:
    """Each recipient's address; a 400 naming the first unknown user or missing address, before
    anything is sent."""
    async with db.read() as conn:
        rows = await addresses_by_external_id(conn, account_id, {r.uuid for r in order.recipients})
    known = {external_id for external_id, *_ in rows}
    found = {(external_id, kind): address for external_id, _, kind, address in rows if kind and address}
    for r in order.recipients:
        if r.uuid not in known:
            raise BadInput(f"Unknown user: {r.uuid} (no contact has this external id)")
        if (r.uuid, r.service) not in found:
            raise BadInput(f"User {r.uuid} has no {r.service} address")
    return found
