"""The seed 003 surface's pure translations: session ids both ways, numbers, the system texts."""

from __future__ import annotations

import pytest

from tidings.core.ids import new_ids
from tidings.features.compat.smsproxy.exceptions import BadRequest
from tidings.features.compat.smsproxy.ids import native_session_id, seed_session_id
from tidings.features.compat.smsproxy.numbers import to_native, to_seed
from tidings.features.compat.smsproxy.settings import SmsProxySettings


def test_session_ids_map_both_ways_as_32_hex_digits() -> None:
    for native in new_ids("pxs", 50):
        seed = seed_session_id(native)
        assert len(seed) == 32 and int(seed, 16) >= 0 and seed == seed.lower()
        assert native_session_id(seed) == native
        assert native_session_id(seed.upper()) == native
    # The seed's sample id is one of ours too, and maps back to itself.
    sample = "366910827c8e4a6593943a28e4931668"
    native = native_session_id(sample)
    assert native is not None and native.startswith("pxs_") and len(native) == 30
    assert seed_session_id(native) == sample
    for bad in ("x" * 32, "366910827c8e4a6593943a28e493166", "366910827c8e4a6593943a28e49316688", ""):
        assert native_session_id(bad) is None


def test_numbers_are_eleven_digit_nanp_without_plus() -> None:
    assert to_native("12062992129", "value") == "+12062992129"
    assert to_native(12062992129, "value") == "+12062992129"  # the seed's table calls it an integer
    assert to_seed("+12062992129") == "12062992129"
    for bad in ("2062992129", "+12062992129", "22062992129", "11234567890", "1206299212x", True, None, 1.5):
        with pytest.raises(BadRequest):
            to_native(bad, "value")


def test_settings_take_the_seed_names_and_word_the_texts_as_it_did() -> None:
    default = SmsProxySettings()
    assert default.system_texts() == {
        "session_start": "[YOUR ORG NAME]: Your new session has started, send a message!",
        "session_end": "[YOUR ORG NAME]: This session has ended, talk to you again soon!",
        "no_session": "[YOUR ORG NAME]: An active session was not found. Please contact support@yourorg.com",
    }
    custom = SmsProxySettings.model_validate(
        {"ORG_NAME": "Acme", "session_end_msg": None, "NO_SESSION_MSG": "No."}
    )
    assert custom.system_texts() == {
        "session_start": "[ACME]: Your new session has started, send a message!",
        "no_session": "[ACME]: No.",
    }
    with pytest.raises(ValueError):
        SmsProxySettings.model_validate({"org": "typo"})
