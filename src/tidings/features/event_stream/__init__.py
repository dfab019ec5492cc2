"""The live event stream (``GET /v1/events/stream``)."""

# The public face: other features, the runtime and the declarations import only these names
# (an import-linter contract in pyproject.toml holds it).
from tidings.features.event_stream.service import EVENT_STREAM, EventStream

__all__ = ["EVENT_STREAM", "EventStream"]
