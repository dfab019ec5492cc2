"""Request and response models of ``/v1/opt-outs``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

AddressValue = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Country = Annotated[str, StringConstraints(min_length=2, max_length=2)]


class OptOutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: AddressValue = Field(
        description="The person's address, any form: +1…, 083… (default country), whatsapp:+1…",
        examples=["+14155550100"],
    )
    sender: AddressValue | None = Field(
        default=None, description="Our address it applies to; `*` or left out: every sender of the account"
    )
    default_country: Country | None = Field(
        default=None, description="Reads national numbers; default: the account's"
    )


class OptOutOut(BaseModel):
    id: str
    account_id: str
    sender: str = Field(description="Our address, or `*` for every sender of the account")
    address: str = Field(description="Canonical form, as messages show it")
    keyword: str | None = Field(description="The keyword texted (STOP, STOPALL, …); null when added by API")
    source: Literal["keyword", "api"]
    created_at: str


class OptOutPage(BaseModel):
    data: list[OptOutOut]
    next_cursor: str | None
