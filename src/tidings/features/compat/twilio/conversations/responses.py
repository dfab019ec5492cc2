"""Native conversations, participants and messages in Twilio Conversations v1's JSON.

SIDs are the arithmetic images of the native ids (``sids.py``): ``CH`` ↔ ``con_``, ``MB`` ↔
``cpt_``, ``IM`` ↔ ``cmg_``. Dates are v1's ``YYYY-MM-DDTHH:MM:SSZ``; ``url`` and ``links`` are
absolute URLs of this gateway, as Twilio's are of its own host.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from starlette.requests import HTTPConnection

from tidings.core.attributes import stored_attributes
from tidings.features.compat.twilio.dates import iso
from tidings.features.compat.twilio.locations import product_url
from tidings.features.compat.twilio.sids import to_sid

PRODUCT = "conversations"
CONVERSATION = ("CH", "con")
PARTICIPANT = ("MB", "cpt")
MESSAGE = ("IM", "cmg")

# Native delivery statuses grouped as Twilio's delivery receipts count them: a copy that was
# delivered was also sent, one that was read was also delivered.
SENT = frozenset({"sent", "delivered", "read"})
DELIVERED = frozenset({"delivered", "read"})
READ = frozenset({"read"})
UNDELIVERED = frozenset({"undelivered"})
FAILED = frozenset({"failed", "expired", "canceled"})


def sid(kind: tuple[str, str], native_id: str) -> str:
    return to_sid(kind[0], native_id)


def conversation_path(conversation_id: str) -> str:
    return f"/v1/Conversations/{sid(CONVERSATION, conversation_id)}"


def _url(request: HTTPConnection, path: str) -> str:
    return product_url(request, PRODUCT, path)


def attributes_text(stored: dict[str, Any] | None) -> str:
    """Twilio's ``attributes``: a JSON string, ``"{}"`` when there are none."""
    return json.dumps(stored if stored is not None else {}, separators=(",", ":"))


def conversation_json(request: HTTPConnection, row: dict[str, Any]) -> dict[str, Any]:
    """A native conversation row (as the service returns it, times in epoch ms)."""
    path = conversation_path(row["id"])
    timers = {}
    if row["inactive_at"] is not None:
        timers["date_inactive"] = iso(row["inactive_at"])
    if row["closes_at"] is not None:
        timers["date_closed"] = iso(row["closes_at"])
    return {
        "sid": sid(CONVERSATION, row["id"]),
        "account_sid": row["account_id"],
        "chat_service_sid": None,
        "messaging_service_sid": None,
        "friendly_name": row["friendly_name"],
        "unique_name": None,
        "attributes": attributes_text(stored_attributes(row["attributes"])),
        "state": row["state"],
        "date_created": iso(row["created_at"]),
        "date_updated": iso(row["updated_at"]),
        "timers": timers,
        "bindings": None,
        "url": _url(request, path),
        "links": {
            "participants": _url(request, f"{path}/Participants"),
            "messages": _url(request, f"{path}/Messages"),
        },
    }


def participant_json(request: HTTPConnection, account_id: str, row: dict[str, Any]) -> dict[str, Any]:
    """A native participant row: its address and proxy address are Twilio's messaging binding."""
    participant_sid = sid(PARTICIPANT, row["id"])
    return {
        "sid": participant_sid,
        "account_sid": account_id,
        "conversation_sid": sid(CONVERSATION, row["conversation_id"]),
        "identity": row["identity"],
        "attributes": "{}",
        "messaging_binding": {
            "type": row["kind"],
            "address": row["address"],
            "proxy_address": row["proxy_address"],
        },
        "role_sid": None,
        "date_created": iso(row["created_at"]),
        "date_updated": iso(row["created_at"]),
        "last_read_message_index": None,
        "last_read_timestamp": None,
        "url": _url(request, f"{conversation_path(row['conversation_id'])}/Participants/{participant_sid}"),
    }


def delivery_summary(statuses: Sequence[str]) -> dict[str, Any] | None:
    """Twilio's ``delivery``: per outcome, whether ``all``, ``some`` or ``none`` of the copies
    reached it, and ``total`` copies (a number, as Twilio shows it); None for a message that was
    copied to nobody."""
    if not statuses:
        return None

    def share(wanted: frozenset[str]) -> str:
        count = sum(1 for status in statuses if status in wanted)
        return "all" if count == len(statuses) else "some" if count else "none"

    return {
        "total": len(statuses),
        "sent": share(SENT),
        "delivered": share(DELIVERED),
        "read": share(READ),
        "undelivered": share(UNDELIVERED),
        "failed": share(FAILED),
    }


def message_json(request: HTTPConnection, account_id: str, row: dict[str, Any], index: int) -> dict[str, Any]:
    """A native conversation message (with its deliveries) at position ``index`` of its thread."""
    message_sid = sid(MESSAGE, row["id"])
    path = f"{conversation_path(row['conversation_id'])}/Messages/{message_sid}"
    created = iso_text(row["created_at"])
    return {
        "sid": message_sid,
        "account_sid": account_id,
        "conversation_sid": sid(CONVERSATION, row["conversation_id"]),
        "index": index,
        "author": row["author"],
        "participant_sid": sid(PARTICIPANT, row["participant_id"]) if row["participant_id"] else None,
        "body": row["body"],
        "media": None,
        "attributes": "{}",
        "content_sid": None,
        "date_created": created,
        "date_updated": created,
        "delivery": delivery_summary([d["status"] for d in row["deliveries"]]),
        "url": _url(request, path),
        "links": {
            "delivery_receipts": _url(request, f"{path}/Receipts"),
            "channel_metadata": _url(request, f"{path}/ChannelMetadata"),
        },
    }


def iso_text(rfc3339: str | None) -> str | None:
    """A native RFC 3339 time (``2026-12-04T05:01:02.345Z``) in v1's form, whole seconds."""
    if rfc3339 is None:
        return None
    return rfc3339.split(".")[0].rstrip("Z") + "Z"
