"""Twilio's Account JSON for a native account row."""

from __future__ import annotations

from typing import Any

from tidings.features.compat.twilio.dates import rfc2822

API_ROOT = "/2010-04-01"


def account_uri(sid: str) -> str:
    return f"{API_ROOT}/Accounts/{sid}.json"


def account_json(row: dict[str, Any], auth_token: str | None) -> dict[str, Any]:
    """``auth_token`` is shown to admins of the account or of its parent, as Twilio shows it to
    the account's owner; null otherwise. Every account is ``active`` and ``Full``: Tidings has
    no suspended, closed or trial accounts. A main account owns itself, a subaccount is owned
    by its parent. The row has no update time, so ``date_updated`` is its creation time."""
    sid = row["id"]
    base = f"{API_ROOT}/Accounts/{sid}"
    created = rfc2822(row["created_at"])
    return {
        "sid": sid,
        "friendly_name": row["name"],
        "status": "active",
        "type": "Full",
        "owner_account_sid": row["parent_id"] or sid,
        "auth_token": auth_token,
        "date_created": created,
        "date_updated": created,
        "uri": account_uri(sid),
        "subresource_uris": {
            "messages": f"{base}/Messages.json",
            "keys": f"{base}/Keys.json",
        },
    }
