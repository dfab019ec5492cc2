"""Which channel carries a new participant: the conversation's account's own channels first,
else its nearest ancestor's (as sending does, ADR 0002), whose type serves the address kind and
which offers the proxy address (``rules.offers``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.core.addresses import ChannelKind
from tidings.errors import Unprocessable
from tidings.features.conversations.rules import SERVED_KINDS, default_proxy, offers, proxy_form
from tidings.store.channels import channels_of


async def resolve_channel(
    conn: AsyncConnection, lineage: Sequence[str], kind: ChannelKind, proxy_raw: str | None
) -> tuple[dict[str, Any], str]:
    """``(channel row, canonical proxy address)`` for a ``kind`` participant; a 422 naming
    ``proxy_address`` when it is malformed or no channel offers it."""
    proxy = None
    if proxy_raw is not None:
        proxy = proxy_form(kind, proxy_raw)
        if proxy is None:
            raise Unprocessable(
                f"{proxy_raw!r} cannot be the proxy address of a {kind.value} participant",
                code="invalid_address",
                field="proxy_address",
            )
    rows = await channels_of(conn, lineage)
    for row in ranked(rows, lineage):
        if proxy is not None:
            if offers(row, kind, proxy):
                return row, proxy
        elif kind in SERVED_KINDS.get(row["type"], frozenset()):
            fallback = default_proxy(row, kind)
            if fallback is not None:
                return row, fallback
    if proxy is None:
        raise Unprocessable(
            f"give proxy_address: no channel of this account lists a sender for {kind.value}",
            code="proxy_address_required",
            field="proxy_address",
        )
    raise Unprocessable(
        f"no channel of this account carries {kind.value} from {proxy}",
        code="no_channel_for_proxy",
        field="proxy_address",
    )


def ranked(rows: Sequence[dict[str, Any]], lineage: Sequence[str]) -> list[dict[str, Any]]:
    """Nearest account first; within one account, channels naming their senders before the
    sandbox (which offers any address), then the default, then the oldest."""
    rank = {account_id: i for i, account_id in enumerate(lineage)}
    return sorted(
        rows,
        key=lambda r: (
            rank.get(r["account_id"], len(rank)),
            r["type"] == "sandbox",
            not r["is_default"],
            r["id"],
        ),
    )
