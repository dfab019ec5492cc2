"""The messagesender compat surface's bookkeeping: ``messagesender_records``, one row per
recipient line of a ``/send_message``, referencing the native message sent for it.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "messagesender_records",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("message_id", sa.String(length=40), nullable=True),
        sa.Column("queue", sa.String(length=16), nullable=False),
        sa.Column("uuid", sa.String(length=128), nullable=False),
        sa.Column("service", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("queued_at", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_messagesender_records_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messagesender_records")),
    )
    op.create_index("ix_messagesender_records_account_id_id", "messagesender_records", ["account_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_messagesender_records_account_id_id", table_name="messagesender_records")
    op.drop_table("messagesender_records")
