"""``/v1/proxy``: the account's pool of numbers, sessions between two participants over one of
them, and the system messages sent on the way (thin: the service does the work)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from tidings.core.tenancy import Principal
from tidings.features.proxy.presenters import number_json, session_json
from tidings.features.proxy.schemas import (
    PoolNumberIn,
    PoolNumberOut,
    PoolPage,
    ProxyTexts,
    SessionIn,
    SessionOut,
    SessionPage,
    SessionStatus,
)
from tidings.features.proxy.service import PROXY, ProxyService
from tidings.web.auth import principal
from tidings.web.idempotency import run_idempotent
from tidings.web.responses import ERRORS, JSONResponse

router = APIRouter(prefix="/v1/proxy", tags=["proxy"], responses=ERRORS)
Caller = Annotated[Principal, Depends(principal)]
Proxy = Annotated[ProxyService, Depends(PROXY)]
Limit = Annotated[int, Query(ge=1, le=1000)]
AccountId = Annotated[str | None, Query(description="A subaccount's; default: the caller's account's")]
NumberRef = Annotated[str, Path(description="The pool number's id (pxn_…) or the number (+1…)")]


@router.post("/numbers", status_code=201, response_model=PoolNumberOut)
async def add_number(
    body: PoolNumberIn, caller: Caller, service: Proxy, request: Request, account_id: AccountId = None
) -> JSONResponse:
    """Add a number to the pool (admin). 422 ``not_a_sender`` unless it is a sender of a channel
    the account may use."""

    async def produce() -> tuple[int, dict[str, Any]]:
        return 201, number_json(await service.add_number(caller, body.number, account_id=account_id))

    return await run_idempotent(request, caller, produce)


@router.get("/numbers", response_model=PoolPage)
async def list_numbers(
    caller: Caller,
    service: Proxy,
    account_id: AccountId = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> JSONResponse:
    """The pool, newest first, with ``available``, ``in_use`` and ``pool_size`` of the whole pool."""
    page, counts = await service.list_numbers(caller, account_id=account_id, cursor=cursor, limit=limit)
    return JSONResponse({**page.body(number_json), **counts})


@router.get("/numbers/{number}", response_model=PoolNumberOut)
async def get_number(
    number: NumberRef, caller: Caller, service: Proxy, account_id: AccountId = None
) -> JSONResponse:
    return JSONResponse(number_json(await service.get_number(caller, number, account_id=account_id)))


@router.delete("/numbers/{number}", status_code=204)
async def remove_number(
    number: NumberRef,
    caller: Caller,
    service: Proxy,
    account_id: AccountId = None,
    end_sessions: Annotated[bool, Query(description="End its active sessions first")] = False,
) -> Response:
    """Remove a number from the pool (admin); 409 ``number_in_use`` while it serves active
    sessions, unless ``end_sessions=true``."""
    await service.remove_number(caller, number, account_id=account_id, end_sessions=end_sessions)
    return Response(status_code=204)


@router.post("/sessions", status_code=201, response_model=SessionOut)
async def create_session(
    body: SessionIn, caller: Caller, service: Proxy, request: Request, account_id: AccountId = None
) -> JSONResponse:
    """Start a session (sender or admin) on a pool number free of both participants; 409
    ``pool_exhausted`` when there is none."""

    async def produce() -> tuple[int, dict[str, Any]]:
        fields = body.model_dump()
        return 201, session_json(await service.create_session(caller, fields, account_id=account_id))

    return await run_idempotent(request, caller, produce)


@router.get("/sessions", response_model=SessionPage)
async def list_sessions(
    caller: Caller,
    service: Proxy,
    account_id: AccountId = None,
    status: SessionStatus | None = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> JSONResponse:
    """The account's sessions, newest first."""
    page = await service.list_sessions(
        caller, account_id=account_id, status=status, cursor=cursor, limit=limit
    )
    return JSONResponse(page.body(session_json))


@router.get("/sessions/{session_id}", response_model=SessionOut)
async def get_session(session_id: str, caller: Caller, service: Proxy) -> JSONResponse:
    return JSONResponse(session_json(await service.get_session(caller, session_id)))


@router.delete("/sessions/{session_id}", response_model=SessionOut)
async def end_session(session_id: str, caller: Caller, service: Proxy) -> JSONResponse:
    """End a session (sender or admin), sending the end message if configured; 409
    ``session_ended`` when it has ended already."""
    return JSONResponse(session_json(await service.end_session(caller, session_id)))


@router.get("/settings", response_model=ProxyTexts)
async def get_texts(caller: Caller, service: Proxy, account_id: AccountId = None) -> JSONResponse:
    """The system messages; ``null`` ones are not sent."""
    return JSONResponse(await service.texts(caller, account_id=account_id))


@router.patch("/settings", response_model=ProxyTexts)
async def set_texts(
    body: ProxyTexts, caller: Caller, service: Proxy, account_id: AccountId = None
) -> JSONResponse:
    """Change the system messages (admin): a text left out keeps its value, ``null`` stops it."""
    changes = body.model_dump(exclude_unset=True)
    return JSONResponse(await service.set_texts(caller, changes, account_id=account_id))
