"""The seed's answers: the sendsms result object and the three delivery words."""

from __future__ import annotations

from typing import Any

from tidings.core.statuses import MessageStatus

NO_DATA = "Error: no data available"

# The seed knows three outcomes. A message still on its way here (scheduled, queued, sending)
# is "sent" in the seed's sense: accepted, not on the handset yet, and may still go either way.
# Every final status short of delivery (undelivered, failed, canceled, expired) is "failed".
_DELIVERY_WORDS = {
    MessageStatus.DELIVERED: "delivered",
    MessageStatus.SENT: "sent",
    MessageStatus.SCHEDULED: "sent",
    MessageStatus.QUEUED: "sent",
    MessageStatus.SENDING: "sent",
}


def delivery_word(status: str) -> str:
    return _DELIVERY_WORDS.get(MessageStatus(status), "failed")


def send_result(
    *, ref: str, valid: int, invalid: int, sent: int, success: bool, description: str = ""
) -> dict[str, Any]:
    """The sendsms body; ``description`` is empty on success, as the seed's example shows."""
    return {
        "refNumber": ref,
        "validNumbers": valid,
        "invalidNumbers": invalid,
        "sendSuccess": success,
        "statusDescription": description,
        "messagesSent": sent,
    }


def refused(*, ref: str = "", valid: int, invalid: int, code: str, message: str) -> dict[str, Any]:
    """A send the gateway would not take: 200 and ``sendSuccess: false`` as the seed answers a
    provider's refusal, with the native error code where the provider's number would be."""
    return send_result(
        ref=ref, valid=valid, invalid=invalid, sent=0, success=False, description=f"Error {code}: {message}"
    )
