"""WhatsApp templates and the customer service window: ``messages.template`` (the Cloud API
template object as JSON, NULL for free-form messages) and ``service_windows``, when each address
last wrote to each channel.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable without a default: a metadata-only change on both backends, whatever the size of
    # the table.
    op.add_column("messages", sa.Column("template", sa.Text(), nullable=True))
    op.create_table(
        "service_windows",
        sa.Column("channel_id", sa.String(length=40), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("last_inbound_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("channel_id", "address", name=op.f("pk_service_windows")),
    )


def downgrade() -> None:
    op.drop_table("service_windows")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("template")
