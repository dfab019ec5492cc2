"""The Twilio-compatible surface (docs/twilio-compat.md). This branch brings only its webhooks,
:mod:`tidings.features.compat.twilio.callbacks`; the compat face exports them to the runtime."""
