"""Routes (``/v1/routes``): which channel carries a message, by country, prefix and channel type."""

# The public face: other features, the runtime and the declarations import only these names
# (an import-linter contract in pyproject.toml holds it).
from tidings.features.routes.repository import insert_route, route_named, update_route
from tidings.features.routes.schemas import RouteMatch
from tidings.features.routes.service import ROUTES, RouteService

__all__ = ["ROUTES", "RouteMatch", "RouteService", "insert_route", "route_named", "update_route"]
