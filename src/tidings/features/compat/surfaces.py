"""The registry of compat surfaces, in mounting order. One line per surface."""

from __future__ import annotations

from tidings.features.compat import imqs, messagesender, smsproxy, twilio
from tidings.features.compat.surface import Surface

SURFACES: tuple[Surface, ...] = (
    twilio.surface,  # /twilio/{api,conversations,proxy}/...: docs/twilio-compat.md
    imqs.surface,  # /compat/imqs: docs/compat-seeds.md
    smsproxy.surface,  # /compat/smsproxy: docs/compat-seeds.md
    messagesender.surface,  # /compat/messagesender: docs/compat-seeds.md
)
