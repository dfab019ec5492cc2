"""Channels managed through the API: names unique per account among live channels, and deletion
that keeps the row (``deleted_at``) so the channel's messages and batches still resolve.

Channels created before this revision could share a name within an account; all but the oldest
of each such group are renamed ``"<name> (<id>)"`` so the unique index can be built.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_channels = sa.table(
    "channels",
    sa.column("id", sa.String),
    sa.column("account_id", sa.String),
    sa.column("name", sa.String),
    sa.column("created_at", sa.BigInteger),
)


def upgrade() -> None:
    _rename_duplicate_names()
    op.add_column("channels", sa.Column("deleted_at", sa.BigInteger(), nullable=True))
    op.create_index(
        "uq_channels_account_id_name",
        "channels",
        ["account_id", "name"],
        unique=True,
        sqlite_where=sa.text("deleted_at IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_channels_account_id_name", table_name="channels")
    with op.batch_alter_table("channels") as batch:
        batch.drop_column("deleted_at")


def _rename_duplicate_names() -> None:
    if op.get_context().as_sql:
        return  # offline SQL: no data to look at
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(_channels.c.id, _channels.c.account_id, _channels.c.name).order_by(
            _channels.c.created_at, _channels.c.id
        )
    )
    seen: set[tuple[str, str]] = set()
    for channel_id, account_id, name in rows.all():
        if (account_id, name) in seen:
            renamed = f"{name[: 200 - len(channel_id) - 3]} ({channel_id})"
            bind.execute(_channels.update().where(_channels.c.id == channel_id).values(name=renamed))
        else:
            seen.add((account_id, name))
