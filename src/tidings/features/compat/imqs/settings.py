"""``[compat.imqs]``: the seed's own configuration keys that still mean something here."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from tidings.core.numbers import known_region
from tidings.features.compat.surface import SurfaceSettings


class ImqsSettings(SurfaceSettings):
    """Unset options fall back to the caller's account (``default_country``,
    ``allowed_countries``) and then to the gateway's own settings and the channel's limits.

    The seed's ``smsProvider.countries``, ``maxMessageSegments`` and ``maxBatchSize`` are
    ``allowed_countries``, ``max_message_segments`` and ``max_batch_size``; its
    ``deliveryStatus.updateInverval`` has no counterpart: receipts and status polling are the
    native channels' (docs/compat-seeds.md)."""

    # How local numbers ("0830000000") are read. The seed is South African, but no country is
    # assumed: a deployment names its own.
    default_country: str | None = Field(default=None, min_length=2, max_length=2)
    # Numbers of other countries are discarded; None: the account's allow-list (if any).
    allowed_countries: list[str] | None = None
    # A longer message is refused (sendSuccess false); None: the channel's max_segments.
    max_message_segments: int | None = Field(default=None, ge=1, le=255)
    # The most valid numbers one /sendsms may send; None: the gateway's max_recipients.
    max_batch_size: int | None = Field(default=None, ge=1)

    @field_validator("default_country")
    @classmethod
    def _known_country(cls, value: str | None) -> str | None:
        if value is not None and not known_region(value.upper()):
            raise ValueError(f"{value!r} is not an ISO 3166 country code")
        return value.upper() if value else None

    @field_validator("allowed_countries", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        # From the environment the list arrives as text: TIDINGS_COMPAT__IMQS__ALLOWED_COUNTRIES=ZA,BW
        if isinstance(value, str):
            return [code.strip() for code in value.split(",") if code.strip()]
        return value

    @field_validator("allowed_countries")
    @classmethod
    def _known_countries(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        unknown = [code for code in value if not known_region(code.upper())]
        if unknown:
            raise ValueError(f"not ISO 3166 country codes: {', '.join(unknown)}")
        return [code.upper() for code in value]
