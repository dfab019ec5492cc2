"""Attributes: the caller's own JSON on a contact or a conversation, stored as compact text."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tidings.errors import Unprocessable

# Attributes link a record to the caller's systems; they are not a document store.
MAX_ATTRIBUTES_BYTES = 16_384


def attributes_json(attributes: Mapping[str, Any] | None) -> str | None:
    """``attributes`` as stored (sorted keys, no spaces); over 16 KiB a 422
    ``attributes_too_large`` (docs/contacts.md)."""
    if attributes is None:
        return None
    encoded = json.dumps(attributes, separators=(",", ":"), sort_keys=True)
    if len(encoded.encode()) > MAX_ATTRIBUTES_BYTES:
        raise Unprocessable(
            f"attributes are at most {MAX_ATTRIBUTES_BYTES} bytes of JSON",
            code="attributes_too_large",
            field="attributes",
        )
    return encoded


def stored_attributes(stored: str | None) -> dict[str, Any] | None:
    """The attributes a row holds, as the API shows them (None when it has none)."""
    return json.loads(stored) if stored else None
