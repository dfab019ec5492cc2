"""Proxy services, phone numbers, sessions and participants in Twilio Proxy v1's JSON.

SIDs by arithmetic (``sids.py``): ``KS`` ↔ ``tws_`` (a service row of ours), ``PN`` ↔ ``pxn_``
(a native pool number), ``KC`` ↔ ``twc_`` (a Twilio session row of ours; its native session is
``native_session_id``), ``KP`` ↔ ``twp_`` (a participant row of ours).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import HTTPConnection

from tidings.features.compat.twilio.dates import iso
from tidings.features.compat.twilio.locations import product_url
from tidings.features.compat.twilio.sids import to_sid

PRODUCT = "proxy"
SERVICE = ("KS", "tws")
NUMBER = ("PN", "pxn")
SESSION = ("KC", "twc")
PARTICIPANT = ("KP", "twp")
NATIVE_ACTIVE = "active"


def sid(kind: tuple[str, str], native_id: str) -> str:
    return to_sid(kind[0], native_id)


def service_path(service_id: str) -> str:
    return f"/v1/Services/{sid(SERVICE, service_id)}"


def session_path(service_id: str, session_id: str) -> str:
    return f"{service_path(service_id)}/Sessions/{sid(SESSION, session_id)}"


def _url(request: HTTPConnection, path: str) -> str:
    return product_url(request, PRODUCT, path)


def service_json(request: HTTPConnection, row: dict[str, Any]) -> dict[str, Any]:
    path = service_path(row["id"])
    return {
        "sid": sid(SERVICE, row["id"]),
        "unique_name": row["unique_name"],
        "account_sid": row["account_id"],
        "chat_instance_sid": None,
        "callback_url": None,
        "intercept_callback_url": None,
        "out_of_session_callback_url": None,
        "default_ttl": row["default_ttl"] or 0,
        "number_selection_behavior": "avoid-sticky",
        "geo_match_level": "country",
        "date_created": iso(row["created_at"]),
        "date_updated": iso(row["updated_at"]),
        "url": _url(request, path),
        "links": {
            "sessions": _url(request, f"{path}/Sessions"),
            "phone_numbers": _url(request, f"{path}/PhoneNumbers"),
        },
    }


def number_json(
    request: HTTPConnection, membership: dict[str, Any], native: dict[str, Any]
) -> dict[str, Any]:
    """A service's number: its membership row and the native pool number (with ``active_sessions``)."""
    number_sid = sid(NUMBER, native["id"])
    return {
        "sid": number_sid,
        "account_sid": native["account_id"],
        "service_sid": sid(SERVICE, membership["service_id"]),
        "phone_number": native["number"],
        "friendly_name": None,
        "iso_country": None,
        "capabilities": {"sms_outbound": True, "sms_inbound": True},
        "is_reserved": bool(membership["is_reserved"]),
        "in_use": native.get("active_sessions", 0),
        "date_created": iso(membership["created_at"]),
        "date_updated": iso(membership["updated_at"]),
        "url": _url(request, f"{service_path(membership['service_id'])}/PhoneNumbers/{number_sid}"),
    }


def session_status(row: dict[str, Any], native: dict[str, Any] | None) -> tuple[str, str | None, int | None]:
    """``(status, closed_reason, ended_at)``: ``open`` while it waits for its second participant,
    ``in-progress`` while its native session relays, ``closed`` once either ended."""
    if row["closed_at"] is not None:
        return "closed", "closed", row["closed_at"]
    if native is None:
        return "open", None, None
    if native["status"] == NATIVE_ACTIVE:
        return "in-progress", None, None
    return "closed", native["ended_reason"], native["updated_at"]


def session_json(
    request: HTTPConnection, account_id: str, row: dict[str, Any], native: dict[str, Any] | None
) -> dict[str, Any]:
    status, reason, ended_at = session_status(row, native)
    path = session_path(row["service_id"], row["id"])
    return {
        "sid": sid(SESSION, row["id"]),
        "service_sid": sid(SERVICE, row["service_id"]),
        "account_sid": account_id,
        "unique_name": row["unique_name"],
        "status": status,
        "closed_reason": reason,
        "ttl": row["ttl"] or 0,
        "mode": "message-only",
        "date_started": iso(native["created_at"]) if native else None,
        "date_ended": iso(ended_at),
        "date_last_interaction": None,
        "date_expiry": iso(row["expires_at"]),
        "date_created": iso(row["created_at"]),
        "date_updated": iso(max(row["updated_at"], native["updated_at"]) if native else row["updated_at"]),
        "url": _url(request, path),
        "links": {
            "interactions": _url(request, f"{path}/Interactions"),
            "participants": _url(request, f"{path}/Participants"),
        },
    }


def participant_json(
    request: HTTPConnection,
    account_id: str,
    session: dict[str, Any],
    row: dict[str, Any],
    native: dict[str, Any] | None,
) -> dict[str, Any]:
    """``proxy_identifier`` is the native session's pool number, in the participant's form
    (``whatsapp:+1…`` for a WhatsApp participant); null while the session waits."""
    participant_sid = sid(PARTICIPANT, row["id"])
    url = _url(
        request, f"{session_path(session['service_id'], session['id'])}/Participants/{participant_sid}"
    )
    proxy = None
    if native is not None:
        whatsapp = row["identifier"].startswith("whatsapp:")
        proxy = f"whatsapp:{native['proxy_number']}" if whatsapp else native["proxy_number"]
    return {
        "sid": participant_sid,
        "session_sid": sid(SESSION, session["id"]),
        "service_sid": sid(SERVICE, session["service_id"]),
        "account_sid": account_id,
        "friendly_name": row["friendly_name"],
        "identifier": row["identifier"],
        "proxy_identifier": proxy,
        "proxy_identifier_sid": sid(NUMBER, native["proxy_number_id"]) if native else None,
        "date_deleted": None,
        "date_created": iso(row["created_at"]),
        "date_updated": iso(row["created_at"]),
        "url": url,
        "links": {"message_interactions": f"{url}/MessageInteractions"},
    }
