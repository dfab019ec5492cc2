"""Drop-in surfaces for clients written against other systems (docs/compat.md): the Twilio API
and the seed services' HTTP APIs. Each surface is one folder below this one, mounted at its own
prefix as a sub-application with its own error shape, and translates onto the native services:
none of them sends, schedules or relays anything itself.

Removing a surface is removing its folder and its line in :mod:`tidings.features.compat.surfaces`.
"""

# The public face: the app factory imports only these names (an import-linter contract in
# pyproject.toml holds it).
from tidings.features.compat.mounting import mount_compat

__all__ = ["mount_compat"]
