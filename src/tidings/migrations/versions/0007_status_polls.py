"""Delivery-status polling: ``status_polls`` (when each polled `sent` message is asked about
next) and ``ix_messages_sent``, the partial index the poller finds waiting messages by.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "status_polls",
        sa.Column("message_id", sa.String(length=40), nullable=False),
        sa.Column("next_poll_at", sa.BigInteger(), nullable=False),
        sa.Column("gap_ms", sa.BigInteger(), nullable=False),
        sa.Column("polls", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_status_polls")),
    )
    # Partial: only rows in `sent` are indexed, so it stays as small as the set of messages
    # waiting for a receipt.
    op.create_index(
        "ix_messages_sent",
        "messages",
        ["channel_id", "updated_at"],
        sqlite_where=sa.text("status = 'sent'"),
        postgresql_where=sa.text("status = 'sent'"),
    )


def downgrade() -> None:
    op.drop_index("ix_messages_sent", table_name="messages")
    op.drop_table("status_polls")
