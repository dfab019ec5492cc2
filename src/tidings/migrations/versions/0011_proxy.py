"""Proxy sessions: ``proxy_numbers`` (an account's pool) and ``proxy_sessions`` with the partial
indexes inbound routing and the pool choice probe.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LIVE = "removed_at IS NULL"
_ACTIVE = "status = 'active'"
_EXPIRING = "status = 'active' AND expires_at IS NOT NULL"


def upgrade() -> None:
    op.create_table(
        "proxy_numbers",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("channel_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("removed_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_proxy_numbers_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_proxy_numbers_channel_id_channels")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proxy_numbers")),
    )
    for name, columns in (
        ("uq_proxy_numbers_account_id_number", ["account_id", "number"]),
        ("uq_proxy_numbers_channel_id_number", ["channel_id", "number"]),
    ):
        op.create_index(
            name,
            "proxy_numbers",
            columns,
            unique=True,
            sqlite_where=sa.text(_LIVE),
            postgresql_where=sa.text(_LIVE),
        )
    op.create_table(
        "proxy_sessions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("proxy_number_id", sa.String(length=40), nullable=False),
        sa.Column("participant_a", sa.String(length=64), nullable=False),
        sa.Column("participant_b", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=True),
        sa.Column("ended_reason", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_proxy_sessions_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["proxy_number_id"],
            ["proxy_numbers.id"],
            name=op.f("fk_proxy_sessions_proxy_number_id_proxy_numbers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proxy_sessions")),
    )
    op.create_index("ix_proxy_sessions_account_id_id", "proxy_sessions", ["account_id", "id"])
    for name, column in (
        ("ix_proxy_sessions_active_a", "participant_a"),
        ("ix_proxy_sessions_active_b", "participant_b"),
    ):
        op.create_index(
            name,
            "proxy_sessions",
            ["proxy_number_id", column],
            sqlite_where=sa.text(_ACTIVE),
            postgresql_where=sa.text(_ACTIVE),
        )
    op.create_index(
        "ix_proxy_sessions_expires_at",
        "proxy_sessions",
        ["expires_at"],
        sqlite_where=sa.text(_EXPIRING),
        postgresql_where=sa.text(_EXPIRING),
    )


def downgrade() -> None:
    for name in (
        "ix_proxy_sessions_expires_at",
        "ix_proxy_sessions_active_b",
        "ix_proxy_sessions_active_a",
        "ix_proxy_sessions_account_id_id",
    ):
        op.drop_index(name, table_name="proxy_sessions")
    op.drop_table("proxy_sessions")
    op.drop_index("uq_proxy_numbers_channel_id_number", table_name="proxy_numbers")
    op.drop_index("uq_proxy_numbers_account_id_number", table_name="proxy_numbers")
    op.drop_table("proxy_numbers")
