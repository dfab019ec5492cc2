"""The registry of compat surfaces, in mounting order. One line per surface."""

from __future__ import annotations

from tidings.features.compat import imqs, messagesender
from tidings.features.compat.surface import Surface

SURFACES: tuple[Surface, ...] = (
    imqs.surface,
    messagesender.surface,
)
