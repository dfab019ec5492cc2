"""Authenticating Flowroute's callbacks: a secret token in the callback URL.

Flowroute documents no signature, header or client certificate for its SMS, MMS and DLR
callbacks: it POSTs JSON to the URL you give it (account or number callback settings, or a
message's ``dlr_callback``), as given, query string included.
https://developer.flowroute.com/api/messages/v2.1/receive-a-dlr/ ,
https://developer.flowroute.com/docs/setting-up-inbound-messages-with-flowroute/
So the gateway puts a random token in those URLs and refuses any callback without it.
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qs, urlencode

PARAMETER = "token"


def with_token(url: str, token: str) -> str:
    """``url`` with the token appended as its query string."""
    return f"{url}?{urlencode({PARAMETER: token})}"


def is_valid(query: str, token: str) -> bool:
    """Whether the raw query string carries exactly one ``token`` equal to ``token``."""
    try:
        given = parse_qs(query, keep_blank_values=True, max_num_fields=20).get(PARAMETER, [])
    except ValueError:
        return False
    # Constant-time: the comparison must not tell a caller how much of a guess was right.
    return len(given) == 1 and hmac.compare_digest(given[0].encode(), token.encode())
