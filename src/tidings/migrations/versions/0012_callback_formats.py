"""Webhook formats: ``messages.callback_format``, ``webhook_deliveries.format`` and
``account_webhooks.twilio_sms_url`` (docs/webhooks.md, "Formats").

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable without a default: a metadata-only change on both backends, whatever the size of
    # the tables; NULL is the native format, so existing rows keep their meaning.
    op.add_column("messages", sa.Column("callback_format", sa.String(length=16), nullable=True))
    op.add_column("webhook_deliveries", sa.Column("format", sa.String(length=16), nullable=True))
    op.add_column("account_webhooks", sa.Column("twilio_sms_url", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("account_webhooks") as batch:
        batch.drop_column("twilio_sms_url")
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.drop_column("format")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("callback_format")
