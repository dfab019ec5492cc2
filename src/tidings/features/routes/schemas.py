"""What a route matches on: shared by ``/v1/routes`` and routes declared in the TOML file."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tidings.core.addresses import ChannelKind
from tidings.core.numbers import known_region


class RouteMatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: ChannelKind | None = Field(default=None, description="sms, whatsapp, telegram or viber")
    country: str | None = Field(default=None, description="ISO 3166 code of the recipient's number")
    prefix: str | None = Field(default=None, pattern=r"^\+[1-9][0-9]{0,14}$", description="E.164 prefix")

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not known_region(value.upper()):
            raise ValueError(f"{value!r} is not an ISO 3166 country code")
        return value.upper()
