"""Opt-outs: ``opt_outs`` (unique on address, account and sender) and ``account_texts`` (the
confirmation and HELP texts an account changed from their defaults).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "opt_outs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("sender", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("keyword", sa.String(length=16), nullable=True),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_opt_outs_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opt_outs")),
    )
    op.create_index(
        "uq_opt_outs_address_account_id_sender",
        "opt_outs",
        ["address", "account_id", "sender"],
        unique=True,
    )
    op.create_index("ix_opt_outs_account_id_id", "opt_outs", ["account_id", "id"])
    op.create_table(
        "account_texts",
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_account_texts_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", "name", name=op.f("pk_account_texts")),
    )


def downgrade() -> None:
    op.drop_table("account_texts")
    op.drop_index("ix_opt_outs_account_id_id", table_name="opt_outs")
    op.drop_index("uq_opt_outs_address_account_id_sender", table_name="opt_outs")
    op.drop_table("opt_outs")
