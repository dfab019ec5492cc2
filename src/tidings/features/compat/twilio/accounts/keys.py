"""``/2010-04-01/Accounts/{AccountSid}/Keys.json`` and ``…/Keys/{Sid}.json``: Twilio's API keys
as native API keys. A key's SID is the image of its native id (``SK`` + hex, ``sids.py``), its
secret is shown once, at create, and ``SK…:secret`` then authenticates (``auth.py``).

Twilio's standard keys reach every resource but Accounts and Keys: a native ``sender`` key, made
on the path's account. Delete revokes the key (natively kept, revoked, and then invisible here,
as a deleted Twilio key is). Native keys cannot be renamed, so ``FriendlyName`` on update is a
400 rather than a change that would not happen.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from tidings.core.tenancy import Principal, Role
from tidings.features.accounts import ACCOUNTS, AccountService
from tidings.features.compat.twilio.auth import acting_as, path_account, twilio_principal
from tidings.features.compat.twilio.dates import rfc2822
from tidings.features.compat.twilio.exceptions import invalid_parameter, not_found, unsupported_parameter
from tidings.features.compat.twilio.forms import read_form
from tidings.features.compat.twilio.paging import PAGING_PARAMETERS, legacy_page, page_ask
from tidings.features.compat.twilio.sids import from_sid, to_sid
from tidings.web.responses import JSONResponse

router = APIRouter(prefix="/api/2010-04-01/Accounts/{account_sid}")
Accounts = Annotated[AccountService, Depends(ACCOUNTS)]

KEY_LETTERS = "SK"
KEY_PREFIX = "key"
MAX_NAME_CHARS = 200
NO_RENAME = "Tidings API keys keep the name they were made with"


def key_json(key: dict[str, Any], secret: str | None = None) -> dict[str, Any]:
    created = rfc2822(key["created_at"])
    body = {
        "sid": to_sid(KEY_LETTERS, key["id"]),
        "friendly_name": key["name"],
        "date_created": created,
        "date_updated": created,
    }
    if secret is not None:
        body["secret"] = secret
    return body


async def _acting(request: Request, account_sid: str) -> Principal:
    caller = await twilio_principal(request)
    return acting_as(caller, path_account(caller, account_sid))


async def _live_key(accounts: AccountService, caller: Principal, sid: str) -> dict[str, Any]:
    key = await accounts.get_key(caller, from_sid(sid, KEY_LETTERS, KEY_PREFIX))
    if key["revoked_at"] is not None:
        raise not_found()
    return key


@router.post("/Keys.json", status_code=201)
async def create_key(request: Request, account_sid: str, accounts: Accounts) -> JSONResponse:
    caller = await _acting(request, account_sid)
    form = await read_form(request, {"FriendlyName"})
    name = (form.get("FriendlyName") or "").strip() or "API key"
    if len(name) > MAX_NAME_CHARS:
        raise invalid_parameter("FriendlyName", f"at most {MAX_NAME_CHARS} characters")
    made = await accounts.create_key(caller, name=name, role=Role.SENDER, account_id=caller.account_id)
    return JSONResponse(key_json(made.key, made.secret), status_code=201)


@router.get("/Keys.json")
async def list_keys(request: Request, account_sid: str, accounts: Accounts) -> JSONResponse:
    caller = await _acting(request, account_sid)
    ask = page_ask(await read_form(request, PAGING_PARAMETERS))
    page = await accounts.list_keys(caller, cursor=ask.cursor, limit=ask.size)
    records = [key_json(key) for key in page.rows if key["revoked_at"] is None]
    return JSONResponse(legacy_page(request, "keys", records, page, ask))


@router.get("/Keys/{sid}.json")
async def fetch_key(request: Request, account_sid: str, sid: str, accounts: Accounts) -> JSONResponse:
    caller = await _acting(request, account_sid)
    await read_form(request)
    return JSONResponse(key_json(await _live_key(accounts, caller, sid)))


@router.post("/Keys/{sid}.json")
async def update_key(request: Request, account_sid: str, sid: str, accounts: Accounts) -> JSONResponse:
    caller = await _acting(request, account_sid)
    form = await read_form(request, {"FriendlyName"})
    key = await _live_key(accounts, caller, sid)
    if "FriendlyName" in form:
        raise unsupported_parameter("FriendlyName", NO_RENAME)
    return JSONResponse(key_json(key))


@router.delete("/Keys/{sid}.json", status_code=204)
async def delete_key(request: Request, account_sid: str, sid: str, accounts: Accounts) -> Response:
    caller = await _acting(request, account_sid)
    await read_form(request)
    key = await _live_key(accounts, caller, sid)
    await accounts.revoke_key(caller, key["id"])
    return Response(status_code=204)
