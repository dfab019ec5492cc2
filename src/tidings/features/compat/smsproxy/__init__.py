"""``/compat/smsproxy``: the HTTP API of Flowroute's SMS Proxy (seed 003), translated onto the
native proxy sessions (docs/compat-seeds.md)."""

from tidings.features.compat.smsproxy.settings import SmsProxySettings
from tidings.features.compat.smsproxy.urls import build
from tidings.features.compat.surface import Surface

surface = Surface(name="smsproxy", prefix="/compat/smsproxy", settings_model=SmsProxySettings, build=build)

__all__ = ["surface"]
