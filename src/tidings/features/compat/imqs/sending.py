"""``/sendsms`` onto the native send: the numbers read with the seed's rules, then ONE native
batch through ``MessageService.send`` (the path of ``POST /v1/messages``).

The seed answers 200 with ``sendSuccess: false`` when its provider refuses a send. Tidings
accepts a send and delivers it later, so its "provider" is the native intake: a send the intake
refuses (no channel or route, no valid number, over a limit, a message too long, slowed down)
is ``sendSuccess: false`` with the native code and sentence, and nothing is sent. A send the
intake accepts is ``sendSuccess: true`` whatever happens to each message later (an opted-out
recipient's message fails at dispatch); ``/messagestatus`` tells that."""

from __future__ import annotations

from typing import Any

from tidings.config import Settings
from tidings.core.encoding import analyse
from tidings.core.tenancy import Principal, Role
from tidings.errors import Conflict, PayloadTooLarge, RateLimited, Unprocessable
from tidings.features.compat.imqs.numbers import NumberRules
from tidings.features.compat.imqs.requests import SendSms
from tidings.features.compat.imqs.responses import refused, send_result
from tidings.features.compat.imqs.settings import ImqsSettings
from tidings.features.messages import MessageService, SendMessagesRequest


async def send_sms(
    caller: Principal,
    order: SendSms,
    rules: NumberRules,
    options: ImqsSettings,
    settings: Settings,
    messages: MessageService,
) -> dict[str, Any]:
    caller.require(Role.SENDER)
    if len(order.msisdns) > settings.max_recipients:
        # Before any number is read: a list over the limit is never parsed.
        return refused(
            valid=0,
            invalid=0,
            code="too_many_recipients",
            message=f"at most {settings.max_recipients} numbers per request",
        )
    numbers = await rules.sort(order.msisdns)
    valid, invalid = numbers.valid, len(numbers.invalid)
    if not valid:
        return refused(
            valid=0,
            invalid=invalid,
            code="no_valid_recipients",
            message="none of the numbers is a valid mobile number of an allowed country",
        )
    if options.max_batch_size is not None and len(valid) > options.max_batch_size:
        return refused(
            valid=len(valid),
            invalid=invalid,
            code="too_many_recipients",
            message=f"{len(valid)} numbers, at most {options.max_batch_size} per request",
        )
    segments = analyse(order.message).segments
    if options.max_message_segments is not None and segments > options.max_message_segments:
        return refused(
            valid=len(valid),
            invalid=invalid,
            code="too_many_segments",
            message=f"the message needs {segments} segments, at most {options.max_message_segments}",
        )
    try:
        batch = await messages.send(caller, SendMessagesRequest(to=valid, body=order.message))
    except (Unprocessable, PayloadTooLarge, RateLimited, Conflict) as refusal:
        return refused(valid=len(valid), invalid=invalid, code=refusal.code, message=refusal.message)
    # The intake may refuse more numbers than the surface did (the channel's countries).
    accepted: int = batch["accepted"]
    return send_result(
        ref=batch["id"],
        valid=accepted,
        invalid=invalid + len(batch["invalid"]),
        sent=accepted,
        success=True,
    )
