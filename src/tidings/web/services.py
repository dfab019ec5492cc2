"""How routers reach the running gateway's services: one typed key per service.

A key names a service and carries its type, so ``Annotated[MessageService, Depends(MESSAGES)]``
hands an endpoint a ``MessageService`` that mypy checks at every call. The app factory fills one
:class:`Services` registry at start (:func:`tidings.app.create_app`); Starlette's ``app.state`` is
untyped, and :meth:`ServiceKey.of` is the one place that reads it.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar, cast

from starlette.applications import Starlette
from starlette.requests import Request

from tidings.config import Settings
from tidings.crypto import SecretBox
from tidings.store.engine import Database

T = TypeVar("T")


class ServiceKey(Generic[T]):
    """One service of the running gateway; called with a request it is a FastAPI dependency."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"ServiceKey({self.name!r})"

    def of(self, app: Starlette) -> T:
        """The service in ``app``'s registry (a ``KeyError`` means the app factory never added it)."""
        registry: dict[str, Any] = app.state.services
        return cast(T, registry[self.name])

    def __call__(self, request: Request) -> T:
        return self.of(request.app)


class Services:
    """The registry the app factory fills: each key with a service of the key's type."""

    def __init__(self) -> None:
        self.by_name: dict[str, object] = {}

    def add(self, key: ServiceKey[T], service: T) -> None:
        if key.name in self.by_name:
            raise ValueError(f"{key!r} is registered twice")
        self.by_name[key.name] = service


SETTINGS: ServiceKey[Settings] = ServiceKey("settings")
DATABASE: ServiceKey[Database] = ServiceKey("database")
SECRET_BOX: ServiceKey[SecretBox] = ServiceKey("secret_box")
