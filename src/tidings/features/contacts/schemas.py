"""Request and response models of ``/v1/contacts`` (docs/contacts.md)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# A path segment: no slash, no control characters (the id is also how a contact is addressed
# in ``/v1/contacts/{external_id}`` and in a message's ``{"contact": …}``).
ExternalId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=r"^[^/\x00-\x1f\x7f]+$"),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
AddressValue = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Country = Annotated[str, StringConstraints(min_length=2, max_length=2)]
Attributes = Annotated[dict[str, Any], Field(description="Free JSON linking the contact to your records")]


class Addresses(BaseModel):
    """One address per channel type; bare (``+1…``, ``123``) or prefixed (``whatsapp:+1…``).
    In an update, ``null`` removes that type's address and a type left out keeps its own."""

    model_config = ConfigDict(extra="forbid")
    sms: AddressValue | None = Field(default=None, examples=["+14155550100"])
    whatsapp: AddressValue | None = Field(default=None, examples=["+14155550100"])
    telegram: AddressValue | None = Field(default=None, description="Chat id or @username")
    viber: AddressValue | None = Field(default=None, description="Viber user id")


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    external_id: ExternalId = Field(description="Your id for the person; unique in the account")
    name: Name | None = None
    attributes: Attributes | None = None
    addresses: Addresses = Field(default_factory=Addresses)
    default_country: Country | None = Field(
        default=None, description="Reads national numbers; default: the account's"
    )


class ContactUpdate(BaseModel):
    """Fields left out keep their values; ``null`` clears ``name`` and ``attributes``."""

    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    attributes: Attributes | None = None
    addresses: Addresses | None = None
    default_country: Country | None = None


class ContactOut(BaseModel):
    id: str
    account_id: str
    external_id: str
    name: str | None
    attributes: dict[str, Any] | None
    addresses: dict[str, str] = Field(description="Canonical form, as messages show it: whatsapp:+1…")
    created_at: str
    updated_at: str


class ContactPage(BaseModel):
    data: list[ContactOut]
    next_cursor: str | None
