"""``/proxy/v1/Services`` with ``PhoneNumbers``, ``Sessions`` and ``Sessions/{KC}/Participants``
(their interactions: ``interactions.py``).

Phone numbers are native pool numbers (``ProxyService.add_number`` / ``remove_number``) owned by
the service; a session with two participants is a native session (``create_session``, ended by
``end_session``) placed on the service's numbers (``placement.py``). Services, which numbers they
own, and sessions still waiting for their second participant are this surface's own rows
(``repository.py``). A request acts for the account whose credentials it carries.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from tidings.core.clock import now_ms
from tidings.core.cursors import IDS, Page
from tidings.core.ids import new_id
from tidings.core.tenancy import Principal, Role
from tidings.errors import NotFound
from tidings.features.compat.twilio.exceptions import invalid_parameter, not_found
from tidings.features.compat.twilio.forms import read_form
from tidings.features.compat.twilio.paging import PAGING_PARAMETERS, page_ask, v1_page
from tidings.features.compat.twilio.proxy import repository as repo
from tidings.features.compat.twilio.proxy.lookups import (
    Caller,
    Db,
    Proxy,
    end_native,
    native_session,
    participant_rows,
    read,
    service_row,
    session_rows,
)
from tidings.features.compat.twilio.proxy.parameters import (
    NUMBER_PARAMETERS,
    PARTICIPANT_PARAMETERS,
    SERVICE_PARAMETERS,
    SESSION_PARAMETERS,
    SESSION_UPDATE_PARAMETERS,
    SESSION_UPDATE_REFUSED,
    boolean,
    participant_form,
    refuse,
    service_fields,
    session_fields,
)
from tidings.features.compat.twilio.proxy.placement import requested_number, start_native
from tidings.features.compat.twilio.proxy.responses import (
    NATIVE_ACTIVE,
    NUMBER,
    PARTICIPANT,
    SERVICE,
    SESSION,
    number_json,
    participant_json,
    service_json,
    session_json,
)
from tidings.features.compat.twilio.sids import from_sid
from tidings.features.proxy import ProxyService
from tidings.store.engine import Database
from tidings.web.responses import JSONResponse

router = APIRouter(prefix="/proxy/v1/Services")


# -- services --------------------------------------------------------------------------------


@router.post("", status_code=201)
async def create_service(request: Request, caller: Caller, db: Db) -> JSONResponse:
    form = await read_form(request, SERVICE_PARAMETERS)
    caller.require(Role.ADMIN)  # a service is pool configuration, as native pool numbers are
    fields = service_fields(form, creating=True)
    now = now_ms()
    row = {
        "id": new_id(SERVICE[1]),
        "account_id": caller.account_id,
        "unique_name": fields["unique_name"],
        "default_ttl": fields.get("default_ttl"),
        "created_at": now,
        "updated_at": now,
    }
    try:
        await db.transact(lambda conn: repo.insert_service(conn, row))
    except IntegrityError:
        raise invalid_parameter("UniqueName", f"a service named {row['unique_name']!r} exists") from None
    return JSONResponse(service_json(request, row), status_code=201)


@router.get("")
async def list_services(request: Request, caller: Caller, db: Db) -> JSONResponse:
    ask = page_ask(await read_form(request, PAGING_PARAMETERS))
    paging = IDS.paging(ask.cursor, ask.size)
    page = paging.page(await read(db, lambda c: repo.services_page(c, caller.account_id, paging)))
    records = [service_json(request, row) for row in page.rows]
    return JSONResponse(v1_page(request, "services", records, page, ask))


@router.get("/{service_sid}")
async def fetch_service(request: Request, service_sid: str, caller: Caller, db: Db) -> JSONResponse:
    await read_form(request)
    return JSONResponse(service_json(request, await service_row(db, caller, service_sid)))


@router.post("/{service_sid}")
async def update_service(request: Request, service_sid: str, caller: Caller, db: Db) -> JSONResponse:
    form = await read_form(request, SERVICE_PARAMETERS)
    service = await service_row(db, caller, service_sid)
    caller.require(Role.ADMIN)
    changes = {**service_fields(form, creating=False), "updated_at": max(now_ms(), service["updated_at"])}
    try:
        await db.transact(lambda conn: repo.update_service(conn, service["id"], changes))
    except IntegrityError:
        raise invalid_parameter("UniqueName", f"a service named {changes['unique_name']!r} exists") from None
    return JSONResponse(service_json(request, {**service, **changes}))


@router.delete("/{service_sid}", status_code=204)
async def delete_service(
    request: Request, service_sid: str, caller: Caller, db: Db, proxy: Proxy
) -> Response:
    """Its numbers leave the native pool (their active sessions ended first, each with its end
    message), then the service and its sessions' rows go; the native sessions stay in history."""
    await read_form(request)
    service = await service_row(db, caller, service_sid)
    caller.require(Role.ADMIN)
    for membership in await read(db, lambda c: repo.numbers_of(c, service["id"])):
        await proxy.remove_number(caller, membership["number_id"], account_id=None, end_sessions=True)
    await db.transact(lambda conn: repo.delete_service(conn, service["id"]))
    return Response(status_code=204)


# -- phone numbers ---------------------------------------------------------------------------


@router.post("/{service_sid}/PhoneNumbers", status_code=201)
async def add_number(
    request: Request, service_sid: str, caller: Caller, db: Db, proxy: Proxy
) -> JSONResponse:
    """``PhoneNumber``: the number joins the native pool and this service. ``Sid``: a number
    already in the native pool (``POST /v1/proxy/numbers``) and in no service joins this one."""
    form = await read_form(request, NUMBER_PARAMETERS)
    service = await service_row(db, caller, service_sid)
    caller.require(Role.ADMIN)
    reserved = boolean("IsReserved", form.get("IsReserved")) or False
    raw, number_sid = form.get("PhoneNumber"), form.get("Sid")
    if (raw is None) == (number_sid is None):
        raise invalid_parameter("PhoneNumber", "give PhoneNumber or Sid")
    if number_sid is not None:
        native = await proxy.get_number(caller, from_sid(number_sid, *NUMBER), account_id=None)
    else:
        native = await proxy.add_number(caller, str(raw), account_id=None)
    now = now_ms()
    membership = {
        "number_id": native["id"],
        "service_id": service["id"],
        "is_reserved": reserved,
        "created_at": now,
        "updated_at": now,
    }
    try:
        await db.transact(lambda conn: repo.insert_number(conn, membership))
    except IntegrityError:
        raise invalid_parameter("Sid", "the number belongs to a service already") from None
    return JSONResponse(number_json(request, membership, native), status_code=201)


@router.get("/{service_sid}/PhoneNumbers")
async def list_numbers(
    request: Request, service_sid: str, caller: Caller, db: Db, proxy: Proxy
) -> JSONResponse:
    ask = page_ask(await read_form(request, PAGING_PARAMETERS))
    service = await service_row(db, caller, service_sid)
    paging = IDS.paging(ask.cursor, ask.size)
    page: Page[dict[str, Any]] = paging.page(
        await read(db, lambda c: repo.numbers_of(c, service["id"], paging))
    )
    records = []
    for row in page.rows:
        native = await _pool_number(proxy, caller, row["number_id"])
        if native is not None:  # taken out of the native pool by /v1/proxy/numbers: gone here too
            records.append(number_json(request, row, native))
    return JSONResponse(v1_page(request, "phone_numbers", records, page, ask))


async def _pool_number(proxy: ProxyService, caller: Principal, number_id: str) -> dict[str, Any] | None:
    try:
        return await proxy.get_number(caller, number_id, account_id=None)
    except NotFound:
        return None


async def _number(db: Database, caller: Principal, service_sid: str, number_sid: str) -> dict[str, Any]:
    service = await service_row(db, caller, service_sid)
    number_id = from_sid(number_sid, *NUMBER)
    row = await read(db, lambda c: repo.number(c, number_id))
    if row is None or row["service_id"] != service["id"]:
        raise not_found()
    return dict(row)


@router.get("/{service_sid}/PhoneNumbers/{number_sid}")
async def fetch_number(
    request: Request, service_sid: str, number_sid: str, caller: Caller, db: Db, proxy: Proxy
) -> JSONResponse:
    await read_form(request)
    membership = await _number(db, caller, service_sid, number_sid)
    native = await proxy.get_number(caller, membership["number_id"], account_id=None)
    return JSONResponse(number_json(request, membership, native))


@router.post("/{service_sid}/PhoneNumbers/{number_sid}")
async def update_number(
    request: Request, service_sid: str, number_sid: str, caller: Caller, db: Db, proxy: Proxy
) -> JSONResponse:
    form = await read_form(request, {"IsReserved"})
    membership = await _number(db, caller, service_sid, number_sid)
    caller.require(Role.ADMIN)
    reserved = boolean("IsReserved", form.get("IsReserved"))
    if reserved is not None:
        membership = {
            **membership,
            "is_reserved": reserved,
            "updated_at": max(now_ms(), membership["updated_at"]),
        }
        values = {"is_reserved": reserved, "updated_at": membership["updated_at"]}
        await db.transact(lambda conn: repo.update_number(conn, membership["number_id"], values))
    native = await proxy.get_number(caller, membership["number_id"], account_id=None)
    return JSONResponse(number_json(request, membership, native))


@router.delete("/{service_sid}/PhoneNumbers/{number_sid}", status_code=204)
async def remove_number(
    request: Request, service_sid: str, number_sid: str, caller: Caller, db: Db, proxy: Proxy
) -> Response:
    """The number leaves the service and the native pool; refused (400) while it serves active
    sessions, as the native pool refuses."""
    await read_form(request)
    membership = await _number(db, caller, service_sid, number_sid)
    await proxy.remove_number(caller, membership["number_id"], account_id=None, end_sessions=False)
    await db.transact(lambda conn: repo.delete_number(conn, membership["number_id"]))
    return Response(status_code=204)


# -- sessions --------------------------------------------------------------------------------


@router.post("/{service_sid}/Sessions", status_code=201)
async def create_session(
    request: Request, service_sid: str, caller: Caller, db: Db, proxy: Proxy
) -> JSONResponse:
    """With two ``Participants`` the native session starts at once; with fewer it waits, open,
    for the rest (``…/Participants``)."""
    form = await read_form(request, SESSION_PARAMETERS)
    service = await service_row(db, caller, service_sid)
    caller.require(Role.SENDER)
    fields, asks = session_fields(form, service["default_ttl"])
    requested = [await requested_number(db, proxy, caller, service["id"], ask) for ask in asks]
    name = fields["unique_name"]
    if name is not None and await read(db, lambda c: repo.unique_name_taken(c, service["id"], name)):
        raise invalid_parameter("UniqueName", f"a session named {name!r} exists in this service")
    native = None
    if len(asks) == 2:
        identifiers = (asks[0].identifier, asks[1].identifier)
        native = await start_native(
            db, proxy, caller, service["id"], identifiers, requested, fields["expires_at"]
        )
    now = now_ms()
    row = {
        "id": new_id(SESSION[1]),
        "service_id": service["id"],
        **fields,
        "native_session_id": native["id"] if native else None,
        "closed_at": None,
        "created_at": now,
        "updated_at": now,
    }
    people = [
        {
            "id": new_id(PARTICIPANT[1]),
            "session_id": row["id"],
            "identifier": ask.identifier,
            "friendly_name": ask.friendly_name,
            "proxy_number_id": number,
            "created_at": now,
        }
        for ask, number in zip(asks, requested, strict=True)
    ]
    try:
        await db.transact(lambda conn: repo.insert_session(conn, row, people))
    except IntegrityError:  # the same unique name, created concurrently
        await end_native(proxy, caller, row["native_session_id"])
        raise invalid_parameter("UniqueName", f"a session named {name!r} exists in this service") from None
    return JSONResponse(session_json(request, caller.account_id, row, native), status_code=201)


@router.get("/{service_sid}/Sessions")
async def list_sessions(
    request: Request, service_sid: str, caller: Caller, db: Db, proxy: Proxy
) -> JSONResponse:
    ask = page_ask(await read_form(request, PAGING_PARAMETERS))
    service = await service_row(db, caller, service_sid)
    paging = IDS.paging(ask.cursor, ask.size)
    page = paging.page(await read(db, lambda c: repo.sessions_page(c, service["id"], paging)))
    records = [
        session_json(request, caller.account_id, row, await native_session(proxy, caller, row))
        for row in page.rows
    ]
    return JSONResponse(v1_page(request, "sessions", records, page, ask))


@router.get("/{service_sid}/Sessions/{session_sid}")
async def fetch_session(
    request: Request, service_sid: str, session_sid: str, caller: Caller, db: Db, proxy: Proxy
) -> JSONResponse:
    await read_form(request)
    _, row = await session_rows(db, caller, service_sid, session_sid)
    return JSONResponse(
        session_json(request, caller.account_id, row, await native_session(proxy, caller, row))
    )


@router.post("/{service_sid}/Sessions/{session_sid}")
async def update_session(
    request: Request, service_sid: str, session_sid: str, caller: Caller, db: Db, proxy: Proxy
) -> JSONResponse:
    """``Status=closed`` ends the native session (its end message to both) or closes a waiting
    one; closing a closed session changes nothing."""
    form = await read_form(request, SESSION_UPDATE_PARAMETERS)
    _, row = await session_rows(db, caller, service_sid, session_sid)
    refuse(form, SESSION_UPDATE_REFUSED)
    status = form.get("Status")
    if status is not None and status != "closed":
        raise invalid_parameter("Status", "the only change is closed")
    if status == "closed":
        caller.require(Role.SENDER)
        if row["native_session_id"] is not None:
            await end_native(proxy, caller, row["native_session_id"])
        elif row["closed_at"] is None:
            now = max(now_ms(), row["updated_at"])
            await db.transact(lambda conn: repo.close_pending(conn, row["id"], now=now))
            row = {**row, "closed_at": now, "updated_at": now}
    return JSONResponse(
        session_json(request, caller.account_id, row, await native_session(proxy, caller, row))
    )


@router.delete("/{service_sid}/Sessions/{session_sid}", status_code=204)
async def delete_session(
    request: Request, service_sid: str, session_sid: str, caller: Caller, db: Db, proxy: Proxy
) -> Response:
    """Its native session ends (if it still relays), then its rows go."""
    await read_form(request)
    _, row = await session_rows(db, caller, service_sid, session_sid)
    caller.require(Role.SENDER)
    await end_native(proxy, caller, row["native_session_id"])
    await db.transact(lambda conn: repo.delete_session(conn, row["id"]))
    return Response(status_code=204)


# -- session participants --------------------------------------------------------------------


@router.post("/{service_sid}/Sessions/{session_sid}/Participants", status_code=201)
async def add_participant(
    request: Request, service_sid: str, session_sid: str, caller: Caller, db: Db, proxy: Proxy
) -> JSONResponse:
    """The second participant starts the native session with the first; a third is refused
    (a message-only session is between two)."""
    form = await read_form(request, PARTICIPANT_PARAMETERS)
    service, session = await session_rows(db, caller, service_sid, session_sid)
    caller.require(Role.SENDER)
    ask = participant_form(form)
    current = await read(db, lambda c: repo.participants_of(c, session["id"]))
    native = await native_session(proxy, caller, session)
    if session["closed_at"] is not None or (native is not None and native["status"] != NATIVE_ACTIVE):
        raise invalid_parameter("Identifier", "the session is closed")
    if len(current) >= 2:
        raise invalid_parameter("Identifier", "a message-only session has two participants already")
    if any(p["identifier"] == ask.identifier for p in current):
        raise invalid_parameter("Identifier", f"{ask.identifier} is a participant already")
    number = await requested_number(db, proxy, caller, service["id"], ask)
    now = now_ms()
    row = {
        "id": new_id(PARTICIPANT[1]),
        "session_id": session["id"],
        "identifier": ask.identifier,
        "friendly_name": ask.friendly_name,
        "proxy_number_id": number,
        "created_at": now,
    }
    if not current:
        await db.transact(lambda conn: repo.insert_participant(conn, row))
        return JSONResponse(participant_json(request, caller.account_id, session, row, None), status_code=201)
    first = current[0]
    native = await start_native(
        db,
        proxy,
        caller,
        service["id"],
        (first["identifier"], ask.identifier),
        (first["proxy_number_id"], number),
        session["expires_at"],
    )

    def attach(conn: Connection) -> bool:
        if not repo.attach_native(conn, session["id"], native["id"], now=now):
            return False
        repo.insert_participant(conn, row)
        return True

    try:
        attached = await db.transact(attach)
    except IntegrityError:
        attached = False
    if not attached:  # another request completed this session first
        await end_native(proxy, caller, native["id"])
        raise invalid_parameter("Identifier", "a message-only session has two participants already")
    return JSONResponse(participant_json(request, caller.account_id, session, row, native), status_code=201)


@router.get("/{service_sid}/Sessions/{session_sid}/Participants")
async def list_participants(
    request: Request, service_sid: str, session_sid: str, caller: Caller, db: Db, proxy: Proxy
) -> JSONResponse:
    ask = page_ask(await read_form(request, PAGING_PARAMETERS))
    _, session = await session_rows(db, caller, service_sid, session_sid)
    rows = await read(db, lambda c: repo.participants_of(c, session["id"]))
    native = await native_session(proxy, caller, session)
    records = [participant_json(request, caller.account_id, session, row, native) for row in rows]
    return JSONResponse(v1_page(request, "participants", records, Page(rows, max(len(rows), 1), None), ask))


@router.get("/{service_sid}/Sessions/{session_sid}/Participants/{participant_sid}")
async def fetch_participant(
    request: Request,
    service_sid: str,
    session_sid: str,
    participant_sid: str,
    caller: Caller,
    db: Db,
    proxy: Proxy,
) -> JSONResponse:
    await read_form(request)
    session, row = await participant_rows(db, caller, service_sid, session_sid, participant_sid)
    native = await native_session(proxy, caller, session)
    return JSONResponse(participant_json(request, caller.account_id, session, row, native))


@router.delete("/{service_sid}/Sessions/{session_sid}/Participants/{participant_sid}", status_code=204)
async def remove_participant(
    request: Request,
    service_sid: str,
    session_sid: str,
    participant_sid: str,
    caller: Caller,
    db: Db,
    proxy: Proxy,
) -> Response:
    """A native session cannot go on with one participant: removing one ends it (the session
    then shows ``closed``); a waiting session just loses the participant."""
    await read_form(request)
    session, row = await participant_rows(db, caller, service_sid, session_sid, participant_sid)
    caller.require(Role.SENDER)
    await end_native(proxy, caller, session["native_session_id"])
    await db.transact(lambda conn: repo.delete_participant(conn, row["id"]))
    return Response(status_code=204)
