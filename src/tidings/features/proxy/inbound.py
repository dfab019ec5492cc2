"""The inbound routing step of proxy sessions: a message to a pool number from a participant of
an active session on it is relayed to the other participant from the pool number.

Registered in ``runtime.py`` after opt-out keywords and before conversations
(proxy sessions first, then conversations, else the account webhook: docs/architecture.md). It runs in
the transaction that stores the message, so a relay is never lost once the message is stored.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from tidings.core.addresses import parse_address
from tidings.core.numbers import InvalidNumberError
from tidings.features.inbound import InboundContext
from tidings.features.proxy import repository as repo
from tidings.features.proxy.lifecycle import end_session, relay, send_text
from tidings.features.proxy.rules import RELAY, EndReason, Text, has_expired, other_participant, phone_value


class ProxyStep:
    """Takes every message written to a live pool number: relayed within a session, answered
    with the end message after expiry, or with the "no session" message (if configured) when
    the sender has no session on that number. Anything else is not for this step."""

    # As for conversations, relays are claimed at the dispatcher's next poll on SQLite (NOTIFY
    # wakes PostgreSQL workers on commit): this runs in the writer thread, before the commit.
    name = "proxy_sessions"

    def route(self, conn: Connection, message: InboundContext) -> bool:
        number = phone_value(message.recipient)
        if number is None:
            return False
        pool_number = repo.number_on_channel(conn, message.channel_id, number)
        if pool_number is None:
            return False
        try:
            sender = str(parse_address(message.sender))
        except InvalidNumberError:
            return True  # an alphanumeric sender id is nobody's participant and cannot be answered
        session = repo.active_session_for(conn, pool_number["id"], sender)
        if session is None:
            self._no_session(conn, pool_number, message)
        elif has_expired(session["expires_at"], message.at):
            end_session(conn, session, EndReason.EXPIRED, now=message.at)
        else:
            relay(
                conn,
                session,
                other_participant(session, sender),
                message.body,
                now=message.at,
                metadata={
                    "proxy_session_id": session["id"],
                    "proxy": RELAY,
                    "inbound_id": message.message_id,
                },
            )
        return True

    @staticmethod
    def _no_session(conn: Connection, pool_number: dict[str, Any], message: InboundContext) -> None:
        """Answer from the pool number, in the form the person wrote to."""
        pseudo_session = {
            "id": None,
            "account_id": pool_number["account_id"],
            "channel_id": pool_number["channel_id"],
            "proxy_number": pool_number["number"],
        }
        send_text(conn, pseudo_session, Text.NO_SESSION, (message.sender,), now=message.at)
