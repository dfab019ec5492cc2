"""The live event stream (``GET /v1/events/stream``)."""
