"""The WhatsApp channel over Meta's Cloud API: ``config``, ``api`` (the send call), ``errors``,
``signature`` (X-Hub-Signature-256, hub.challenge), ``callbacks`` (notifications), ``channel``."""
