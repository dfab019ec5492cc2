"""``/v1/contacts``: an account's address book; a contact is found by its id or external id."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from tidings.core.attributes import stored_attributes
from tidings.core.clock import to_rfc3339
from tidings.core.tenancy import Principal
from tidings.features.contacts.schemas import ContactIn, ContactOut, ContactPage, ContactUpdate
from tidings.features.contacts.service import CONTACTS, ContactService
from tidings.web.auth import principal
from tidings.web.idempotency import run_idempotent
from tidings.web.responses import ERRORS, JSONResponse

router = APIRouter(prefix="/v1", tags=["contacts"], responses=ERRORS)
Caller = Annotated[Principal, Depends(principal)]
Contacts = Annotated[ContactService, Depends(CONTACTS)]
Limit = Annotated[int, Query(ge=1, le=1000)]
AccountId = Annotated[
    str | None, Query(description="A subaccount's contacts; default: the caller's account's")
]
Ref = Annotated[str, Path(description="The contact's id (ctc_…) or external id; an id match wins")]


def contact_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "account_id": row["account_id"],
        "external_id": row["external_id"],
        "name": row["name"],
        "attributes": stored_attributes(row["attributes"]),
        "addresses": dict(sorted(row["addresses"].items())),
        "created_at": to_rfc3339(row["created_at"]),
        "updated_at": to_rfc3339(row["updated_at"]),
    }


@router.post("/contacts", status_code=201, response_model=ContactOut)
async def create_contact(
    body: ContactIn, caller: Caller, service: Contacts, request: Request, account_id: AccountId = None
) -> JSONResponse:
    """Add a contact (sender or admin). Addresses are stored in canonical form; 409
    ``contact_exists`` or ``address_taken`` when the external id or an address is taken."""

    async def produce() -> tuple[int, dict[str, Any]]:
        fields = body.model_dump(exclude_unset=True)
        row = await service.create(caller, fields, account_id=account_id)
        return 201, contact_json(row)

    return await run_idempotent(request, caller, produce)


@router.get("/contacts", response_model=ContactPage)
async def list_contacts(
    caller: Caller,
    service: Contacts,
    account_id: AccountId = None,
    external_id: str | None = None,
    address: Annotated[
        str | None, Query(description="Any form: +1…, 083… (default country), whatsapp:+1…, telegram:123")
    ] = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> JSONResponse:
    """The account's contacts, newest first."""
    page = await service.list(
        caller, account_id=account_id, external_id=external_id, address=address, cursor=cursor, limit=limit
    )
    return JSONResponse(page.body(contact_json))


@router.get("/contacts/{contact}", response_model=ContactOut)
async def get_contact(
    contact: Ref, caller: Caller, service: Contacts, account_id: AccountId = None
) -> JSONResponse:
    return JSONResponse(contact_json(await service.get(caller, contact, account_id=account_id)))


@router.patch("/contacts/{contact}", response_model=ContactOut)
async def update_contact(
    contact: Ref, body: ContactUpdate, caller: Caller, service: Contacts, account_id: AccountId = None
) -> JSONResponse:
    """Change a contact (sender or admin): fields left out keep their values, an address set to
    ``null`` is removed."""
    changes = body.model_dump(exclude_unset=True)
    row = await service.update(caller, contact, changes, account_id=account_id)
    return JSONResponse(contact_json(row))


@router.delete("/contacts/{contact}", status_code=204)
async def delete_contact(
    contact: Ref, caller: Caller, service: Contacts, account_id: AccountId = None
) -> Response:
    """Delete a contact and its addresses (sender or admin); its messages stay."""
    await service.delete(caller, contact, account_id=account_id)
    return Response(status_code=204)
