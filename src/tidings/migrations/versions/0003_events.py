"""Outbound events: accounts' webhook settings and the webhook delivery outbox.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

Mirrors tidings/store/schema.py (``account_webhooks``, ``webhook_deliveries``); a test compares
the migrated database with the declared schema on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = "status = 'pending'"
SERIAL_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "account_webhooks",
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("secret_ciphertext", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_account_webhooks")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_account_webhooks_account_id_accounts")
        ),
    )

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", SERIAL_ID, autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("message_id", sa.String(length=40), nullable=True),
        sa.Column("event_id", sa.BigInteger(), nullable=True),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_webhook_deliveries_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_webhook_deliveries_message_id_messages")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["message_events.id"], name=op.f("fk_webhook_deliveries_event_id_message_events")
        ),
    )
    op.create_index(
        op.f("ix_webhook_deliveries_due"),
        "webhook_deliveries",
        ["next_attempt_at"],
        sqlite_where=sa.text(PENDING),
        postgresql_where=sa.text(PENDING),
    )
    op.create_index(
        op.f("ix_webhook_deliveries_order"),
        "webhook_deliveries",
        ["message_id", "id"],
        sqlite_where=sa.text(PENDING),
        postgresql_where=sa.text(PENDING),
    )


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("account_webhooks")
