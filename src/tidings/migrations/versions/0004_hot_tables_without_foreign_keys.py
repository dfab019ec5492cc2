"""On PostgreSQL, the hot append-only tables drop their foreign keys (see store/schema.py's
``_sqlite_only_fk`` for the measurement and why); SQLite keeps them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DROPPED = [
    ("messages", "fk_messages_account_id_accounts", "account_id", "accounts"),
    ("messages", "fk_messages_batch_id_batches", "batch_id", "batches"),
    ("messages", "fk_messages_channel_id_channels", "channel_id", "channels"),
    ("message_events", "fk_message_events_message_id_messages", "message_id", "messages"),
]


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for table, name, _column, _target in _DROPPED:
        op.drop_constraint(name, table, type_="foreignkey")


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for table, name, column, target in _DROPPED:
        op.create_foreign_key(name, table, target, [column], ["id"])
