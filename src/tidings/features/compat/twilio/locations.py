"""Where a request is, as Twilio's clients name it: paths below a product (``/2010-04-01/…``,
what the SDK appends to ``https://api.twilio.com``) and absolute URLs of this gateway."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from tidings.features.compat.twilio import settings


def product_path(request: HTTPConnection) -> str:
    """``/twilio/api/2010-04-01/Accounts/AC…/Messages.json`` → ``/2010-04-01/Accounts/AC…/Messages.json``."""
    path = request.url.path
    root = request.scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    _, _, below_product = path.lstrip("/").partition("/")
    return "/" + below_product


def surface_base(request: HTTPConnection) -> str:
    """The absolute URL of this surface's root (``https://sms.example.com/twilio``): from
    ``compat.twilio.public_url`` when set, else the request's own scheme and Host."""
    root = str(request.scope.get("root_path", ""))
    public = settings.of(request).public_url
    if public:
        return public.rstrip("/") + root
    host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
    return f"{request.url.scheme}://{host}{root}"


def product_url(request: HTTPConnection, product: str, path: str) -> str:
    """The absolute URL of ``path`` (``/v1/Conversations/CH…``) of ``product`` (``conversations``)."""
    return f"{surface_base(request)}/{product}{path}"


def request_product(request: HTTPConnection) -> str:
    """The product this request is for (``api``, ``conversations``, ``proxy``)."""
    path = request.url.path
    root = request.scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return path.lstrip("/").partition("/")[0]
