"""``/v1/routes``: how an account's messages choose their channel."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from tidings.core.clock import to_rfc3339
from tidings.core.tenancy import Principal
from tidings.features.routes.schemas import RouteMatch
from tidings.features.routes.service import ROUTES, RouteService
from tidings.web.auth import principal
from tidings.web.responses import ERRORS

router = APIRouter(prefix="/v1", tags=["routes"], responses=ERRORS)
Caller = Annotated[Principal, Depends(principal)]
Routes = Annotated[RouteService, Depends(ROUTES)]


class RouteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    priority: int = Field(default=100, ge=0, le=1_000_000, description="Lower is tried first")
    match: RouteMatch = Field(default_factory=RouteMatch)
    channel_id: str = Field(min_length=1, max_length=40)
    fallback_channel_id: str | None = Field(default=None, min_length=1, max_length=40)


class RouteUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    priority: int | None = Field(default=None, ge=0, le=1_000_000)
    match: RouteMatch | None = None
    channel_id: str | None = Field(default=None, min_length=1, max_length=40)
    fallback_channel_id: str | None = Field(default=None, min_length=1, max_length=40)


class RouteOut(BaseModel):
    id: str
    account_id: str
    name: str
    priority: int
    match: RouteMatch
    channel_id: str
    fallback_channel_id: str | None
    created_at: str
    updated_at: str


class RouteList(BaseModel):
    data: list[RouteOut]


def _fields(body: RouteIn | RouteUpdate) -> dict[str, Any]:
    """Columns from a body: all of a new route's, only the given ones of an update."""
    fields = body.model_dump(exclude_unset=isinstance(body, RouteUpdate), exclude={"match"})
    if body.match is not None:
        fields.update(body.match.model_dump())
    return fields


def route_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "account_id": row["account_id"],
        "name": row["name"],
        "priority": row["priority"],
        "match": {"kind": row["kind"], "country": row["country"], "prefix": row["prefix"]},
        "channel_id": row["channel_id"],
        "fallback_channel_id": row["fallback_channel_id"],
        "created_at": to_rfc3339(row["created_at"]),
        "updated_at": to_rfc3339(row["updated_at"]),
    }


@router.post("/routes", status_code=201, response_model=RouteOut)
async def create_route(body: RouteIn, caller: Caller, service: Routes) -> dict[str, Any]:
    """Add a route for the caller's account (admin)."""
    return route_json(await service.create(caller, _fields(body)))


@router.get("/routes", response_model=RouteList)
async def list_routes(caller: Caller, service: Routes) -> dict[str, Any]:
    """The caller's account's routes, in the order they are tried."""
    return {"data": [route_json(r) for r in await service.list(caller)]}


@router.get("/routes/{route_id}", response_model=RouteOut)
async def get_route(route_id: str, caller: Caller, service: Routes) -> dict[str, Any]:
    return route_json(await service.get(caller, route_id))


@router.patch("/routes/{route_id}", response_model=RouteOut)
async def update_route(route_id: str, body: RouteUpdate, caller: Caller, service: Routes) -> dict[str, Any]:
    """Change a route (admin); fields left out keep their values."""
    return route_json(await service.update(caller, route_id, _fields(body)))


@router.delete("/routes/{route_id}", status_code=204)
async def delete_route(route_id: str, caller: Caller, service: Routes) -> Response:
    await service.delete(caller, route_id)
    return Response(status_code=204)
