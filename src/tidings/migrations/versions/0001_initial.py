"""Initial schema: accounts, keys, channels, batches, messages and their bookkeeping.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Written out by hand to mirror tidings/store/schema.py as it stood at this revision (a test
compares the migrated database with the declared schema); every name is spelled out so later
changes to the naming convention cannot change what this revision creates.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Partial indexes: the same predicate on both backends.
CLAIMABLE = "status IN ('scheduled', 'queued')"
LEASED = "status = 'sending'"
HAS_PROVIDER_ID = "provider_message_id IS NOT NULL"

# 64-bit on PostgreSQL; plain INTEGER on SQLite so the key is the autoincrementing rowid.
SERIAL_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(length=34), nullable=False),
        sa.Column("parent_id", sa.String(length=34), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("auth_token_ciphertext", sa.Text(), nullable=False),
        sa.Column("default_country", sa.String(length=2), nullable=True),
        sa.Column("allowed_countries", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.ForeignKeyConstraint(["parent_id"], ["accounts.id"], name=op.f("fk_accounts_parent_id_accounts")),
    )
    op.create_index(op.f("ix_accounts_parent_id"), "accounts", ["parent_id"])

    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("key_prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_api_keys_account_id_accounts")
        ),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_index(op.f("ix_api_keys_account_id"), "api_keys", ["account_id"])

    op.create_table(
        "channels",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("senders", sa.Text(), server_default="[]", nullable=False),
        sa.Column("settings", sa.Text(), server_default="{}", nullable=False),
        sa.Column("credentials_ciphertext", sa.Text(), nullable=True),
        sa.Column("mps", sa.Integer(), nullable=True),
        sa.Column("max_batch_size", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("max_segments", sa.Integer(), server_default=sa.text("10"), nullable=False),
        sa.Column("countries", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channels")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_channels_account_id_accounts")
        ),
    )
    op.create_index(op.f("ix_channels_account_id"), "channels", ["account_id"])

    op.create_table(
        "batches",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("channel_id", sa.String(length=40), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("sender", sa.String(length=64), nullable=True),
        sa.Column("encoding", sa.String(length=8), nullable=True),
        sa.Column("segments", sa.Integer(), nullable=True),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("send_at", sa.BigInteger(), nullable=True),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("invalid", sa.Text(), server_default="[]", nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("metadata", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batches")),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_batches_account_id_accounts")),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"], name=op.f("fk_batches_channel_id_channels")),
    )
    op.create_index(op.f("ix_batches_account_id_id"), "batches", ["account_id", "id"])

    op.create_table(
        "messages",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("batch_id", sa.String(length=40), nullable=True),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("channel_id", sa.String(length=40), nullable=True),
        sa.Column("sender", sa.String(length=64), nullable=True),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("encoding", sa.String(length=8), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.BigInteger(), nullable=True),
        sa.Column("send_at", sa.BigInteger(), nullable=True),
        sa.Column("expires_at", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.BigInteger(), nullable=True),
        sa.Column("provider_message_id", sa.String(length=128), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("status_callback", sa.Text(), nullable=True),
        sa.Column("metadata", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_messages_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name=op.f("fk_messages_batch_id_batches")),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_messages_channel_id_channels")
        ),
    )
    op.create_index(
        op.f("ix_messages_claim"),
        "messages",
        ["priority", "due_at"],
        sqlite_where=sa.text(CLAIMABLE),
        postgresql_where=sa.text(CLAIMABLE),
    )
    op.create_index(
        op.f("ix_messages_lease"),
        "messages",
        ["lease_until"],
        sqlite_where=sa.text(LEASED),
        postgresql_where=sa.text(LEASED),
    )
    op.create_index(op.f("ix_messages_account_id_id"), "messages", ["account_id", "id"])
    op.create_index(op.f("ix_messages_batch_id_id"), "messages", ["batch_id", "id"])
    op.create_index(
        op.f("ix_messages_account_id_recipient_id"), "messages", ["account_id", "recipient", "id"]
    )
    op.create_index(
        op.f("ix_messages_receipt"),
        "messages",
        ["channel_id", "provider_message_id"],
        sqlite_where=sa.text(HAS_PROVIDER_ID),
        postgresql_where=sa.text(HAS_PROVIDER_ID),
    )

    op.create_table(
        "message_events",
        sa.Column("id", SERIAL_ID, autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_events")),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_message_events_message_id_messages")
        ),
    )
    op.create_index(op.f("ix_message_events_message_id_id"), "message_events", ["message_id", "id"])

    op.create_table(
        "pending_receipts",
        sa.Column("id", SERIAL_ID, autoincrement=True, nullable=False),
        sa.Column("channel_id", sa.String(length=40), nullable=False),
        sa.Column("provider_message_id", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_receipts")),
    )
    op.create_index(
        op.f("ix_pending_receipts_channel_id_provider_message_id"),
        "pending_receipts",
        ["channel_id", "provider_message_id"],
    )

    op.create_table(
        "idempotency_keys",
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.SmallInteger(), nullable=False),
        sa.Column("response_body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index(op.f("ix_idempotency_keys_created_at"), "idempotency_keys", ["created_at"])


def downgrade() -> None:
    # Reverse order of creation: referencing tables go before the tables they reference.
    op.drop_table("idempotency_keys")
    op.drop_table("pending_receipts")
    op.drop_table("message_events")
    op.drop_table("messages")
    op.drop_table("batches")
    op.drop_table("channels")
    op.drop_table("api_keys")
    op.drop_table("accounts")
