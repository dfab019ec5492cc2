"""Drop-in surfaces for clients written against other systems (docs/compat.md): the Twilio API
and the seed services' HTTP APIs. Each surface is one folder below this one, mounted at its own
prefix as a sub-application with its own error shape, and translates onto the native services:
none of them sends, schedules or relays anything itself.

Removing a surface is removing its folder and its line in :mod:`tidings.features.compat.surfaces`.
"""

# The public face: the app factory and the runtime import only these names (an import-linter
# contract in pyproject.toml holds it). The delivery formats are the surfaces' webhooks, which the
# runtime hands to the deliverer (the webhooks floor cannot import a surface).
from tidings.features.compat.mounting import mount_compat
from tidings.features.compat.twilio.callbacks import TWILIO_CALLBACKS

DELIVERY_FORMATS = (TWILIO_CALLBACKS,)

__all__ = ["DELIVERY_FORMATS", "mount_compat"]
