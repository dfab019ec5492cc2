"""From a stored channels row to a live adapter: settings validated, credentials opened.

Credentials are sealed with the instance secret (:class:`tidings.crypto.SecretBox`) as the JSON
of the type's ``credentials_model``; they are opened only here, straight into that model, whose
``SecretStr`` fields keep them out of reprs and logs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import SecretStr

from tidings.channels.base import Channel, ChannelCredentials, ChannelReports
from tidings.channels.registry import channel_class
from tidings.crypto import SecretBox


def build_channel(row: Mapping[str, Any], box: SecretBox | None, reports: ChannelReports) -> Channel:
    """The adapter for a channels row, not yet started. Raises ``ValueError`` (or pydantic's
    ``ValidationError``, which never echoes input for credentials) when the row is unusable."""
    cls = channel_class(row["type"])
    settings = cls.settings_model.model_validate_json(row["settings"] or "{}")
    credentials = open_credentials(cls, row.get("credentials_ciphertext"), box)
    return cls(row["id"], settings, reports, credentials)


def open_credentials(cls: type[Channel], ciphertext: str | None, box: SecretBox | None) -> ChannelCredentials:
    if ciphertext is None:
        # Types without secrets (the sandbox) validate an empty object; the others fail here.
        return cls.credentials_model.model_validate({})
    if box is None:
        raise ValueError("this channel has credentials but no instance secret was given to open them")
    return cls.credentials_model.model_validate_json(box.open(ciphertext))


def seal_credentials(cls: type[Channel], credentials: ChannelCredentials, box: SecretBox) -> str | None:
    """The ciphertext stored for validated credentials; ``None`` when the type has none."""
    if not type(credentials).model_fields:
        return None
    # model_dump masks SecretStr as "**********"; the stored form needs the real values.
    plain = {name: _reveal(value) for name, value in credentials}
    return box.seal(json.dumps(plain))


def _reveal(value: Any) -> Any:
    return value.get_secret_value() if isinstance(value, SecretStr) else value
