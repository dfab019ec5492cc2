"""The Twilio surface's Proxy v1 translation state: services, their pool numbers, sessions and
participants waiting for (or mapped onto) native proxy sessions.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "twilio_proxy_services",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("unique_name", sa.String(length=191), nullable=False),
        sa.Column("default_ttl", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_twilio_proxy_services_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_twilio_proxy_services")),
    )
    op.create_index(
        "uq_twilio_proxy_services_account_id_unique_name",
        "twilio_proxy_services",
        ["account_id", "unique_name"],
        unique=True,
    )
    op.create_table(
        "twilio_proxy_numbers",
        sa.Column("number_id", sa.String(length=40), nullable=False),
        sa.Column("service_id", sa.String(length=40), nullable=False),
        sa.Column("is_reserved", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["number_id"], ["proxy_numbers.id"], name=op.f("fk_twilio_proxy_numbers_number_id_proxy_numbers")
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["twilio_proxy_services.id"],
            name=op.f("fk_twilio_proxy_numbers_service_id_twilio_proxy_services"),
        ),
        sa.PrimaryKeyConstraint("number_id", name=op.f("pk_twilio_proxy_numbers")),
    )
    op.create_index("ix_twilio_proxy_numbers_service_id", "twilio_proxy_numbers", ["service_id"])
    op.create_table(
        "twilio_proxy_sessions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("service_id", sa.String(length=40), nullable=False),
        sa.Column("unique_name", sa.String(length=191), nullable=True),
        sa.Column("ttl", sa.Integer(), nullable=True),
        sa.Column("expires_at", sa.BigInteger(), nullable=True),
        sa.Column("native_session_id", sa.String(length=40), nullable=True),
        sa.Column("closed_at", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["native_session_id"],
            ["proxy_sessions.id"],
            name=op.f("fk_twilio_proxy_sessions_native_session_id_proxy_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["twilio_proxy_services.id"],
            name=op.f("fk_twilio_proxy_sessions_service_id_twilio_proxy_services"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_twilio_proxy_sessions")),
    )
    op.create_index("ix_twilio_proxy_sessions_service_id_id", "twilio_proxy_sessions", ["service_id", "id"])
    op.create_index(
        "uq_twilio_proxy_sessions_service_id_unique_name",
        "twilio_proxy_sessions",
        ["service_id", "unique_name"],
        unique=True,
    )
    op.create_index(
        "uq_twilio_proxy_sessions_native_session_id",
        "twilio_proxy_sessions",
        ["native_session_id"],
        unique=True,
    )
    op.create_table(
        "twilio_proxy_participants",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("session_id", sa.String(length=40), nullable=False),
        sa.Column("identifier", sa.String(length=64), nullable=False),
        sa.Column("friendly_name", sa.String(length=255), nullable=True),
        sa.Column("proxy_number_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["twilio_proxy_sessions.id"],
            name=op.f("fk_twilio_proxy_participants_session_id_twilio_proxy_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_twilio_proxy_participants")),
    )
    op.create_index(
        "uq_twilio_proxy_participants_session_id_identifier",
        "twilio_proxy_participants",
        ["session_id", "identifier"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_table("twilio_proxy_participants")
    op.drop_table("twilio_proxy_sessions")
    op.drop_table("twilio_proxy_numbers")
    op.drop_table("twilio_proxy_services")
