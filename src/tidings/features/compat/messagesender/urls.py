"""The seed's four paths under ``/compat/messagesender``, and the surface's app."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, cast

from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.types import ASGIApp

from tidings.config import Settings
from tidings.core.tenancy import Principal, Role
from tidings.features.compat.messagesender import exceptions, records, requests, responses
from tidings.features.compat.messagesender.auth import caller
from tidings.features.compat.messagesender.sending import send_message
from tidings.features.compat.messagesender.settings import MessageSenderSettings
from tidings.features.compat.surface import surface_app
from tidings.features.messages import MESSAGES, MessageService
from tidings.store.engine import Database
from tidings.web.responses import JSONResponse
from tidings.web.services import DATABASE

router = APIRouter()


def _options(request: Request) -> MessageSenderSettings:
    return cast(MessageSenderSettings, request.app.state.messagesender)


Caller = Annotated[Principal, Depends(caller)]
Options = Annotated[MessageSenderSettings, Depends(_options)]
Db = Annotated[Database, Depends(DATABASE)]


@router.post("/send_message")
async def send(
    request: Request,
    who: Caller,
    options: Options,
    db: Db,
    messages: Annotated[MessageService, Depends(MESSAGES)],
) -> JSONResponse:
    zone = options.zone
    order = requests.send_order(await request.body(), zone, datetime.now(zone))
    taken = await send_message(who, order, db, messages)
    return JSONResponse(responses.taken(taken, zone))


@router.get("/get_scheduled")
async def get_scheduled(who: Caller, options: Options, db: Db) -> JSONResponse:
    async with db.read() as conn:
        kept = await records.of_account(conn, who.account_id)
    return JSONResponse(responses.scheduled(kept, options.zone))


@router.get("/get_finished")
async def get_finished(who: Caller, options: Options, db: Db) -> JSONResponse:
    async with db.read() as conn:
        kept = await records.of_account(conn, who.account_id)
    return JSONResponse(responses.finished(kept, options.zone))


@router.delete("/delete_all")
async def delete_all(who: Caller, db: Db) -> JSONResponse:
    """The account's finished and failed records go; its messages stay (GET /v1/messages)."""
    who.require(Role.SENDER)
    async with db.write() as conn:
        await records.delete_done(conn, who.account_id)
    return JSONResponse(responses.SUCCESS)


def build(services: dict[str, object], settings: Settings, options: MessageSenderSettings) -> ASGIApp:
    app: FastAPI = surface_app(services, title="Tidings: Message Sender (seed 004)")
    app.state.messagesender = options
    exceptions.install(app)
    app.include_router(router)
    return app
