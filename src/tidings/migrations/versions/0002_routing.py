"""Routing: the routes table, and on each message the route that chose its channel; receipts
matched through an index led by the provider id.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "routes",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("prefix", sa.String(length=16), nullable=True),
        sa.Column("channel_id", sa.String(length=40), nullable=False),
        sa.Column("fallback_channel_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_routes_account_id_accounts")),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"], name=op.f("fk_routes_channel_id_channels")),
        sa.ForeignKeyConstraint(
            ["fallback_channel_id"], ["channels.id"], name=op.f("fk_routes_fallback_channel_id_channels")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routes")),
    )
    op.create_index("uq_routes_account_id_name", "routes", ["account_id", "name"], unique=True)
    op.drop_index("ix_messages_receipt", table_name="messages")
    op.create_index(
        "ix_messages_provider_id",
        "messages",
        ["provider_message_id", "channel_id"],
        sqlite_where=sa.text("provider_message_id IS NOT NULL"),
        postgresql_where=sa.text("provider_message_id IS NOT NULL"),
    )
    op.add_column("messages", sa.Column("route", sa.String(length=200), nullable=True))
    op.add_column("messages", sa.Column("fallback_channel_id", sa.String(length=40), nullable=True))
    op.add_column(
        "messages",
        sa.Column("via_fallback", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("via_fallback")
        batch.drop_column("fallback_channel_id")
        batch.drop_column("route")
    op.drop_index("ix_messages_provider_id", table_name="messages")
    op.create_index(
        "ix_messages_receipt",
        "messages",
        ["channel_id", "provider_message_id"],
        sqlite_where=sa.text("provider_message_id IS NOT NULL"),
        postgresql_where=sa.text("provider_message_id IS NOT NULL"),
    )
    op.drop_index("uq_routes_account_id_name", table_name="routes")
    op.drop_table("routes")
