"""Contacts: ``contacts``, ``contact_addresses`` (one canonical address per kind, unique within
an account) and ``messages.contact_id`` with its partial index.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contacts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("attributes", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_contacts_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
    )
    op.create_index(
        "uq_contacts_account_id_external_id", "contacts", ["account_id", "external_id"], unique=True
    )
    op.create_index("ix_contacts_account_id_id", "contacts", ["account_id", "id"])
    op.create_table(
        "contact_addresses",
        sa.Column("contact_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.String(length=34), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_contact_addresses_contact_id_contacts")
        ),
        sa.PrimaryKeyConstraint("contact_id", "kind", name=op.f("pk_contact_addresses")),
    )
    op.create_index(
        "uq_contact_addresses_account_id_kind_address",
        "contact_addresses",
        ["account_id", "kind", "address"],
        unique=True,
    )
    # Nullable without a default: a metadata-only change on both backends, whatever the size of
    # the table; the index is partial, so existing rows (all NULL) are not in it.
    op.add_column("messages", sa.Column("contact_id", sa.String(length=40), nullable=True))
    op.create_index(
        "ix_messages_contact_id_id",
        "messages",
        ["contact_id", "id"],
        sqlite_where=sa.text("contact_id IS NOT NULL"),
        postgresql_where=sa.text("contact_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_messages_contact_id_id", table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("contact_id")
    op.drop_index("uq_contact_addresses_account_id_kind_address", table_name="contact_addresses")
    op.drop_table("contact_addresses")
    op.drop_index("ix_contacts_account_id_id", table_name="contacts")
    op.drop_index("uq_contacts_account_id_external_id", table_name="contacts")
    op.drop_table("contacts")
