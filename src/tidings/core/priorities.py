"""Send priorities: the names the API takes and shows, and the number the claim orders by
(lower is claimed first)."""

from __future__ import annotations

PRIORITIES = {"high": 0, "normal": 1, "bulk": 2}
PRIORITY_NAMES = {value: name for name, value in PRIORITIES.items()}
