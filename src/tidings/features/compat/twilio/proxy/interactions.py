"""``…/Sessions/{KC}/Interactions`` and ``…/Participants/{KP}/MessageInteractions``: the
messages a session carried, onto the native proxy's ``session_messages`` and ``send``.

An interaction is one message the session delivered to a participant: a relay of the other
participant's inbound message (``inbound_*`` name that message and its author) or a message
sent into the session through ``MessageInteractions`` create (``inbound_*`` null). Its ``KI``
SID is the outbound message's id in hex, so it is also ``SM…`` in the Messages API and
``msg_…`` natively. System texts (session start/end) are not interactions.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from starlette.requests import HTTPConnection

from tidings.core.cursors import Page
from tidings.core.tenancy import Principal
from tidings.features.compat.twilio.dates import iso
from tidings.features.compat.twilio.exceptions import invalid_parameter, not_found
from tidings.features.compat.twilio.forms import read_form
from tidings.features.compat.twilio.locations import product_url
from tidings.features.compat.twilio.messages.statuses import twilio_status
from tidings.features.compat.twilio.paging import PAGING_PARAMETERS, page_ask, v1_page
from tidings.features.compat.twilio.proxy import repository as repo
from tidings.features.compat.twilio.proxy.lookups import (
    Caller,
    Db,
    Proxy,
    participant_rows,
    read,
    session_rows,
)
from tidings.features.compat.twilio.proxy.responses import PARTICIPANT, SERVICE, SESSION, session_path, sid
from tidings.features.compat.twilio.sids import from_sid, to_sid
from tidings.features.proxy import ProxyService
from tidings.store.engine import Database
from tidings.web.responses import JSONResponse

router = APIRouter(prefix="/proxy/v1/Services/{service_sid}/Sessions/{session_sid}")

INTERACTION = ("KI", "msg")
MESSAGE_LETTERS = "SM"
MAX_BODY_CHARS = 1600
BODY_TOO_LONG = 21617
BODY_REQUIRED = 21602
CREATE_PARAMETERS = frozenset({"Body", "MediaUrl"})
NO_MEDIA = "Tidings relays text only"


def interaction_json(
    request: HTTPConnection,
    account_id: str,
    session: dict[str, Any],
    people: list[dict[str, Any]],
    message: dict[str, Any],
) -> dict[str, Any]:
    by_identifier = {p["identifier"]: sid(PARTICIPANT, p["id"]) for p in people}
    recipient = by_identifier.get(message["recipient"])
    inbound_id = message["metadata"].get("inbound_id")
    author = next((s for identifier, s in by_identifier.items() if identifier != message["recipient"]), None)
    interaction_sid = sid(INTERACTION, message["id"])
    return {
        "sid": interaction_sid,
        "session_sid": sid(SESSION, session["id"]),
        "service_sid": sid(SERVICE, session["service_id"]),
        "account_sid": account_id,
        "data": json.dumps({"body": message["body"]}),
        "type": "message",
        "inbound_participant_sid": author if inbound_id else None,
        "inbound_resource_sid": to_sid(MESSAGE_LETTERS, inbound_id) if inbound_id else None,
        "inbound_resource_status": "received" if inbound_id else None,
        "inbound_resource_type": "Message" if inbound_id else None,
        "inbound_resource_url": None,
        "outbound_participant_sid": recipient,
        "outbound_resource_sid": to_sid(MESSAGE_LETTERS, message["id"]),
        "outbound_resource_status": twilio_status(message["status"]),
        "outbound_resource_type": "Message",
        "outbound_resource_url": None,
        "date_created": iso(message["created_at"]),
        "date_updated": iso(message["updated_at"]),
        "url": product_url(
            request,
            "proxy",
            f"{session_path(session['service_id'], session['id'])}/Interactions/{interaction_sid}",
        ),
    }


async def _carried(
    db: Database, proxy: ProxyService, caller: Principal, service_sid: str, session_sid: str
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """The session, its participants and what its native session carried (nothing while it waits)."""
    _, session = await session_rows(db, caller, service_sid, session_sid)
    people = await read(db, lambda c: repo.participants_of(c, session["id"]))
    if session["native_session_id"] is None:
        return session, people, []
    return session, people, await proxy.session_messages(caller, session["native_session_id"])


def _one(messages: list[dict[str, Any]], interaction_sid: str) -> dict[str, Any]:
    message_id = from_sid(interaction_sid, *INTERACTION)
    for message in messages:
        if message["id"] == message_id:
            return message
    raise not_found()


@router.get("/Interactions")
async def list_interactions(
    request: Request, service_sid: str, session_sid: str, caller: Caller, db: Db, proxy: Proxy
) -> JSONResponse:
    """Newest first, as Twilio lists them; one page (a session's messages are read whole)."""
    ask = page_ask(await read_form(request, PAGING_PARAMETERS))
    session, people, messages = await _carried(db, proxy, caller, service_sid, session_sid)
    records = [interaction_json(request, caller.account_id, session, people, m) for m in reversed(messages)]
    return JSONResponse(
        v1_page(request, "interactions", records, Page(records, max(len(records), 1), None), ask)
    )


@router.get("/Interactions/{interaction_sid}")
async def fetch_interaction(
    request: Request,
    service_sid: str,
    session_sid: str,
    interaction_sid: str,
    caller: Caller,
    db: Db,
    proxy: Proxy,
) -> JSONResponse:
    await read_form(request)
    session, people, messages = await _carried(db, proxy, caller, service_sid, session_sid)
    message = _one(messages, interaction_sid)
    return JSONResponse(interaction_json(request, caller.account_id, session, people, message))


@router.post("/Participants/{participant_sid}/MessageInteractions", status_code=201)
async def send_to_participant(
    request: Request,
    service_sid: str,
    session_sid: str,
    participant_sid: str,
    caller: Caller,
    db: Db,
    proxy: Proxy,
) -> JSONResponse:
    """``Body`` to the participant from its proxy number: the native ``send`` into the session.
    A session still waiting for its second participant has no number yet: a 400."""
    form = await read_form(request, CREATE_PARAMETERS)
    session, participant = await participant_rows(db, caller, service_sid, session_sid, participant_sid)
    if "MediaUrl" in form:
        raise invalid_parameter("MediaUrl", NO_MEDIA, code=20001)
    body = form.get("Body")
    if body is None or not body.strip():
        raise invalid_parameter("Body", "a message needs a Body", code=BODY_REQUIRED)
    if len(body) > MAX_BODY_CHARS:
        raise invalid_parameter("Body", f"at most {MAX_BODY_CHARS} characters", code=BODY_TOO_LONG)
    if session["native_session_id"] is None or session["closed_at"] is not None:
        raise invalid_parameter("Body", "the session has no second participant yet, or is closed")
    message_id = await proxy.send(caller, session["native_session_id"], participant["identifier"], body)
    session, people, messages = await _carried(db, proxy, caller, service_sid, session_sid)
    message = _one(messages, sid(INTERACTION, message_id))
    return JSONResponse(
        interaction_json(request, caller.account_id, session, people, message), status_code=201
    )


@router.get("/Participants/{participant_sid}/MessageInteractions")
async def list_participant_interactions(
    request: Request,
    service_sid: str,
    session_sid: str,
    participant_sid: str,
    caller: Caller,
    db: Db,
    proxy: Proxy,
) -> JSONResponse:
    """The interactions delivered to this participant, newest first, in one page."""
    ask = page_ask(await read_form(request, PAGING_PARAMETERS))
    _, participant = await participant_rows(db, caller, service_sid, session_sid, participant_sid)
    session, people, messages = await _carried(db, proxy, caller, service_sid, session_sid)
    records = [
        interaction_json(request, caller.account_id, session, people, m)
        for m in reversed(messages)
        if m["recipient"] == participant["identifier"]
    ]
    return JSONResponse(
        v1_page(request, "interactions", records, Page(records, max(len(records), 1), None), ask)
    )


@router.get("/Participants/{participant_sid}/MessageInteractions/{interaction_sid}")
async def fetch_participant_interaction(
    request: Request,
    service_sid: str,
    session_sid: str,
    participant_sid: str,
    interaction_sid: str,
    caller: Caller,
    db: Db,
    proxy: Proxy,
) -> JSONResponse:
    await read_form(request)
    _, participant = await participant_rows(db, caller, service_sid, session_sid, participant_sid)
    session, people, messages = await _carried(db, proxy, caller, service_sid, session_sid)
    message = _one(messages, interaction_sid)
    if message["recipient"] != participant["identifier"]:
        raise not_found()
    return JSONResponse(interaction_json(request, caller.account_id, session, people, message))
