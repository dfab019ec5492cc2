"""Viber's answers as :class:`SendError`: transient ones retry, the rest fail at once. Codes:
https://developers.viber.com/docs/api/rest-bot-api/#error-codes, creators.viber.com/docs/bots-api/errors
"""

from __future__ import annotations

from tidings.channels.base import SendError
from tidings.channels.http import parse_retry_after

STATUS_MESSAGES = {
    1: "invalidUrl",
    2: "invalidAuthToken",
    3: "badData",
    4: "missingData",
    5: "receiverNotRegistered",
    6: "receiverNotSubscribed",
    7: "publicAccountBlocked",
    8: "publicAccountNotFound",
    9: "publicAccountSuspended",
    10: "webhookNotSet",
    11: "receiverNoSuitableDevice",
    12: "tooManyRequests",
    13: "apiVersionNotSupported",
    14: "incompatibleWithVersion",
    15: "publicAccountNotAuthorized",
    16: "inchatReplyMessageNotAllowed",
    17: "publicAccountIsNotInline",
    18: "noPublicChat",
    19: "cannotSendBroadcast",
    20: "broadcastNotAllowed",
    21: "unsupportedCountry",
    22: "paymentUnsupported",
    23: "freeMessagesExceeded",
    24: "noBalance",
}

# "Rate control breach" (12): Viber allows 100 messages an hour to a user who has not replied
# (https://creators.viber.com/docs/bots-api/resources/messaging/send-message), so later may work.
# Every other code is about this message, this receiver or the bot's configuration: retrying the
# same request gets the same answer. Bad credentials (2) and a missing webhook (10) fail each
# message at once, as Twilio's 20003 does; the dispatcher's circuit breaker is the channel-level cure.
TRANSIENT_STATUSES = frozenset({12})

MAX_MESSAGE_CHARS = 500


def error_for_status(status: object, status_message: object) -> SendError:
    """The error for an answer whose ``status`` is not 0; unknown codes are Viber's "general
    error" and permanent."""
    if not isinstance(status, int) or isinstance(status, bool):
        return SendError("viber_bad_response", f"an answer with status {status!r}", retryable=False)
    name = STATUS_MESSAGES.get(status, "generalError")
    detail = str(status_message)[:MAX_MESSAGE_CHARS] if status_message else name
    message = detail if detail == name else f"{name}: {detail}"
    return SendError(f"viber_{status}", message, retryable=status in TRANSIENT_STATUSES)


def error_for_http(status: int, retry_after: str | None) -> SendError:
    """A non-2xx answer (a proxy or Viber's front end, never the API's JSON): 429 and 5xx retry."""
    name = f"viber_http_{status}"
    if status == 429 or status >= 500:
        wait = parse_retry_after(retry_after)
        return SendError(name, f"Viber answered HTTP {status}", retryable=True, retry_after=wait)
    return SendError(name, f"Viber answered HTTP {status}", retryable=False)


def network_error(exc: BaseException) -> SendError:
    """Connection refused or reset, DNS, TLS, timeout: the request may not have arrived."""
    detail = str(exc)[:200] or "no detail"
    return SendError("viber_network", f"{type(exc).__name__} talking to Viber: {detail}", retryable=True)
