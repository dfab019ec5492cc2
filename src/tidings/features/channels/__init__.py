"""Channels (``/v1/channels``): the provider connections an account sends on."""

# The public face: other features, the runtime and the declarations import only these names
# (an import-linter contract in pyproject.toml holds it).
from tidings.features.channels.rows import changed_values, insert_checked, new_channel_row, update_checked
from tidings.features.channels.service import CHANNELS, ChannelService

__all__ = [
    "CHANNELS",
    "ChannelService",
    "changed_values",
    "insert_checked",
    "new_channel_row",
    "update_checked",
]
