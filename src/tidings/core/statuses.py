"""Message statuses and the one rule every path obeys: a status only moves forward.

Dispatch, receipts, polling and the compat layers all go through :func:`predecessors`, so a late
``sent`` can never overwrite ``delivered`` whichever path the late news arrives by.
"""

from __future__ import annotations

from enum import StrEnum


class MessageStatus(StrEnum):
    SCHEDULED = "scheduled"  # accepted, waiting for its send_at
    QUEUED = "queued"  # due (or waiting for a retry), claimable by a worker
    SENDING = "sending"  # claimed by a worker under a lease
    SENT = "sent"  # the provider accepted it; waiting for a delivery receipt
    DELIVERED = "delivered"  # the handset received it (final)
    UNDELIVERED = "undelivered"  # the carrier reported it could not be delivered (final)
    FAILED = "failed"  # refused permanently or out of retries (final)
    CANCELED = "canceled"  # canceled before it left (final)
    EXPIRED = "expired"  # its validity period passed before it could be sent (final)
    RECEIVED = "received"  # inbound message (final)


FINAL_STATUSES = frozenset(
    {
        MessageStatus.DELIVERED,
        MessageStatus.UNDELIVERED,
        MessageStatus.FAILED,
        MessageStatus.CANCELED,
        MessageStatus.EXPIRED,
        MessageStatus.RECEIVED,
    }
)

# How long a ``sent`` message may still get its delivery receipt: the status poller asks about
# messages this young, and a channel that sent one this recently is not deleted. Older ``sent``
# messages (a provider that never reported) are left as they are.
RECEIPT_WINDOW_MS = 72 * 3600 * 1000

# Statuses a worker may claim; scheduled rows are claimable once their due_at has come.
CLAIMABLE_STATUSES = frozenset({MessageStatus.SCHEDULED, MessageStatus.QUEUED})
# Statuses a client may still cancel: the message has not been handed to a provider.
CANCELABLE_STATUSES = CLAIMABLE_STATUSES

_RANK = {
    MessageStatus.SCHEDULED: 0,
    MessageStatus.QUEUED: 1,
    MessageStatus.SENDING: 2,
    MessageStatus.SENT: 3,
}


def can_transition(old: MessageStatus, new: MessageStatus) -> bool:
    """Whether a message in ``old`` may move to ``new``.

    Forward moves only; a final status never changes. The one backward move is
    ``sending → queued``: a transient failure or an expired lease puts a claimed message back
    in the queue for another attempt.
    """
    if old in FINAL_STATUSES:
        return False
    if old is MessageStatus.SENDING and new is MessageStatus.QUEUED:
        return True
    if new in FINAL_STATUSES:
        return True
    return _RANK[new] > _RANK[old]


def predecessors(new: MessageStatus) -> frozenset[MessageStatus]:
    """Every status from which a message may move to ``new`` (for set-based SQL updates)."""
    return frozenset(old for old in MessageStatus if can_transition(old, new))
