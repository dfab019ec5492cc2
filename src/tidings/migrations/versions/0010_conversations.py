"""Conversations: ``conversations``, ``conversation_participants``, ``conversation_messages`` and
``conversation_deliveries`` (each conversation message's per-participant outbound messages).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("friendly_name", sa.String(length=256), nullable=True),
        sa.Column("attributes", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("close_message", sa.Text(), nullable=True),
        sa.Column("inactive_after_ms", sa.BigInteger(), nullable=True),
        sa.Column("closed_after_ms", sa.BigInteger(), nullable=True),
        sa.Column("last_activity_at", sa.BigInteger(), nullable=False),
        sa.Column("inactive_at", sa.BigInteger(), nullable=True),
        sa.Column("closes_at", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_conversations_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
    )
    op.create_index("ix_conversations_account_id_id", "conversations", ["account_id", "id"])
    for column in ("inactive_at", "closes_at"):
        op.create_index(
            f"ix_conversations_{column}",
            "conversations",
            [column],
            sqlite_where=sa.text(f"{column} IS NOT NULL"),
            postgresql_where=sa.text(f"{column} IS NOT NULL"),
        )
    op.create_table(
        "conversation_participants",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("conversation_id", sa.String(length=40), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("proxy_address", sa.String(length=64), nullable=False),
        sa.Column("identity", sa.String(length=256), nullable=True),
        sa.Column("channel_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_conversation_participants_channel_id_channels")
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_participants_conversation_id_conversations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_participants")),
    )
    op.create_index(
        "uq_conversation_participants_conversation_id_address",
        "conversation_participants",
        ["conversation_id", "address"],
        unique=True,
    )
    op.create_index(
        "ix_conversation_participants_channel_id_address",
        "conversation_participants",
        ["channel_id", "address"],
    )
    op.create_table(
        "conversation_messages",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("conversation_id", sa.String(length=40), nullable=False),
        sa.Column("author", sa.String(length=256), nullable=False),
        sa.Column("participant_id", sa.String(length=40), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("inbound_message_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_messages_conversation_id_conversations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_messages")),
    )
    op.create_index(
        "ix_conversation_messages_conversation_id_id",
        "conversation_messages",
        ["conversation_id", "id"],
    )
    op.create_table(
        "conversation_deliveries",
        sa.Column("conversation_message_id", sa.String(length=40), nullable=False),
        sa.Column("participant_id", sa.String(length=40), nullable=False),
        sa.Column("message_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_message_id"],
            ["conversation_messages.id"],
            name="fk_conversation_deliveries_conversation_messages",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_conversation_deliveries_message_id_messages")
        ),
        sa.PrimaryKeyConstraint(
            "conversation_message_id", "participant_id", name=op.f("pk_conversation_deliveries")
        ),
    )


def downgrade() -> None:
    op.drop_table("conversation_deliveries")
    op.drop_index("ix_conversation_messages_conversation_id_id", table_name="conversation_messages")
    op.drop_table("conversation_messages")
    op.drop_index("ix_conversation_participants_channel_id_address", table_name="conversation_participants")
    op.drop_index(
        "uq_conversation_participants_conversation_id_address", table_name="conversation_participants"
    )
    op.drop_table("conversation_participants")
    for column in ("closes_at", "inactive_at"):
        op.drop_index(f"ix_conversations_{column}", table_name="conversations")
    op.drop_index("ix_conversations_account_id_id", table_name="conversations")
    op.drop_table("conversations")
