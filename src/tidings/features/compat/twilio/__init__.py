"""The Twilio-compatible surface (docs/twilio-compat.md): Twilio's REST API at ``/twilio/<product>/…``
(``/twilio/api/2010-04-01/…``, ``/twilio/conversations/v1/…``, ``/twilio/proxy/v1/…``), so the
official SDKs reach Tidings through a custom HTTP client that sends ``*.twilio.com`` here.

Shared by every product: SIDs (``sids.py``), Twilio's errors (``exceptions.py``), authentication
(``auth.py``), form parameters (``forms.py``), dates (``dates.py``) and list envelopes
(``paging.py``). Each product's resources are a package of their own (``messages/``,
``accounts/``, …) whose router ``urls.py`` lists. Its webhooks (``StatusCallback``, ``SmsUrl``) are
a delivery format for the native deliverer, ``callbacks.py``, which the compat face exports.
"""

from tidings.features.compat.surface import Surface
from tidings.features.compat.twilio.app import build
from tidings.features.compat.twilio.settings import TwilioSettings

surface = Surface(name="twilio", prefix="/twilio", settings_model=TwilioSettings, build=build)

__all__ = ["surface"]
