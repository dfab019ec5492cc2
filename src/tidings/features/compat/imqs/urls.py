"""The seed's three paths under ``/compat/imqs``, and the surface's app."""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import PlainTextResponse
from starlette.types import ASGIApp

from tidings.config import Settings
from tidings.core.numbers import InvalidNumberError, normalize_number
from tidings.core.tenancy import Principal
from tidings.errors import NotFound
from tidings.features.accounts import ACCOUNTS, AccountService
from tidings.features.compat.imqs import exceptions, requests
from tidings.features.compat.imqs.numbers import NumberRules, msisdn, rules_for
from tidings.features.compat.imqs.responses import NO_DATA, delivery_word
from tidings.features.compat.imqs.sending import send_sms
from tidings.features.compat.imqs.settings import ImqsSettings
from tidings.features.compat.surface import surface_app
from tidings.features.messages import MESSAGES, MessageService
from tidings.web.auth import AUTHENTICATOR, authenticate
from tidings.web.responses import JSONResponse
from tidings.web.services import SETTINGS

router = APIRouter()


def _options(request: Request) -> ImqsSettings:
    return cast(ImqsSettings, request.app.state.imqs)


async def _caller(request: Request) -> Principal:
    """An API key (Bearer) or Basic ``<account id>:<auth token>``, as every native route."""
    return await authenticate(AUTHENTICATOR.of(request.app), request.headers.get("authorization"))


async def _rules(
    caller: Annotated[Principal, Depends(_caller)],
    options: Annotated[ImqsSettings, Depends(_options)],
    accounts: Annotated[AccountService, Depends(ACCOUNTS)],
    settings: Annotated[Settings, Depends(SETTINGS)],
) -> NumberRules:
    return await rules_for(caller, options, accounts, settings)


Caller = Annotated[Principal, Depends(_caller)]
Rules = Annotated[NumberRules, Depends(_rules)]
Messages = Annotated[MessageService, Depends(MESSAGES)]


@router.post("/sendsms")
async def sendsms(
    request: Request,
    caller: Caller,
    rules: Rules,
    messages: Messages,
    options: Annotated[ImqsSettings, Depends(_options)],
    settings: Annotated[Settings, Depends(SETTINGS)],
) -> JSONResponse:
    order = requests.send_sms(await request.body())
    return JSONResponse(await send_sms(caller, order, rules, options, settings, messages))


@router.get("/messagestatus/{mobile_number}")
async def messagestatus(
    mobile_number: str, caller: Caller, rules: Rules, messages: Messages
) -> PlainTextResponse:
    """The latest message sent to the number by the caller's account or its subaccounts."""
    try:
        number = normalize_number(mobile_number, rules.default_country)
        latest: dict[str, Any] = await messages.number_status(caller, number)
    except (InvalidNumberError, NotFound):
        # A number that cannot be read has no data either; the seed answers both with 200.
        return PlainTextResponse(NO_DATA)
    return PlainTextResponse(delivery_word(latest["status"]))


@router.post("/normalize")
async def normalize(
    request: Request, caller: Caller, rules: Rules, settings: Annotated[Settings, Depends(SETTINGS)]
) -> JSONResponse:
    msisdns = requests.normalize(await request.body())
    if len(msisdns) > settings.max_recipients:
        raise exceptions.TooMany(f"at most {settings.max_recipients} numbers per request")
    return JSONResponse([msisdn(number) for number in (await rules.sort(msisdns)).valid])


def build(services: dict[str, object], settings: Settings, options: ImqsSettings) -> ASGIApp:
    app: FastAPI = surface_app(services, title="Tidings: imqs messaging (seed 001)")
    app.state.imqs = options
    exceptions.install(app)
    app.include_router(router)
    return app
