"""``/2010-04-01/Accounts.json`` and ``/2010-04-01/Accounts/{AccountSid}.json``.

List: the caller's own account first, then its subaccounts (the native ``list_subaccounts``
pages). Create: a native subaccount of the caller's, answered with its auth token. Update:
``FriendlyName`` only; Tidings accounts have no status to suspend or close, so ``Status`` is a
400 rather than a change that would not happen.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from tidings.core.clock import now_ms
from tidings.core.cursors import Page
from tidings.core.tenancy import Principal, Role
from tidings.features.accounts import ACCOUNTS, AccountService
from tidings.features.compat.twilio.accounts.responses import account_json
from tidings.features.compat.twilio.auth import path_account, twilio_principal
from tidings.features.compat.twilio.dates import rfc2822
from tidings.features.compat.twilio.exceptions import invalid_parameter, unsupported_parameter
from tidings.features.compat.twilio.forms import read_form
from tidings.features.compat.twilio.paging import PAGING_PARAMETERS, legacy_page, page_ask
from tidings.web.responses import JSONResponse

router = APIRouter(prefix="/api/2010-04-01")
Caller = Annotated[Principal, Depends(twilio_principal)]
Accounts = Annotated[AccountService, Depends(ACCOUNTS)]

MAX_NAME_CHARS = 200  # the native accounts' limit (Twilio allows 64; longer ones are kept)
STATUS_NOT_SUPPORTED = "Tidings accounts are always active: they cannot be suspended or closed"
LIST_PARAMETERS = PAGING_PARAMETERS | {"FriendlyName", "Status"}
BEFORE_EVERY_ACCOUNT = "AC" + "0" * 32
STATUSES = frozenset({"active", "suspended", "closed"})


def _token(caller: Principal, accounts: AccountService, row: dict[str, Any]) -> str | None:
    return accounts.auth_token(row) if caller.allows(Role.ADMIN) else None


def _friendly_name(value: str | None) -> str | None:
    if value is None:
        return None
    name = value.strip()
    if not name or len(name) > MAX_NAME_CHARS:
        raise invalid_parameter("FriendlyName", f"give 1 to {MAX_NAME_CHARS} characters")
    return name


@router.get("/Accounts.json")
async def list_accounts(request: Request, caller: Caller, accounts: Accounts) -> JSONResponse:
    form = await read_form(request, LIST_PARAMETERS)
    ask = page_ask(form)
    status = form.get("Status")
    if status is not None and status not in STATUSES:
        raise invalid_parameter("Status", "one of active, suspended, closed")
    name = form.get("FriendlyName")
    rows, page = await _accounts_page(caller, accounts, ask.cursor, ask.size)
    shown = [
        account_json(row, _token(caller, accounts, row))
        for row in rows
        if (name is None or row["name"] == name) and status in (None, "active")
    ]
    return JSONResponse(legacy_page(request, "accounts", shown, page, ask))


async def _accounts_page(
    caller: Principal, accounts: AccountService, cursor: str | None, size: int
) -> tuple[list[dict[str, Any]], Page[dict[str, Any]]]:
    """The rows of one page and the native page whose cursor continues it. The first page
    starts with the caller's own account, as Twilio lists it, then its subaccounts."""
    if cursor is not None:
        page = await accounts.list_subaccounts(caller, cursor=cursor, limit=size)
        return page.rows, page
    own = await accounts.get_account(caller, caller.account_id)
    if size > 1:
        page = await accounts.list_subaccounts(caller, cursor=None, limit=size - 1)
        return [own, *page.rows], page
    # A one-row first page holds the own account alone; the next starts before every
    # subaccount id, a position no account has.
    first = await accounts.list_subaccounts(caller, cursor=None, limit=1)
    return [own], Page([], size, BEFORE_EVERY_ACCOUNT if first.rows else None)


@router.post("/Accounts.json", status_code=201)
async def create_account(request: Request, caller: Caller, accounts: Accounts) -> JSONResponse:
    form = await read_form(request, {"FriendlyName"})
    name = _friendly_name(form.get("FriendlyName")) or f"SubAccount Created at {rfc2822(now_ms())}"
    row, token = await accounts.create_account(caller, name)
    return JSONResponse(account_json(row, token), status_code=201)


@router.get("/Accounts/{account_sid}.json")
async def fetch_account(
    request: Request, account_sid: str, caller: Caller, accounts: Accounts
) -> JSONResponse:
    await read_form(request)
    row = await accounts.get_account(caller, path_account(caller, account_sid))
    return JSONResponse(account_json(row, _token(caller, accounts, row)))


@router.post("/Accounts/{account_sid}.json")
async def update_account(
    request: Request, account_sid: str, caller: Caller, accounts: Accounts
) -> JSONResponse:
    form = await read_form(request, {"FriendlyName", "Status"})
    target = path_account(caller, account_sid)
    if "Status" in form:
        raise unsupported_parameter("Status", STATUS_NOT_SUPPORTED)
    name = _friendly_name(form.get("FriendlyName"))
    changed = await accounts.update_account(caller, target, name=name, webhook_url=None, set_url=False)
    return JSONResponse(account_json(changed.account, _token(caller, accounts, changed.account)))
