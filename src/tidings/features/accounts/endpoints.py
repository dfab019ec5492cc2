"""Accounts (the caller's and its subaccounts) and API keys."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from tidings.core.clock import to_rfc3339
from tidings.core.tenancy import Principal, Role
from tidings.core.urls import check_webhook_url
from tidings.features.accounts.service import ACCOUNTS, AccountService
from tidings.web.auth import principal
from tidings.web.idempotency import run_idempotent
from tidings.web.responses import ERRORS, JSONResponse

router = APIRouter(prefix="/v1", tags=["accounts"], responses=ERRORS)
Caller = Annotated[Principal, Depends(principal)]
Accounts = Annotated[AccountService, Depends(ACCOUNTS)]
Limit = Annotated[int, Query(ge=1, le=1000)]


class AccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)


# A text sent on the account's behalf: one message, at most the longest body a send may have.
AccountText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1600)]


class AccountTexts(BaseModel):
    """Texts sent on the account's behalf (docs/opt-out.md). A text left out keeps its value;
    ``null`` returns it to the default."""

    model_config = ConfigDict(extra="forbid")
    opt_out: AccountText | None = Field(default=None, description="Answers STOP and its synonyms")
    opt_in: AccountText | None = Field(default=None, description="Answers START and UNSTOP")
    help: AccountText | None = Field(default=None, description="Answers HELP")


class AccountPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    webhook_url: str | None = Field(
        default=None, description="Where this account's events are POSTed (http or https); null stops them"
    )
    texts: AccountTexts | None = None
    twilio_sms_url: str | None = Field(
        default=None,
        description="Where this account's inbound messages are also POSTed in Twilio's webhook form, "
        "signed with X-Twilio-Signature (docs/twilio-compat.md); null stops them",
    )

    @field_validator("webhook_url", "twilio_sms_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else check_webhook_url(value)


class AccountOut(BaseModel):
    id: str
    name: str
    parent_id: str | None
    created_at: str
    webhook_url: str | None = None
    twilio_sms_url: str | None = None
    auth_token: str | None = Field(default=None, description="Only for admins of that account")
    webhook_secret: str | None = Field(
        default=None, description="Shown once: when the first webhook URL is set and on rotation"
    )
    texts: dict[str, str] | None = Field(
        default=None, description="The texts sent on the account's behalf, defaults filled in (not in lists)"
    )


class AccountPage(BaseModel):
    data: list[AccountOut]
    next_cursor: str | None


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    role: Role = Role.SENDER
    account_id: str | None = Field(default=None, description="A subaccount; default the caller's")


class KeyOut(BaseModel):
    id: str
    account_id: str
    name: str
    role: Role
    prefix: str
    created_at: str
    revoked_at: str | None
    secret: str | None = Field(default=None, description="Shown once, when the key is created")


class KeyPage(BaseModel):
    data: list[KeyOut]
    next_cursor: str | None


def account_json(
    account: dict[str, Any], auth_token: str | None = None, webhook_secret: str | None = None
) -> dict[str, Any]:
    body = {
        "id": account["id"],
        "name": account["name"],
        "parent_id": account["parent_id"],
        "created_at": to_rfc3339(account["created_at"]),
        "webhook_url": account.get("webhook_url"),
        "twilio_sms_url": account.get("twilio_sms_url"),
    }
    if auth_token is not None:
        body["auth_token"] = auth_token
    if webhook_secret is not None:
        body["webhook_secret"] = webhook_secret
    if "texts" in account:
        body["texts"] = account["texts"]
    return body


def key_json(key: dict[str, Any], secret: str | None = None) -> dict[str, Any]:
    body = {
        "id": key["id"],
        "account_id": key["account_id"],
        "name": key["name"],
        "role": key["role"],
        "prefix": key["key_prefix"],
        "created_at": to_rfc3339(key["created_at"]),
        "revoked_at": to_rfc3339(key["revoked_at"]),
    }
    if secret is not None:
        body["secret"] = secret
    return body


@router.get("/accounts/me", response_model=AccountOut)
async def me(caller: Caller, accounts: Accounts) -> JSONResponse:
    account = await accounts.get_account(caller, caller.account_id)
    token = accounts.auth_token(account) if caller.allows(Role.ADMIN) else None
    return JSONResponse(account_json(account, token))


@router.get("/accounts", response_model=AccountPage)
async def list_accounts(
    caller: Caller, service: Accounts, cursor: str | None = None, limit: Limit = 50
) -> JSONResponse:
    """The caller's direct subaccounts."""
    page = await service.list_subaccounts(caller, cursor=cursor, limit=limit)
    return JSONResponse(page.body(account_json))


@router.post("/accounts", status_code=201, response_model=AccountOut)
async def create_account(
    request: Request, body: AccountIn, caller: Caller, service: Accounts
) -> JSONResponse:
    """A subaccount of the caller's account; its auth token is shown in this answer only."""

    async def produce() -> tuple[int, dict[str, Any]]:
        account, token = await service.create_account(caller, body.name)
        return 201, account_json(account, token)

    return await run_idempotent(request, caller, produce, sealed=True)


@router.get("/accounts/{account_id}", response_model=AccountOut)
async def get_account(account_id: str, caller: Caller, service: Accounts) -> JSONResponse:
    account = await service.get_account(caller, account_id)
    return JSONResponse(account_json(account))


def _target(caller: Principal, account_id: str) -> str:
    return caller.account_id if account_id == "me" else account_id


@router.patch("/accounts/{account_id}", response_model=AccountOut)
async def update_account(
    account_id: str, body: AccountPatch, caller: Caller, service: Accounts
) -> JSONResponse:
    """Rename the account, set its ``webhook_url``, its ``twilio_sms_url`` or its ``texts`` (``me``
    for the caller's own account).

    The first time a URL is set the account's webhook signing secret is made and shown in this
    answer only; rotate it with ``POST /v1/accounts/{id}/webhook-secret``."""
    changed = await service.update_account(
        caller,
        _target(caller, account_id),
        name=body.name,
        webhook_url=body.webhook_url,
        set_url="webhook_url" in body.model_fields_set,
        twilio_sms_url=body.twilio_sms_url,
        set_twilio_sms_url="twilio_sms_url" in body.model_fields_set,
        texts=body.texts.model_dump(exclude_unset=True) if body.texts is not None else None,
    )
    return JSONResponse(account_json(changed.account, webhook_secret=changed.webhook_secret))


@router.post("/accounts/{account_id}/webhook-secret", response_model=AccountOut)
async def rotate_webhook_secret(
    request: Request, account_id: str, caller: Caller, service: Accounts
) -> JSONResponse:
    """A new signing secret for the account's events, shown in this answer only. Deliveries from
    now on are signed with it; the old one stops verifying at once."""

    async def produce() -> tuple[int, dict[str, Any]]:
        rotated = await service.rotate_webhook_secret(caller, _target(caller, account_id))
        return 200, account_json(rotated.account, webhook_secret=rotated.webhook_secret)

    return await run_idempotent(request, caller, produce, sealed=True)


@router.get("/keys", response_model=KeyPage)
async def list_keys(
    caller: Caller, service: Accounts, cursor: str | None = None, limit: Limit = 50
) -> JSONResponse:
    page = await service.list_keys(caller, cursor=cursor, limit=limit)
    return JSONResponse(page.body(key_json))


@router.post("/keys", status_code=201, response_model=KeyOut)
async def create_key(request: Request, body: KeyIn, caller: Caller, service: Accounts) -> JSONResponse:
    """A new API key; its secret is in this answer only."""

    async def produce() -> tuple[int, dict[str, Any]]:
        new = await service.create_key(caller, name=body.name, role=body.role, account_id=body.account_id)
        return 201, key_json(new.key, new.secret)

    return await run_idempotent(request, caller, produce, sealed=True)


@router.delete("/keys/{key_id}", response_model=KeyOut)
async def revoke_key(key_id: str, caller: Caller, service: Accounts) -> JSONResponse:
    key = await service.revoke_key(caller, key_id)
    return JSONResponse(key_json(key))
