"""Proxy sessions (``/v1/proxy``): two people talk through a pool number of the
account, neither seeing the other's address (docs/proxy.md)."""

# The public face: other features, the runtime and the declarations import only these names
# (an import-linter contract in pyproject.toml holds it).
from tidings.features.proxy.expiry import proxy_expiry
from tidings.features.proxy.inbound import ProxyStep
from tidings.features.proxy.service import PROXY, ProxyService

__all__ = ["PROXY", "ProxyService", "ProxyStep", "proxy_expiry"]
