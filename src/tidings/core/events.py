"""Which message changes are announced to customers (webhooks and the live stream), and as what.

Announced: every status a customer acts on — ``sent``, ``delivered``, ``undelivered``, ``failed``,
``expired``, ``canceled`` — and every inbound message (``received``). Not announced: the intake
status (the caller holds the 202 answer already), ``sending`` (a claim is not news, and would
double the webhook traffic of a campaign) and ``queued`` after a retry or a lease reclaim (churn a
retry storm would otherwise flood receivers with). docs/webhooks.md gives the full reasoning; the
whole history stays readable at ``GET /v1/messages/{id}/events``.
"""

from __future__ import annotations

import re

from tidings.core.statuses import MessageStatus

MESSAGE_STATUS = "message.status"
MESSAGE_RECEIVED = "message.received"
# A message added to a conversation (authored, relayed inbound, or closing); it has no
# message_events row, so its delivery carries its payload (store.outbox.enqueue_account_event).
CONVERSATION_MESSAGE = "conversation.message"
# A proxy session began or ended (docs/proxy.md); carried the same way, to the account webhook.
PROXY_SESSION_CREATED = "proxy.session.created"
PROXY_SESSION_ENDED = "proxy.session.ended"

# Deliveries come in formats (tidings.webhooks.formats): NULL is the native signed JSON; this one
# is Twilio's signed form post, asked for by the Twilio surface (docs/twilio-compat.md).
TWILIO_FORMAT = "twilio"
# Twilio announces ``sending`` to a StatusCallback, so messages whose callbacks take its format
# also announce their claims (to that callback only); the native format does not (see above).
SENDING_ANNOUNCED_FORMATS = frozenset({TWILIO_FORMAT})
# Every format a send may ask for; the deliverer is handed a renderer for each (runtime.py).
CALLBACK_FORMATS = frozenset({TWILIO_FORMAT})

ANNOUNCED_STATUSES = frozenset(
    {
        MessageStatus.SENT,
        MessageStatus.DELIVERED,
        MessageStatus.UNDELIVERED,
        MessageStatus.FAILED,
        MessageStatus.EXPIRED,
        MessageStatus.CANCELED,
        MessageStatus.RECEIVED,
    }
)
# Plain strings, for the hot paths that hold status values rather than members.
ANNOUNCED_VALUES = frozenset(s.value for s in ANNOUNCED_STATUSES)

# The error fields of a message belong to these statuses; on any other event they are empty.
_ERROR_STATUSES = frozenset({MessageStatus.FAILED, MessageStatus.UNDELIVERED, MessageStatus.EXPIRED})

_EVENT_ID = re.compile(r"^evt_([1-9][0-9]{0,18})$")


def event_type(status: str) -> str:
    """The event type a status change is announced as."""
    return MESSAGE_RECEIVED if status == MessageStatus.RECEIVED.value else MESSAGE_STATUS


def carries_error(status: str) -> bool:
    """Whether an event of this status shows the message's error code and text."""
    return status in {s.value for s in _ERROR_STATUSES}


def event_id(sequence: int) -> str:
    """The public id of the event stored as message_events row ``sequence``."""
    return f"evt_{sequence}"


def parse_event_id(text: str) -> int | None:
    """The message_events row of a public event id, or None when it is not one."""
    match = _EVENT_ID.match(text.strip())
    return int(match.group(1)) if match else None
