"""``[compat.smsproxy]``: the seed's ``settings.py`` values (``ORG_NAME``, ``SESSION_START_MSG``,
``SESSION_END_MSG``, ``NO_SESSION_MSG``, read under those names or in lower case) and the key of
the inbound callback tokens."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AliasChoices, ConfigDict, Field, SecretStr, StringConstraints

from tidings.features.compat.surface import SurfaceSettings

# Within the native system texts' bound (1,600 characters, one send's longest body) once the
# "[ORG NAME]: " prefix is added.
OrgName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1400)]


def _seed_key(name: str, default: Any) -> Any:
    """A field read as ``org_name`` or as the seed's own ``ORG_NAME``."""
    return Field(default=default, validation_alias=AliasChoices(name, name.upper()))


class SmsProxySettings(SurfaceSettings):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    # The seed's defaults, word for word. A text set to null is not installed (not sent).
    org_name: OrgName = _seed_key("org_name", "Your Org Name")
    session_start_msg: Text | None = _seed_key(
        "session_start_msg", "Your new session has started, send a message!"
    )
    session_end_msg: Text | None = _seed_key(
        "session_end_msg", "This session has ended, talk to you again soon!"
    )
    no_session_msg: Text | None = _seed_key(
        "no_session_msg", "An active session was not found. Please contact support@yourorg.com"
    )
    # Keys the per-account tokens of POST / (inbound.py); default: derived from the instance
    # secret. Changing it changes every account's callback URL.
    inbound_secret: SecretStr | None = None

    def system_texts(self) -> dict[str, str]:
        """The native proxy texts these settings make, as the seed sent them: ``[ORG NAME]: …``."""
        texts = {
            "session_start": self.session_start_msg,
            "session_end": self.session_end_msg,
            "no_session": self.no_session_msg,
        }
        return {field: f"[{self.org_name.upper()}]: {text}" for field, text in texts.items() if text}
