"""``[compat.messagesender]``: the time zone the seed's ``send_at`` and its lines are read in."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator

from tidings.features.compat.surface import SurfaceSettings


class MessageSenderSettings(SurfaceSettings):
    # The seed ran in its container's TZ (docker-compose's ``TZ=Europe/Moscow``); here it is a
    # setting of the surface, an IANA zone name.
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
