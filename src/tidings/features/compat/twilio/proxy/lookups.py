"""What every Proxy endpoint looks up: the caller (acting for its own account), a service, a
session with its native session, a participant -- each a 20404 when the caller's account has
none such."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Connection

from tidings.core.tenancy import Principal
from tidings.errors import Conflict
from tidings.features.compat.twilio.auth import acting_as, twilio_principal
from tidings.features.compat.twilio.exceptions import not_found
from tidings.features.compat.twilio.proxy import repository as repo
from tidings.features.compat.twilio.proxy.responses import PARTICIPANT, SERVICE, SESSION
from tidings.features.compat.twilio.sids import from_sid
from tidings.features.proxy import PROXY, ProxyService
from tidings.store.engine import Database
from tidings.web.services import DATABASE

Proxy = Annotated[ProxyService, Depends(PROXY)]
Db = Annotated[Database, Depends(DATABASE)]


async def acting_caller(request: Request) -> Principal:
    caller = await twilio_principal(request)
    return acting_as(caller, caller.account_id)


Caller = Annotated[Principal, Depends(acting_caller)]


async def read(db: Database, work: Callable[[Connection], Any]) -> Any:
    async with db.read() as conn:
        return await conn.run_sync(work)


async def service_row(db: Database, caller: Principal, service_sid: str) -> dict[str, Any]:
    service_id = from_sid(service_sid, *SERVICE)
    row = await read(db, lambda c: repo.service(c, caller.account_id, service_id))
    if row is None:
        raise not_found()
    return dict(row)


async def session_rows(
    db: Database, caller: Principal, service_sid: str, session_sid: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    service = await service_row(db, caller, service_sid)
    session_id = from_sid(session_sid, *SESSION)
    row = await read(db, lambda c: repo.session(c, service["id"], session_id))
    if row is None:
        raise not_found()
    return service, dict(row)


async def native_session(
    proxy: ProxyService, caller: Principal, row: dict[str, Any]
) -> dict[str, Any] | None:
    if row["native_session_id"] is None:
        return None
    return await proxy.get_session(caller, row["native_session_id"])


async def end_native(proxy: ProxyService, caller: Principal, native_session_id: str | None) -> None:
    """End a native session if it is still active (the native end: its end message and event)."""
    if native_session_id is None:
        return
    with contextlib.suppress(Conflict):  # it had ended (expired, or its number was removed)
        await proxy.end_session(caller, native_session_id)


async def participant_rows(
    db: Database, caller: Principal, service_sid: str, session_sid: str, participant_sid: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    _, session = await session_rows(db, caller, service_sid, session_sid)
    participant_id = from_sid(participant_sid, *PARTICIPANT)
    for row in await read(db, lambda c: repo.participants_of(c, session["id"])):
        if row["id"] == participant_id:
            return session, row
    raise not_found()
