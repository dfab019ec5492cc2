"""``/v1/opt-outs``: the addresses that must not be messaged, by sender; removed by id."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from tidings.core.clock import to_rfc3339
from tidings.core.tenancy import Principal
from tidings.features.optouts.schemas import OptOutIn, OptOutOut, OptOutPage
from tidings.features.optouts.service import OPT_OUTS, OptOutService
from tidings.web.auth import principal
from tidings.web.idempotency import run_idempotent
from tidings.web.responses import ERRORS, JSONResponse

router = APIRouter(prefix="/v1", tags=["opt-outs"], responses=ERRORS)
Caller = Annotated[Principal, Depends(principal)]
OptOuts = Annotated[OptOutService, Depends(OPT_OUTS)]
Limit = Annotated[int, Query(ge=1, le=1000)]
AccountId = Annotated[
    str | None, Query(description="A subaccount's opt-outs; default: the caller's account's")
]


def opt_out_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "account_id": row["account_id"],
        "sender": row["sender"],
        "address": row["address"],
        "keyword": row["keyword"],
        "source": row["source"],
        "created_at": to_rfc3339(row["created_at"]),
    }


@router.get("/opt-outs", response_model=OptOutPage)
async def list_opt_outs(
    caller: Caller,
    service: OptOuts,
    account_id: AccountId = None,
    address: Annotated[str | None, Query(description="Any form: +1…, 083…, whatsapp:+1…")] = None,
    sender: Annotated[str | None, Query(description="One of our addresses, or `*`")] = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> JSONResponse:
    """The account's opt-outs, newest first."""
    page = await service.list(
        caller, account_id=account_id, address=address, sender=sender, cursor=cursor, limit=limit
    )
    return JSONResponse(page.body(opt_out_json))


@router.post("/opt-outs", status_code=201, response_model=OptOutOut, responses={200: {"model": OptOutOut}})
async def add_opt_out(
    body: OptOutIn, caller: Caller, service: OptOuts, request: Request, account_id: AccountId = None
) -> JSONResponse:
    """Opt an address out (admin): 201 with the new opt-out, or 200 with the one that already
    had this address and sender. Sends to it then fail with ``opted_out``."""

    async def produce() -> tuple[int, dict[str, Any]]:
        row, created = await service.add(
            caller,
            address=body.address,
            sender=body.sender,
            default_country=body.default_country,
            account_id=account_id,
        )
        return (201 if created else 200), opt_out_json(row)

    return await run_idempotent(request, caller, produce)


@router.delete("/opt-outs/{opt_out_id}", status_code=204)
async def delete_opt_out(opt_out_id: str, caller: Caller, service: OptOuts) -> Response:
    """Lift an opt-out (admin); find its id with ``GET /v1/opt-outs?address=``."""
    await service.remove(caller, opt_out_id)
    return Response(status_code=204)
