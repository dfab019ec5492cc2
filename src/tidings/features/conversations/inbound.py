"""The inbound routing step of conversations: a message from a participant to its proxy address
is appended to the conversation and relayed to the other participants.

It runs in the transaction that stores the inbound message (``features/inbound/routing.py``),
after opt-out keywords and proxy sessions. Taking the message silences its ``message.received``
event; the conversation's account gets ``conversation.message`` instead.
"""

from __future__ import annotations

from sqlalchemy import Connection

from tidings.core.addresses import parse_address
from tidings.core.numbers import InvalidNumberError
from tidings.features.conversations import repository as repo
from tidings.features.conversations.posting import post_message
from tidings.features.conversations.rules import proxy_matches
from tidings.features.inbound import InboundContext


class ConversationStep:
    """Routes an inbound message to the open conversation its sender takes part in through the
    proxy address it wrote to (an inactive one becomes active again)."""

    # The relays are claimed at the dispatcher's next poll on SQLite (NOTIFY wakes PostgreSQL
    # workers on commit): the step runs in the writer thread, where waking the event loop's
    # dispatcher directly would not be safe, and before the commit, when there is nothing to claim.
    name = "conversations"

    def route(self, conn: Connection, message: InboundContext) -> bool:
        try:
            sender = str(parse_address(message.sender))
        except InvalidNumberError:
            return False  # an alphanumeric sender id cannot be a participant
        holders = [
            p
            for p in repo.open_holders(conn, channel_id=message.channel_id, address=sender)
            if proxy_matches(p["kind"], p["proxy_address"], message.recipient)
        ]
        if not holders:
            return False
        # One open conversation per address and proxy address is enforced when participants are
        # added; should two ever match, the newest conversation is the live one.
        author = holders[0]
        conversation = repo.get_conversation(conn, author["conversation_id"], lock=True)
        if conversation is None or conversation["state"] == repo.CLOSED:
            return False
        post_message(
            conn,
            conversation,
            repo.participants_of(conn, conversation["id"]),
            body=message.body,
            author=author["identity"] or author["address"],
            author_participant=author,
            direction="inbound",
            now=message.at,
            inbound_message_id=message.message_id,
        )
        return True
