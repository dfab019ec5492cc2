"""The registry of compat surfaces, in mounting order. One line per surface."""

from __future__ import annotations

from tidings.features.compat import smsproxy
from tidings.features.compat.surface import Surface

SURFACES: tuple[Surface, ...] = (smsproxy.surface,)
