"""The database schema: the only place tables are declared (migrations mirror it, a test checks).

Times are integer epoch milliseconds (UTC): identical on SQLite and PostgreSQL, cheap to compare
in the claim query's index, and converted to RFC 3339 only at the API edge.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ONLY_ON = "tidings_only_on"


def _sqlite_only_fk(column: str, target: str, name: str) -> ForeignKeyConstraint:
    """A foreign key of a hot append-only table, declared on SQLite only (revision 0004).

    On PostgreSQL each checked row runs a referential-integrity trigger: on an intake of
    100,000 messages the three checks of `messages` and the one of `message_events` took 1.9 s
    of 4.1 s (measured). The rows they guard are written by one code path each (intake writes
    the batch, its messages and their events in one transaction; accounts and channels are
    checked first and never hard-deleted while messages use them), so the check buys nothing
    there. SQLite's checks are in-process B-tree probes and stay.
    """
    constraint = ForeignKeyConstraint([column], [target], name=name, info={ONLY_ON: "sqlite"})
    return constraint.ddl_if(dialect="sqlite")


def declared_on(dialect: str) -> Callable[..., bool]:
    """An Alembic ``include_object`` hook: leave out what is declared for another dialect only
    (Alembic's comparison does not read ``ddl_if``)."""

    def include(obj: Any, _name: str | None, _type: str, _reflected: bool, _compare_to: Any) -> bool:
        only_on = getattr(obj, "info", {}).get(ONLY_ON)
        return only_on is None or only_on == dialect

    return include


accounts = Table(
    "accounts",
    metadata,
    Column("id", String(34), primary_key=True),
    Column("parent_id", String(34), ForeignKey("accounts.id"), nullable=True, index=True),
    Column("name", String(200), nullable=False),
    Column("auth_token_ciphertext", Text, nullable=False),
    Column("default_country", String(2), nullable=True),
    Column("allowed_countries", Text, nullable=True),  # JSON list of ISO codes; NULL = any
    Column("created_at", BigInteger, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(34), ForeignKey("accounts.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("key_prefix", String(16), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
)

channels = Table(
    "channels",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(34), ForeignKey("accounts.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("type", String(32), nullable=False),
    Column("is_default", Boolean, nullable=False, server_default=text("false")),
    Column("senders", Text, nullable=False, server_default="[]"),  # JSON list
    Column("settings", Text, nullable=False, server_default="{}"),  # JSON, non-secret
    Column("credentials_ciphertext", Text, nullable=True),  # Fernet, instance secret
    Column("mps", Integer, nullable=True),
    Column("max_batch_size", Integer, nullable=False, server_default=text("1")),
    Column("max_segments", Integer, nullable=False, server_default=text("10")),
    Column("countries", Text, nullable=True),  # JSON list of ISO codes; NULL = any
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    # Revision 0005. Deleting a channel keeps its row (its messages and batches still point at
    # it) and frees its name; every lookup skips deleted channels.
    Column("deleted_at", BigInteger, nullable=True),
    Index(
        "uq_channels_account_id_name",
        "account_id",
        "name",
        unique=True,
        sqlite_where=text("deleted_at IS NULL"),
        postgresql_where=text("deleted_at IS NULL"),
    ),
)

routes = Table(
    "routes",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(34), ForeignKey("accounts.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("kind", String(16), nullable=True),  # sms | whatsapp | telegram | viber; NULL = any
    Column("country", String(2), nullable=True),
    Column("prefix", String(16), nullable=True),
    Column("channel_id", String(40), ForeignKey("channels.id"), nullable=False),
    Column("fallback_channel_id", String(40), ForeignKey("channels.id"), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index("uq_routes_account_id_name", "account_id", "name", unique=True),
)

batches = Table(
    "batches",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(34), ForeignKey("accounts.id"), nullable=False),
    Column("channel_id", String(40), ForeignKey("channels.id"), nullable=False),
    Column("body", Text, nullable=True),  # NULL for personalised batches
    Column("sender", String(64), nullable=True),
    Column("encoding", String(8), nullable=True),
    Column("segments", Integer, nullable=True),
    Column("priority", SmallInteger, nullable=False),
    Column("send_at", BigInteger, nullable=True),
    Column("accepted", Integer, nullable=False),
    Column("invalid", Text, nullable=False, server_default="[]"),  # JSON [{input, reason}]
    Column("duplicates", Integer, nullable=False),
    Column("metadata", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_batches_account_id_id", "account_id", "id"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(34), nullable=False),
    Column("batch_id", String(40), nullable=True),
    Column("direction", String(8), nullable=False),  # outbound | inbound
    Column("status", String(16), nullable=False),
    Column("priority", SmallInteger, nullable=False),  # 0 high, 1 normal, 2 bulk
    Column("channel_id", String(40), nullable=True),
    Column("sender", String(64), nullable=True),
    Column("recipient", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("encoding", String(8), nullable=False),
    Column("segments", Integer, nullable=False),
    Column("due_at", BigInteger, nullable=True),  # when claimable: send_at or next retry
    Column("send_at", BigInteger, nullable=True),
    Column("expires_at", BigInteger, nullable=True),  # send_at/created + validity_period
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", BigInteger, nullable=True),
    Column("provider_message_id", String(128), nullable=True),
    Column("error_code", String(64), nullable=True),
    Column("error_message", Text, nullable=True),
    Column("status_callback", Text, nullable=True),
    Column("metadata", Text, nullable=True),  # JSON object from the client
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    # Why this channel (revision 0002): the route that chose it, the channel a failing send
    # moves to, and whether it did.
    Column("route", String(200), nullable=True),
    Column("fallback_channel_id", String(40), nullable=True),
    Column("via_fallback", Boolean, nullable=False, server_default=text("false")),
    # Revision 0006: the provider-side template (WhatsApp Cloud API object, JSON) sent instead of
    # the body; NULL for free-form messages, which intake writes without naming this column.
    Column("template", Text, nullable=True),
    # Revision 0008: the contact a message was addressed to or, inbound, whose address sent it;
    # NULL otherwise. Like ``template``, intake names it only for rows that carry one.
    Column("contact_id", String(40), nullable=True),
    # Revision 0012: the form this message's ``status_callback`` deliveries take (docs/webhooks.md,
    # "Formats"): NULL for the native signed JSON, ``twilio`` for Twilio's signed form post. Like
    # ``template``, intake names it only for rows that carry one.
    Column("callback_format", String(16), nullable=True),
    # The claim query's index: only claimable rows are in it, so it stays small at any table size.
    Index(
        "ix_messages_claim",
        "priority",
        "due_at",
        sqlite_where=text("status IN ('scheduled', 'queued')"),
        postgresql_where=text("status IN ('scheduled', 'queued')"),
    ),
    Index(
        "ix_messages_lease",
        "lease_until",
        sqlite_where=text("status = 'sending'"),
        postgresql_where=text("status = 'sending'"),
    ),
    # Delivery-status polling (revision 0007) finds a channel's messages that have waited long
    # enough in `sent`; only messages waiting for a receipt are in it (`updated_at` of a `sent`
    # row is when it was sent: nothing else updates such a row without moving its status).
    Index(
        "ix_messages_sent",
        "channel_id",
        "updated_at",
        sqlite_where=text("status = 'sent'"),
        postgresql_where=text("status = 'sent'"),
    ),
    _sqlite_only_fk("account_id", "accounts.id", "fk_messages_account_id_accounts"),
    _sqlite_only_fk("batch_id", "batches.id", "fk_messages_batch_id_batches"),
    _sqlite_only_fk("channel_id", "channels.id", "fk_messages_channel_id_channels"),
    Index("ix_messages_account_id_id", "account_id", "id"),
    Index("ix_messages_batch_id_id", "batch_id", "id"),
    Index("ix_messages_account_id_recipient_id", "account_id", "recipient", "id"),
    # `?contact=` lists a contact's messages. Partial: rows without a contact (nearly all of a
    # bulk intake) are not in it and cost the insert nothing.
    Index(
        "ix_messages_contact_id_id",
        "contact_id",
        "id",
        sqlite_where=text("contact_id IS NOT NULL"),
        postgresql_where=text("contact_id IS NOT NULL"),
    ),
    # Receipts are matched by provider id. The id leads so that a lookup of many ids is an
    # index condition whatever the planner believes: with (channel_id, provider_message_id) and
    # statistics from before any id was written, PostgreSQL scanned the channel's whole range
    # and filtered (~1 s per 1,000 receipts at 50,000 messages, measured).
    Index(
        "ix_messages_provider_id",
        "provider_message_id",
        "channel_id",
        sqlite_where=text("provider_message_id IS NOT NULL"),
        postgresql_where=text("provider_message_id IS NOT NULL"),
    ),
)

message_events = Table(
    "message_events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("message_id", String(40), nullable=False),
    Column("status", String(16), nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("code", String(64), nullable=True),
    Column("detail", Text, nullable=True),
    Index("ix_message_events_message_id_id", "message_id", "id"),
    _sqlite_only_fk("message_id", "messages.id", "fk_message_events_message_id_messages"),
)

# Receipts that arrived before the send result that carries their provider id was written
# (SMPP often reports before its submit_sm_resp is written): kept until that id appears, never
# dropped (docs/decisions/0001-database-as-queue-and-one-writer.md).
pending_receipts = Table(
    "pending_receipts",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("channel_id", String(40), nullable=False),
    Column("provider_message_id", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("code", String(64), nullable=True),
    Column("detail", Text, nullable=True),
    Column("received_at", BigInteger, nullable=False),
    Index("ix_pending_receipts_channel_id_provider_message_id", "channel_id", "provider_message_id"),
)

# When each address last wrote to each channel (revision 0006): WhatsApp's customer service
# window lets free-form messages reach a user only within 24 hours of the user's last message.
# Upserted with every inbound message on a channel type that has such a window; read at intake.
service_windows = Table(
    "service_windows",
    metadata,
    Column("channel_id", String(40), primary_key=True),
    Column("address", String(64), primary_key=True),
    Column("last_inbound_at", BigInteger, nullable=False),
)

# Delivery-status polling (revision 0007, docs/providers.md "Polling"): when a `sent` message
# of a polling channel is asked about next. A side table, not columns on `messages`: a row is
# written by the poller when it first polls a message, so the send path writes nothing more for
# any channel, and channels that do not poll never have rows. Rows of messages that have left
# `sent` (or the receipt window) are purged by the poller.
status_polls = Table(
    "status_polls",
    metadata,
    Column("message_id", String(40), primary_key=True),
    Column("next_poll_at", BigInteger, nullable=False),  # also the retry time if a poll is lost
    Column("gap_ms", BigInteger, nullable=False),  # the wait after the latest poll; doubles, capped
    Column("polls", Integer, nullable=False),
)

# An account's address book (docs/contacts.md, revision 0008): a message may be addressed to
# a contact by the caller's own ``external_id`` and a channel type, and inbound messages are
# linked to the contact whose address sent them.
contacts = Table(
    "contacts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(34), ForeignKey("accounts.id"), nullable=False),
    Column("external_id", String(128), nullable=False),
    Column("name", String(200), nullable=True),
    Column("attributes", Text, nullable=True),  # JSON object from the client
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index("uq_contacts_account_id_external_id", "account_id", "external_id", unique=True),
    Index("ix_contacts_account_id_id", "account_id", "id"),
)

# At most one address per channel kind per contact, each in the canonical form the messages
# table uses (``+E164``, ``whatsapp:+E164``, ``telegram:<chat id>``, ``viber:<id>``), so that
# matching an inbound sender is an equality probe of the unique index, which also keeps an
# address with one contact per account.
contact_addresses = Table(
    "contact_addresses",
    metadata,
    Column("contact_id", String(40), ForeignKey("contacts.id"), primary_key=True),
    Column("kind", String(16), primary_key=True),  # sms | whatsapp | telegram | viber
    Column("account_id", String(34), nullable=False),
    Column("address", String(64), nullable=False),
    Index("uq_contact_addresses_account_id_kind_address", "account_id", "kind", "address", unique=True),
)

# Conversations (revision 0010, docs/conversations.md): group threads. ``inactive_at``
# and ``closes_at`` are when the idle timers fire, recomputed on every activity and cleared when
# they no longer apply, so the workers' sweep reads only due rows of two small partial indexes.
conversations = Table(
    "conversations",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(34), ForeignKey("accounts.id"), nullable=False),
    Column("friendly_name", String(256), nullable=True),
    Column("attributes", Text, nullable=True),  # JSON object from the client
    Column("state", String(16), nullable=False),  # active | inactive | closed
    Column("close_message", Text, nullable=True),  # sent to every participant on closing
    Column("inactive_after_ms", BigInteger, nullable=True),
    Column("closed_after_ms", BigInteger, nullable=True),
    Column("last_activity_at", BigInteger, nullable=False),
    Column("inactive_at", BigInteger, nullable=True),
    Column("closes_at", BigInteger, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index("ix_conversations_account_id_id", "account_id", "id"),
    Index(
        "ix_conversations_inactive_at",
        "inactive_at",
        sqlite_where=text("inactive_at IS NOT NULL"),
        postgresql_where=text("inactive_at IS NOT NULL"),
    ),
    Index(
        "ix_conversations_closes_at",
        "closes_at",
        sqlite_where=text("closes_at IS NOT NULL"),
        postgresql_where=text("closes_at IS NOT NULL"),
    ),
)

# A participant is an address (canonical, as messages store it) reached from a proxy address on
# the channel resolved when it was added. Inbound routing probes (channel_id, address).
conversation_participants = Table(
    "conversation_participants",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("conversation_id", String(40), ForeignKey("conversations.id"), nullable=False),
    Column("address", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # sms | whatsapp | telegram | viber
    Column("proxy_address", String(64), nullable=False),
    Column("identity", String(256), nullable=True),
    Column("channel_id", String(40), ForeignKey("channels.id"), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Index("uq_conversation_participants_conversation_id_address", "conversation_id", "address", unique=True),
    Index("ix_conversation_participants_channel_id_address", "channel_id", "address"),
)

conversation_messages = Table(
    "conversation_messages",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("conversation_id", String(40), ForeignKey("conversations.id"), nullable=False),
    Column("author", String(256), nullable=False),  # identity, address, or "system"
    Column("participant_id", String(40), nullable=True),  # the authoring participant, if one
    Column("body", Text, nullable=False),
    Column("direction", String(8), nullable=False),  # outbound (API, closing) | inbound
    Column("inbound_message_id", String(40), nullable=True),  # the stored inbound message
    Column("created_at", BigInteger, nullable=False),
    Index("ix_conversation_messages_conversation_id_id", "conversation_id", "id"),
)

# Each conversation message's copies: one ordinary outbound message per participant reached. A
# side table, so the messages table and its bulk intake path stay as they are; statuses and
# errors are read through it from the messages themselves.
conversation_deliveries = Table(
    "conversation_deliveries",
    metadata,
    Column(
        "conversation_message_id",
        String(40),
        # Named by hand: the convention's name would pass PostgreSQL's 63-character limit.
        ForeignKey("conversation_messages.id", name="fk_conversation_deliveries_conversation_messages"),
        primary_key=True,
    ),
    Column("participant_id", String(40), primary_key=True),  # kept after the participant leaves
    Column("message_id", String(40), ForeignKey("messages.id"), nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("account_id", String(34), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", SmallInteger, nullable=False),
    Column("response_body", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False, index=True),
)

# An account's outbound-event settings (docs/webhooks.md). A side table rather than
# columns on ``accounts``: adding it is a plain CREATE TABLE on both backends (SQLite can only add
# columns by appending to the table's stored definition), and the outbox insert joins only the
# accounts that configured something. ``url`` may be NULL: the secret also signs deliveries to a
# message's ``status_callback``.
account_webhooks = Table(
    "account_webhooks",
    metadata,
    Column("account_id", String(34), ForeignKey("accounts.id"), primary_key=True),
    Column("url", Text, nullable=True),
    Column("secret_ciphertext", Text, nullable=False),  # Fernet, instance secret
    Column("updated_at", BigInteger, nullable=False),
    # Revision 0012: where the account's inbound messages are also POSTed in Twilio's webhook form
    # (an ``SmsUrl``, docs/twilio-compat.md), signed with its auth token; NULL for none.
    Column("twilio_sms_url", Text, nullable=True),
)

# The transactional outbox of signed event webhooks (docs/webhooks.md): one row per (event, target URL),
# written in the transaction that made the event. ``event_id`` points at the message_events row the
# payload is rendered from (on the first attempt, then kept in ``payload`` so every retry sends the
# same bytes); events without such a row carry their payload from the start.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("account_id", String(34), ForeignKey("accounts.id"), nullable=False),
    Column("message_id", String(40), ForeignKey("messages.id"), nullable=True),
    Column("event_id", BigInteger, ForeignKey("message_events.id"), nullable=True),
    Column("event_type", String(32), nullable=False),
    Column("payload", Text, nullable=True),
    Column("url", Text, nullable=False),
    Column("status", String(16), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", BigInteger, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", BigInteger, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    # Revision 0012: how the body is rendered and signed (``tidings.webhooks.formats``): NULL for
    # the native JSON, else a format's name (``twilio``).
    Column("format", String(16), nullable=True),
    # The claim's index: only pending rows are in it.
    Index(
        "ix_webhook_deliveries_due",
        "next_attempt_at",
        sqlite_where=text("status = 'pending'"),
        postgresql_where=text("status = 'pending'"),
    ),
    # Per-message order: "is an earlier delivery of this message still pending?"
    Index(
        "ix_webhook_deliveries_order",
        "message_id",
        "id",
        sqlite_where=text("status = 'pending'"),
        postgresql_where=text("status = 'pending'"),
    ),
)

# Opt-outs (revision 0009, docs/opt-out.md): a person's address that must not be messaged from
# ``sender`` (our address they wrote STOP to), or from any sender of the account when ``sender``
# is ``*`` (STOPALL, and opt-outs added by API without a sender). The unique index leads with
# the address: the claim looks the claimed recipients up in it, whatever their accounts.
opt_outs = Table(
    "opt_outs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(34), ForeignKey("accounts.id"), nullable=False),
    Column("sender", String(64), nullable=False),
    Column("address", String(64), nullable=False),
    Column("keyword", String(16), nullable=True),  # STOP, STOPALL, …; NULL when added by API
    Column("source", String(8), nullable=False),  # keyword | api
    Column("created_at", BigInteger, nullable=False),
    Index("uq_opt_outs_address_account_id_sender", "address", "account_id", "sender", unique=True),
    Index("ix_opt_outs_account_id_id", "account_id", "id"),
)

# Texts the gateway sends on an account's behalf (revision 0009): the opt-out and opt-in
# confirmations and the HELP answer (names in ``features/accounts/texts.py``). One row per text
# the account changed; a missing row means the default. Keyed by name so that later system texts
# (proxy sessions, say) need no migration.
account_texts = Table(
    "account_texts",
    metadata,
    Column("account_id", String(34), ForeignKey("accounts.id"), primary_key=True),
    Column("name", String(32), primary_key=True),
    Column("body", Text, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

# Proxy sessions (revision 0011, docs/proxy.md). A pool number is an
# E.164 number that is a sender of the channel resolved when it was added; removing one keeps
# its row (its ended sessions still show it), so the unique indexes cover live rows only. The
# (channel, number) one also makes an inbound recipient resolve to at most one pool number.
proxy_numbers = Table(
    "proxy_numbers",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(34), ForeignKey("accounts.id"), nullable=False),
    Column("number", String(64), nullable=False),
    Column("channel_id", String(40), ForeignKey("channels.id"), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("removed_at", BigInteger, nullable=True),
    Index(
        "uq_proxy_numbers_account_id_number",
        "account_id",
        "number",
        unique=True,
        sqlite_where=text("removed_at IS NULL"),
        postgresql_where=text("removed_at IS NULL"),
    ),
    Index(
        "uq_proxy_numbers_channel_id_number",
        "channel_id",
        "number",
        unique=True,
        sqlite_where=text("removed_at IS NULL"),
        postgresql_where=text("removed_at IS NULL"),
    ),
)

# Participants are canonical addresses (``+E164`` or ``whatsapp:+E164``). The two partial
# indexes make "the active session of (pool number, participant)" an index probe from either
# side, for inbound routing and for choosing a pool number free of both participants.
proxy_sessions = Table(
    "proxy_sessions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(34), ForeignKey("accounts.id"), nullable=False),
    Column("proxy_number_id", String(40), ForeignKey("proxy_numbers.id"), nullable=False),
    Column("participant_a", String(64), nullable=False),
    Column("participant_b", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # active | ended
    Column("expires_at", BigInteger, nullable=True),  # NULL: until ended
    Column("ended_reason", String(16), nullable=True),  # deleted | expired | number_removed
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index("ix_proxy_sessions_account_id_id", "account_id", "id"),
    Index(
        "ix_proxy_sessions_active_a",
        "proxy_number_id",
        "participant_a",
        sqlite_where=text("status = 'active'"),
        postgresql_where=text("status = 'active'"),
    ),
    Index(
        "ix_proxy_sessions_active_b",
        "proxy_number_id",
        "participant_b",
        sqlite_where=text("status = 'active'"),
        postgresql_where=text("status = 'active'"),
    ),
    # The expiry sweep reads only due rows of this small index.
    Index(
        "ix_proxy_sessions_expires_at",
        "expires_at",
        sqlite_where=text("status = 'active' AND expires_at IS NOT NULL"),
        postgresql_where=text("status = 'active' AND expires_at IS NOT NULL"),
    ),
)

# --- compat/messagesender (seed 004): the surface's own bookkeeping -----------------------------
# One row per recipient line a /send_message answered, referencing the native message sent for
# it (NULL when the intake refused that recipient). The seed lists its jobs by queue ("main" sent
# at once, "scheduled" for later) and by outcome; the native messages know their outcome but not
# the queue, the seed's user id nor that they came through this surface. /delete_all deletes
# these rows, never the messages.
messagesender_records = Table(
    "messagesender_records",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(34), ForeignKey("accounts.id"), nullable=False),
    Column("message_id", String(40), nullable=True),
    Column("queue", String(16), nullable=False),  # main | scheduled
    Column("uuid", String(128), nullable=False),  # the contact's external id, as given
    Column("service", String(16), nullable=False),  # whatsapp | telegram | viber
    Column("body", Text, nullable=False),
    Column("queued_at", BigInteger, nullable=False),  # when it is due: now, or its send_at
    Column("created_at", BigInteger, nullable=False),
    Index("ix_messagesender_records_account_id_id", "account_id", "id"),
)

# -- Twilio surface: Proxy v1 translation state (revision 0013, docs/twilio-compat.md) --
# Twilio's Proxy has Services owning phone numbers, and sessions that exist before their two
# participants do; the native proxy has one pool per account and sessions created with both
# participants. These tables hold only what the native rows lack: a service and which pool
# numbers it owns, and each Twilio session and participant with the native session it became.
twilio_proxy_services = Table(
    "twilio_proxy_services",
    metadata,
    Column("id", String(40), primary_key=True),  # tws_…, KS… by arithmetic
    Column("account_id", String(34), ForeignKey("accounts.id"), nullable=False),
    Column("unique_name", String(191), nullable=False),
    Column("default_ttl", Integer, nullable=True),  # seconds; NULL: sessions last until closed
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index("uq_twilio_proxy_services_account_id_unique_name", "account_id", "unique_name", unique=True),
)

# A native pool number belongs to at most one service (its key); sessions of the service are
# placed on its numbers only, never on a reserved one unless a participant asks for it.
twilio_proxy_numbers = Table(
    "twilio_proxy_numbers",
    metadata,
    Column("number_id", String(40), ForeignKey("proxy_numbers.id"), primary_key=True),
    Column("service_id", String(40), ForeignKey("twilio_proxy_services.id"), nullable=False),
    Column("is_reserved", Boolean, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index("ix_twilio_proxy_numbers_service_id", "service_id"),
)

# A Twilio session: pending (``native_session_id`` NULL) until its second participant arrives,
# then the native session it became; ``closed_at`` closes a pending one.
twilio_proxy_sessions = Table(
    "twilio_proxy_sessions",
    metadata,
    Column("id", String(40), primary_key=True),  # twc_…, KC… by arithmetic
    Column("service_id", String(40), ForeignKey("twilio_proxy_services.id"), nullable=False),
    Column("unique_name", String(191), nullable=True),
    Column("ttl", Integer, nullable=True),  # seconds, as given
    Column("expires_at", BigInteger, nullable=True),
    Column("native_session_id", String(40), ForeignKey("proxy_sessions.id"), nullable=True),
    Column("closed_at", BigInteger, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index("ix_twilio_proxy_sessions_service_id_id", "service_id", "id"),
    Index("uq_twilio_proxy_sessions_service_id_unique_name", "service_id", "unique_name", unique=True),
    Index("uq_twilio_proxy_sessions_native_session_id", "native_session_id", unique=True),
)

twilio_proxy_participants = Table(
    "twilio_proxy_participants",
    metadata,
    Column("id", String(40), primary_key=True),  # twp_…, KP… by arithmetic
    Column("session_id", String(40), ForeignKey("twilio_proxy_sessions.id"), nullable=False),
    Column("identifier", String(64), nullable=False),  # canonical: +E164 or whatsapp:+E164
    Column("friendly_name", String(255), nullable=True),
    Column("proxy_number_id", String(40), nullable=True),  # the pool number it asked for
    Column("created_at", BigInteger, nullable=False),
    Index("uq_twilio_proxy_participants_session_id_identifier", "session_id", "identifier", unique=True),
)
