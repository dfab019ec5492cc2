"""The seed's resources under ``/compat/smsproxy`` (``/tn``, ``/session``, ``/``) on the native
proxy service, and the surface's app."""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.types import ASGIApp

from tidings.config import Settings
from tidings.core.clock import now_ms
from tidings.core.tenancy import Principal, Role
from tidings.errors import NotFound
from tidings.features.compat.smsproxy import exceptions, requests, responses
from tidings.features.compat.smsproxy.ids import native_session_id
from tidings.features.compat.smsproxy.inbound import (
    ACCOUNT_PARAMETER,
    TOKEN_PARAMETER,
    InboundTokens,
    flowroute_message,
)
from tidings.features.compat.smsproxy.numbers import to_seed
from tidings.features.compat.smsproxy.settings import SmsProxySettings
from tidings.features.compat.surface import surface_app
from tidings.features.provider_callbacks import CALLBACKS, CallbackService
from tidings.features.proxy import PROXY, ProxyService
from tidings.web.auth import AUTHENTICATOR, authenticate
from tidings.web.responses import JSONResponse

router = APIRouter()
# Native pages are read whole: the seed lists the entire pool and every session at once.
PAGE = 1000


async def _caller(request: Request) -> Principal:
    return await authenticate(AUTHENTICATOR.of(request.app), request.headers.get("authorization"))


def _options(request: Request) -> SmsProxySettings:
    return cast(SmsProxySettings, request.app.state.smsproxy)


def _tokens(request: Request) -> InboundTokens:
    return cast(InboundTokens, request.app.state.smsproxy_tokens)


Caller = Annotated[Principal, Depends(_caller)]
Options = Annotated[SmsProxySettings, Depends(_options)]
Proxy = Annotated[ProxyService, Depends(PROXY)]


# -- /tn -------------------------------------------------------------------------------------


@router.post("/tn")
async def add_tn(request: Request, caller: Caller, proxy: Proxy, options: Options) -> JSONResponse:
    """Add a TN to the pool (native: a pool number, which must be a sender of a channel). The
    first time an account without proxy texts does so, the seed's texts become its own."""
    number = requests.tn_value(await request.body())
    added = await proxy.add_number(caller, number, account_id=None)
    if all(text is None for text in (await proxy.texts(caller, account_id=None)).values()):
        await proxy.set_texts(caller, options.system_texts(), account_id=None)
    return JSONResponse(responses.tn_changed(responses.TN_ADDED, added["number"]))


@router.get("/tn")
async def list_tns(caller: Caller, proxy: Proxy) -> JSONResponse:
    numbers = await _whole_pool(proxy, caller)
    # The seed shows one session per TN; a number shared by native sessions shows its newest
    # (sessions come oldest first, so a later one overwrites).
    session_of = {s["proxy_number_id"]: s["id"] for s in await _active_sessions(proxy, caller)}
    return JSONResponse(responses.pool(numbers, session_of))


@router.delete("/tn")
async def remove_tn(request: Request, caller: Caller, proxy: Proxy) -> JSONResponse:
    """Remove a TN; the seed removes one in use too, so its session is ended first (with the
    end message)."""
    number = requests.tn_value(await request.body())
    await proxy.remove_number(caller, number, account_id=None, end_sessions=True)
    return JSONResponse(responses.tn_changed(responses.TN_REMOVED, number))


# -- /session --------------------------------------------------------------------------------


@router.post("/session")
async def create_session(request: Request, caller: Caller, proxy: Proxy) -> JSONResponse:
    """A session on a TN serving no other (the seed's one session per TN)."""
    wanted = requests.new_session(await request.body())
    fields = {
        "participant_a": wanted.participant_a,
        "participant_b": wanted.participant_b,
        "ttl_minutes": wanted.expiry_window,
    }
    session = await proxy.create_session(caller, fields, account_id=None, own_number=True)
    return JSONResponse(responses.created(session))


@router.get("/session")
async def list_sessions(caller: Caller, proxy: Proxy) -> JSONResponse:
    """In-progress sessions, oldest first, as the seed listed its table."""
    return JSONResponse(responses.sessions(await _active_sessions(proxy, caller)))


@router.delete("/session")
async def end_session(request: Request, caller: Caller, proxy: Proxy) -> JSONResponse:
    seed_id = requests.session_id(await request.body())
    native_id = native_session_id(seed_id)
    if native_id is None:
        return exceptions.message_json(exceptions.NO_SUCH_SESSION, 404)
    await proxy.end_session(caller, native_id)
    return JSONResponse(responses.ended(seed_id))


# -- / (Flowroute's inbound callback) -------------------------------------------------------


@router.post("/")
async def inbound_message(
    request: Request,
    proxy: Proxy,
    callbacks: Annotated[CallbackService, Depends(CALLBACKS)],
) -> JSONResponse:
    """Flowroute's inbound message, stored on the TN's channel as any provider callback's is;
    native inbound routing relays it (or answers with the no-session text)."""
    receiver = await _receiver(request)
    message = flowroute_message(await request.body())
    try:
        number = await proxy.get_number(receiver, message.recipient, account_id=None)
    except NotFound:
        unknown = f"{to_seed(message.recipient)} is not a virtual TN of this account"
        return exceptions.message_json(unknown, 404)
    await callbacks.store_inbound(number["channel_id"], [message])
    return JSONResponse({"message": "received inbound message"})


@router.get("/callback_url")
async def callback_url(request: Request, caller: Caller) -> JSONResponse:
    """The URL to give Flowroute as the account's SMS callback (admin: it holds a secret)."""
    caller.require(Role.ADMIN)
    token = _tokens(request).token(caller.account_id)
    url = request.url_for("inbound_message").include_query_params(
        **{ACCOUNT_PARAMETER: caller.account_id, TOKEN_PARAMETER: token}
    )
    return JSONResponse({"callback_url": str(url)})


async def _receiver(request: Request) -> Principal:
    """The account a callback writes to: the caller's (a sender, as for a sandbox handset's
    reply), or the one its URL's token names (a viewer: it only finds that account's TNs)."""
    if request.headers.get("authorization"):
        caller = await _caller(request)
        caller.require(Role.SENDER)
        return caller
    query = request.query_params
    account = _tokens(request).account(query.get(ACCOUNT_PARAMETER), query.get(TOKEN_PARAMETER))
    return Principal(account_id=account, role=Role.VIEWER, account_ids=frozenset({account}))


# -- reading whole native lists -------------------------------------------------------------


async def _whole_pool(proxy: ProxyService, caller: Principal) -> list[dict[str, Any]]:
    numbers: list[dict[str, Any]] = []
    cursor = None
    while True:
        page, _ = await proxy.list_numbers(caller, account_id=None, cursor=cursor, limit=PAGE)
        numbers += page.rows
        cursor = page.next_cursor
        if cursor is None:
            return list(reversed(numbers))  # oldest first, as the seed's table


async def _active_sessions(proxy: ProxyService, caller: Principal) -> list[dict[str, Any]]:
    """Active sessions, oldest first, without those whose time ran out (the sweep ends them)."""
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await proxy.list_sessions(caller, account_id=None, status="active", cursor=cursor, limit=PAGE)
        rows += page.rows
        cursor = page.next_cursor
        if cursor is None:
            break
    now = now_ms()
    return [row for row in reversed(rows) if row["expires_at"] is None or row["expires_at"] > now]


def build(services: dict[str, object], settings: Settings, options: SmsProxySettings) -> ASGIApp:
    app: FastAPI = surface_app(services, title="Tidings: Flowroute SMS Proxy (seed 003)")
    app.state.smsproxy = options
    secret = options.inbound_secret
    app.state.smsproxy_tokens = InboundTokens(
        secret.get_secret_value() if secret is not None else settings.resolved_secret_key()
    )
    exceptions.install(app)
    app.include_router(router)
    return app
