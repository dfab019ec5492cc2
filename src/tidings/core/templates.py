"""``{{name}}`` placeholders in personalised bodies: ``POST /v1/messages`` with a template body and
``recipients: [{to, vars}]``."""

from __future__ import annotations

import re
from collections.abc import Mapping

_SLOT = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class MissingVariable(KeyError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def placeholders(template: str) -> set[str]:
    return set(_SLOT.findall(template))


def render(template: str, values: Mapping[str, object]) -> str:
    """Fill every slot; a slot without a value raises :class:`MissingVariable`."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise MissingVariable(name)
        return str(values[name])

    return _SLOT.sub(fill, template)
