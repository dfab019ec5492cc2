"""STOP, START and HELP: the keywords a person texts to opt out, opt back in or ask for help, and
the inbound routing step that acts on them (registered first in ``runtime.py``)."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Connection

from tidings.core.optouts import ALL_SENDERS, HELP_REPLY, OPT_IN_CONFIRMATION, OPT_OUT_CONFIRMATION
from tidings.features.accounts import HELP, OPT_IN, OPT_OUT, text_for
from tidings.features.inbound import InboundContext, queue_outbound
from tidings.features.optouts import repository as repo
from tidings.features.optouts.addresses import canonical


class Keyword(StrEnum):
    OPT_OUT = "opt_out"  # stop messages from the number written to
    OPT_OUT_ALL = "opt_out_all"  # stop messages from every number of the account
    OPT_IN = "opt_in"  # undo both
    HELP = "help"  # ask what this is


# Twilio's and the carriers' standard English set (docs/opt-out.md).
KEYWORDS: dict[str, Keyword] = {
    "STOP": Keyword.OPT_OUT,
    "UNSUBSCRIBE": Keyword.OPT_OUT,
    "CANCEL": Keyword.OPT_OUT,
    "END": Keyword.OPT_OUT,
    "QUIT": Keyword.OPT_OUT,
    "STOPALL": Keyword.OPT_OUT_ALL,
    "START": Keyword.OPT_IN,
    "UNSTOP": Keyword.OPT_IN,
    "HELP": Keyword.HELP,
}
# Longer bodies cannot be a keyword however much whitespace they hold; checked first so that
# ordinary messages cost one length comparison.
_LONGEST_BODY = 64

# ``metadata.system`` of the replies this step queues. The refusal at send lets these through
# to an opted-out address (a confirmation must reach the person who just opted out); it trusts
# the marker only on messages without a batch, which no API send is.
SYSTEM_REPLIES = {
    Keyword.OPT_OUT: OPT_OUT_CONFIRMATION,
    Keyword.OPT_OUT_ALL: OPT_OUT_CONFIRMATION,
    Keyword.OPT_IN: OPT_IN_CONFIRMATION,
    Keyword.HELP: HELP_REPLY,
}
_TEXTS = {Keyword.OPT_OUT: OPT_OUT, Keyword.OPT_OUT_ALL: OPT_OUT, Keyword.OPT_IN: OPT_IN, Keyword.HELP: HELP}


def match_keyword(body: str) -> tuple[str, Keyword] | None:
    """``(KEYWORD, kind)`` when the whole body is a keyword, ignoring case and every whitespace
    (``" Stop "`` and ``"stop all"`` are, ``"stop please"`` is not); ASCII only, so no Unicode
    case folding turns another word into one."""
    if len(body) > _LONGEST_BODY:
        return None
    word = "".join(body.split())
    if not word.isascii():
        return None
    word = word.upper()
    kind = KEYWORDS.get(word)
    return (word, kind) if kind is not None else None


class OptOutKeywords:
    """The routing step. It never takes the message (returns False): the account's webhook
    still receives every STOP as ``message.received``, so the customer's own systems see it."""

    name = "opt_out_keywords"

    def route(self, conn: Connection, message: InboundContext) -> bool:
        matched = match_keyword(message.body)
        if matched is None:
            return False
        word, kind = matched
        address = canonical(message.sender)
        sender = canonical(message.recipient)
        if kind is Keyword.HELP:
            self._reply(conn, message, kind)
        elif kind is Keyword.OPT_IN:
            repo.remove_for_opt_in(conn, message.account_id, sender, address)
            self._reply(conn, message, kind)
        else:
            scope = ALL_SENDERS if kind is Keyword.OPT_OUT_ALL else sender
            # Already opted out (of this sender or of all): no second confirmation.
            if not repo.covered(conn, message.account_id, scope, address) and repo.add_from_keyword(
                conn, message.account_id, scope, address, word, now=message.at
            ):
                self._reply(conn, message, kind)
        return False

    @staticmethod
    def _reply(conn: Connection, message: InboundContext, kind: Keyword) -> None:
        """One answer on the channel it came in on, from the address the person wrote to."""
        queue_outbound(
            conn,
            account_id=message.account_id,
            channel_id=message.channel_id,
            sender=message.recipient,
            recipient=message.sender,
            body=text_for(conn, message.account_id, _TEXTS[kind]),
            now=message.at,
            metadata={"system": SYSTEM_REPLIES[kind]},
        )
