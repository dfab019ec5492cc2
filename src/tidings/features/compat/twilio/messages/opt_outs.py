"""Twilio refuses a message to a recipient who opted out at create (error 21610); Tidings
refuses it at dispatch (``store/opt_out_refusal.py``), where the message fails with
``opted_out``. So that a Twilio client gets its answer where it expects it, create first reads
the account's native opt-outs of the recipient: one that covers the message's sender (the one
named, every sender, or, with no From, any) is a 400 21610 and nothing is sent.

The dispatcher stays the authority: the cases this read does not see (an opt-out received by a
parent's number a subaccount sends on) still fail at dispatch, shown as ``error_code`` 21610.
"""

from __future__ import annotations

from tidings.core.optouts import ALL_SENDERS
from tidings.core.tenancy import Principal
from tidings.errors import TidingsError
from tidings.features.compat.twilio.exceptions import TwilioError
from tidings.features.compat.twilio.messages.statuses import OPTED_OUT_CODE
from tidings.features.optouts import OptOutService

# An address holds one opt-out per sender at most; more than this many is not a real case.
_READ = 100


async def refuse_opted_out(opt_outs: OptOutService, caller: Principal, to: str, sender: str | None) -> None:
    try:
        page = await opt_outs.list(caller, account_id=None, address=to, sender=None, cursor=None, limit=_READ)
    except TidingsError:
        return  # not an address the opt-outs know how to read: the send itself refuses it
    for row in page.rows:
        if sender is None or row["sender"] in (ALL_SENDERS, sender):
            raise TwilioError(OPTED_OUT_CODE, "Attempt to send to unsubscribed recipient")
