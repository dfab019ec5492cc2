"""The public signature helper: what the gateway signs verifies, and nothing else does."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from tidings.webhooks.signing import sign, signature_header, verify_signature

NOW = 1_800_000_000
secrets = st.text(min_size=1, max_size=80)
bodies = st.binary(max_size=2_000)


@given(secrets, bodies)
def test_a_signed_body_verifies(secret: str, body: bytes) -> None:
    header = signature_header(secret, body, timestamp=NOW)
    assert verify_signature(secret, header, body, now=NOW)


@given(secrets, bodies, bodies)
def test_another_body_does_not_verify(secret: str, body: bytes, other: bytes) -> None:
    header = signature_header(secret, body, timestamp=NOW)
    assert verify_signature(secret, header, other, now=NOW) == (other == body)


@given(secrets, secrets, bodies)
def test_another_secret_does_not_verify(secret: str, other: str, body: bytes) -> None:
    header = signature_header(secret, body, timestamp=NOW)
    assert verify_signature(other, header, body, now=NOW) == (other == secret)


@given(st.text(max_size=300), bodies)
def test_any_header_is_answered_without_raising(header: str, body: bytes) -> None:
    assert verify_signature("whsec_x", header, body, now=NOW) in (True, False)


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(b"whsec_abc", b'1800000000.{"a":1}', hashlib.sha256).hexdigest()
    assert sign("whsec_abc", NOW, b'{"a":1}') == expected
    assert signature_header("whsec_abc", b'{"a":1}', timestamp=NOW) == f"t={NOW},v1={expected}"
    assert verify_signature("whsec_abc", f"t={NOW},v1={expected}", '{"a":1}', now=NOW)


def test_timestamps_outside_the_tolerance_are_refused() -> None:
    header = signature_header("s", b"x", timestamp=NOW)
    assert verify_signature("s", header, b"x", now=NOW + 300)
    assert not verify_signature("s", header, b"x", now=NOW + 301)
    assert not verify_signature("s", header, b"x", now=NOW - 301)
    assert verify_signature("s", header, b"x", tolerance_s=1000, now=NOW + 900)


def test_any_of_several_signatures_may_match_and_malformed_ones_do_not() -> None:
    good = sign("s", NOW, b"x")
    assert verify_signature("s", f"t={NOW},v1=00,v1={good}", b"x", now=NOW)
    assert verify_signature("s", f" t={NOW} , v1={good} ", b"x", now=NOW)
    for header in ("", None, f"v1={good}", f"t={NOW}", f"t=abc,v1={good}", f"t={NOW},v0={good}"):
        assert not verify_signature("s", header, b"x", now=NOW)
    assert not verify_signature("", f"t={NOW},v1={sign('', NOW, b'x')}", b"x", now=NOW)
