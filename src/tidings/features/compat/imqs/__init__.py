"""``/compat/imqs``: the HTTP API of the imqs messaging service (seed 001), translated onto the
native send, number parsing and number status (docs/compat-seeds.md)."""

from tidings.features.compat.imqs.settings import ImqsSettings
from tidings.features.compat.imqs.urls import build
from tidings.features.compat.surface import Surface

surface = Surface(name="imqs", prefix="/compat/imqs", settings_model=ImqsSettings, build=build)

__all__ = ["surface"]
