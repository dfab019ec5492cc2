"""Phone-number normalization: concrete cases, fast-path parity with libphonenumber, batches."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from tidings.core import numbers
from tidings.core.numbers import (
    PARALLEL_THRESHOLD,
    InvalidNumber,
    InvalidNumberError,
    NormalizedNumbers,
    normalize_number,
    normalize_numbers,
    normalize_numbers_parallel,
    parse_canonical,
    region_of,
)


def _example_numbers() -> list[str]:
    """E.164 example numbers of every type in every region and non-geographic entity."""
    found: set[str] = set()
    types = [
        PhoneNumberType.MOBILE,
        PhoneNumberType.FIXED_LINE,
        PhoneNumberType.TOLL_FREE,
        PhoneNumberType.PREMIUM_RATE,
        PhoneNumberType.SHARED_COST,
        PhoneNumberType.VOIP,
        PhoneNumberType.PERSONAL_NUMBER,
        PhoneNumberType.PAGER,
        PhoneNumberType.UAN,
        PhoneNumberType.VOICEMAIL,
    ]
    for region in phonenumbers.SUPPORTED_REGIONS:
        for number_type in types:
            example = phonenumbers.example_number_for_type(region, number_type)
            if example is not None:
                found.add(phonenumbers.format_number(example, PhoneNumberFormat.E164))
    for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS:
        example = phonenumbers.example_number_for_non_geo_entity(code)
        if example is not None:
            found.add(phonenumbers.format_number(example, PhoneNumberFormat.E164))
    return sorted(found)


EXAMPLES = _example_numbers()
CALLING_CODES = sorted(str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


def reference(raw: str) -> str:
    """What libphonenumber alone says of ``raw``: E.164 if valid, else a marker."""
    try:
        number = phonenumbers.parse(raw, None)
    except NumberParseException:
        return "unparseable"
    if not phonenumbers.is_valid_number(number):
        return "invalid"
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def outcome(raw: str, **options: Any) -> str:
    try:
        return normalize_number(raw, **options)
    except InvalidNumberError as exc:
        return exc.reason


def assert_fast_path_agrees(raw: str) -> None:
    fast = parse_canonical(raw)
    try:
        full = phonenumbers.parse(raw, None)
    except NumberParseException:
        assert fast is None, raw
        return
    if fast is not None:
        assert fast == full, raw
        assert phonenumbers.is_valid_number(fast) == phonenumbers.is_valid_number(full)


# --- Single numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("+27830000000", None, "+27830000000"),
        ("0830000000", "ZA", "+27830000000"),
        ("083 000 0000", "za", "+27830000000"),
        ("083-000-0000", "ZA", "+27830000000"),
        ("083.000.0000", "ZA", "+27830000000"),
        ("  +27 (0) 83 000 0000 ", None, "+27830000000"),
        ("0027830000000", None, "+27830000000"),
        ("27830000000", "ZA", "+27830000000"),
        ("+1 (206) 299-2129", None, "+12062992129"),
        ("(206) 299-2129", "US", "+12062992129"),
        ("011 44 20 7946 0958", "US", "+442079460958"),
        ("0044 20 7946 0958", None, "+442079460958"),
        ("0044 20 7946 0958", "US", "+442079460958"),  # 00 is international even where IDD is 011
        ("020 7946 0958", "GB", "+442079460958"),
        ("+39 06 1234 5678", None, "+390612345678"),  # Italian leading zero kept
        ("+54 9 11 2345 6789", None, "+5491123456789"),
        ("+7 912 345 67 89", None, "+79123456789"),
        ("+800 1234 5678", None, "+80012345678"),
    ],
)
def test_normalizes(raw: str, country: str | None, expected: str) -> None:
    assert normalize_number(raw, country) == expected


@pytest.mark.parametrize(
    ("raw", "country", "reason"),
    [
        ("", None, "not_a_number"),
        ("   ", "ZA", "not_a_number"),
        ("+", None, "not_a_number"),
        ("call me", "ZA", "not_a_number"),
        ("1-800-FLOWERS", "US", "not_a_number"),  # no vanity-letter guessing
        ("+27 83 000 0000 ext 12", None, "not_a_number"),
        ("27+830000000", None, "not_a_number"),
        ("+27_830000000", None, "not_a_number"),
        ("+２７８３０００００００", None, "not_a_number"),  # full-width digits
        ("+999 123 456 789", None, "invalid_country_code"),
        ("+0 830000000", None, "invalid_country_code"),
        ("+1", None, "too_short"),
        ("+2783", None, "too_short"),
        ("+12345678", None, "too_short"),
        ("+2783000000000", None, "too_long"),
        ("+27830000000000000", None, "too_long"),
        ("9" * 300, "ZA", "too_long"),
        ("+278300000001", None, "invalid_number"),
        ("+1 555 010 0000", None, "invalid_number"),
        ("0830000000", None, "missing_country"),
        ("27830000000", None, "missing_country"),
    ],
)
def test_rejects_with_reason(raw: str, country: str | None, reason: str) -> None:
    with pytest.raises(InvalidNumberError) as caught:
        normalize_number(raw, country)
    assert caught.value.reason == reason
    assert caught.value.input == raw
    assert isinstance(caught.value, ValueError)


def test_allow_list_by_region() -> None:
    za = frozenset({"ZA"})
    assert normalize_number("+27830000000", allowed_countries=za) == "+27830000000"
    assert normalize_number("0830000000", "ZA", frozenset({"za", "GB"})) == "+27830000000"
    assert outcome("+12062992129", allowed_countries=za) == "country_not_allowed"
    # +1 is shared: the region is the number's own (Canada here), not the calling code's main one.
    assert outcome("+1 604 555 5555", allowed_countries=frozenset({"US"})) == "country_not_allowed"
    assert outcome("+1 604 555 5555", allowed_countries=frozenset({"CA"})) == "+16045555555"
    assert outcome("+80012345678", allowed_countries=za) == "country_not_allowed"
    assert outcome("+80012345678", allowed_countries=frozenset({"001"})) == "+80012345678"
    # Validity is judged first: an invalid number is not reported as merely disallowed.
    assert outcome("+278300000001", allowed_countries=frozenset({"GB"})) == "invalid_number"


def test_unknown_default_country_is_a_caller_error() -> None:
    with pytest.raises(ValueError, match="unknown default country") as caught:
        normalize_number("0830000000", "XX")
    assert not isinstance(caught.value, InvalidNumberError)


def test_region_of() -> None:
    assert region_of("+27830000000") == "ZA"
    assert region_of("+16045555555") == "CA"
    assert region_of("+12062992129") == "US"
    assert region_of("+80012345678") == "001"
    assert region_of("+78001234567") == "RU"  # takes the full-parse path
    with pytest.raises(InvalidNumberError):
        region_of("+278300000001")
    with pytest.raises(InvalidNumberError):
        region_of("hello")


# --- The canonical fast path equals the full parse ----------------------------------------------


def test_fast_path_agrees_on_every_example_number() -> None:
    for raw in EXAMPLES:
        assert_fast_path_agrees(raw)
        assert outcome(raw) == reference(raw) == raw


def test_fast_path_takes_nearly_all_example_numbers() -> None:
    canonical = [raw for raw in EXAMPLES if 7 <= len(raw) - 1 <= 15]
    taken = [raw for raw in canonical if parse_canonical(raw) is not None]
    # The exceptions are plans whose national prefix can start a number (+7 8…, +370 8…).
    assert len(taken) >= 0.98 * len(canonical)


def test_fast_path_steps_aside_for_national_prefix() -> None:
    assert parse_canonical("+78001234567") is None  # Russia's national prefix is 8
    assert parse_canonical("+9991234567") is None  # no such calling code
    assert parse_canonical("+0831234567") is None


def test_fast_path_keeps_leading_zeros() -> None:
    number = parse_canonical("+39000123456")
    assert number is not None
    assert number == phonenumbers.parse("+39000123456", None)
    assert number.number_of_leading_zeros == 3


@st.composite
def canonical_candidates(draw: st.DrawFn) -> str:
    """``+`` and 7-15 digits shaped like real numbers, near-misses and noise."""
    shape = draw(st.sampled_from(["example", "mutated", "coded", "noise"]))
    digits = st.text("0123456789", min_size=0, max_size=14)
    if shape == "example":
        raw = draw(st.sampled_from(EXAMPLES))
    elif shape == "mutated":
        raw = draw(st.sampled_from(EXAMPLES))
        position = draw(st.integers(1, len(raw)))
        replacement = draw(st.text("0123456789", max_size=3))
        cut = draw(st.integers(0, 2))
        raw = raw[:position] + replacement + raw[position + cut :]
    elif shape == "coded":
        zeros = "0" * draw(st.integers(0, 3))
        raw = "+" + draw(st.sampled_from(CALLING_CODES)) + zeros + draw(digits)
    else:
        raw = "+" + draw(st.text("0123456789", min_size=7, max_size=15))
    return raw[:16]


@settings(max_examples=400, deadline=None)
@given(canonical_candidates())
def test_fast_path_equals_full_parse(raw: str) -> None:
    if 7 <= len(raw) - 1 <= 15:
        assert_fast_path_agrees(raw)
    expected = reference(raw)
    got = outcome(raw)
    if expected.startswith("+"):
        assert got == expected
    else:
        assert not got.startswith("+")


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        canonical_candidates(),
        st.text("0123456789 +-.()", max_size=20),
        st.text(max_size=12),
    ),
    st.sampled_from([None, "ZA", "US", "GB", "IT", "AR"]),
)
def test_normalize_is_idempotent(raw: str, country: str | None) -> None:
    try:
        e164 = normalize_number(raw, country)
    except InvalidNumberError as exc:
        assert exc.reason in {reason.value for reason in numbers.Reason}
        return
    assert normalize_number(e164) == e164
    assert normalize_number(e164, country) == e164
    assert reference(e164) == e164
    assert region_of(e164)


# --- Batches -------------------------------------------------------------------------------------


def test_batch_dedupes_after_normalization() -> None:
    result = normalize_numbers(
        [
            "0830000000",
            "+27830000000",
            "oops",
            "+27 83 000 0001",
            "oops",
            "083 000 0000",
            "+999123",
            "+27830000001",
        ],
        default_country="ZA",
    )
    assert result == NormalizedNumbers(
        valid=["+27830000000", "+27830000001"],
        invalid=[
            InvalidNumber("oops", "not_a_number"),
            InvalidNumber("oops", "not_a_number"),
            InvalidNumber("+999123", "invalid_country_code"),
        ],
        duplicates=3,
    )


def test_empty_batch() -> None:
    assert normalize_numbers([]) == NormalizedNumbers([], [], 0)


POOL = [
    *EXAMPLES[:40],
    "0830000000",
    "+27830000000",
    "083 000 0000",
    "(206) 299-2129",
    "+1 206 299 2129",
    "abc",
    "",
    "+999123456",
    "+2783",
    "0207946 0958",
]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(POOL), max_size=30),
    st.sampled_from([None, "ZA", "US"]),
    st.sampled_from([None, frozenset({"ZA", "US"})]),
)
def test_batch_matches_one_by_one(
    raws: list[str], country: str | None, allowed: frozenset[str] | None
) -> None:
    result = normalize_numbers(raws, country, allowed)
    singles = [outcome(raw, default_country=country, allowed_countries=allowed) for raw in raws]
    assert result.valid == list(dict.fromkeys(o for o in singles if o.startswith("+")))
    assert result.invalid == [
        InvalidNumber(raw, o) for raw, o in zip(raws, singles, strict=True) if not o.startswith("+")
    ]
    assert len(result.valid) + len(result.invalid) + result.duplicates == len(raws)
    assert len(set(result.valid)) == len(result.valid)


class CountingExecutor(Executor):
    """Wraps an executor and counts the ``map`` calls made on it."""

    def __init__(self, inner: Executor) -> None:
        self.inner = inner
        self.maps = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        return self.inner.submit(fn, *args, **kwargs)

    def map(
        self,
        fn: Callable[..., Any],
        *iterables: Iterable[Any],
        timeout: float | None = None,
        chunksize: int = 1,
    ) -> Iterator[Any]:
        self.maps += 1
        return self.inner.map(fn, *iterables, timeout=timeout, chunksize=chunksize)


def _big_batch() -> list[str]:
    raws: list[str] = []
    for n in range(7_000):
        local = f"83{n:07d}"
        form = n % 4
        if form == 0:
            raws.append(f"+27{local}")
        elif form == 1:
            raws.append(f"0{local}")  # national, needs the default country
        elif form == 2:
            raws.append(f"+27 {local[:2]} {local[2:5]} {local[5:]}")
        else:
            raws.append(f"whoops{n}" if n % 8 == 3 else f"+1999{n:07d}")
        if n % 5 == 0:
            raws.append(f"+27{local}")  # a repeat after normalization, or of the exact string
    return raws + raws[:500]


def test_parallel_equals_serial_with_a_process_pool() -> None:
    raws = _big_batch()
    assert len(set(raws)) > PARALLEL_THRESHOLD
    serial = normalize_numbers(raws, "ZA", frozenset({"ZA"}))
    # spawn: workers share nothing with the test process, so this also proves picklability.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        counting = CountingExecutor(pool)
        parallel = normalize_numbers_parallel(raws, "ZA", frozenset({"ZA"}), counting, chunk_size=1_000)
    assert counting.maps == 1
    assert parallel == serial
    assert serial.duplicates > 0
    assert len(serial.invalid) > 0
    assert len(serial.valid) + len(serial.invalid) + serial.duplicates == len(raws)


def test_small_batches_stay_in_process() -> None:
    counting = CountingExecutor(ProcessPoolExecutor(1))
    try:
        result = normalize_numbers_parallel(["+27830000000"] * 10_000, executor=counting)
    finally:
        counting.inner.shutdown()
    # 10,000 inputs but one distinct string: nothing worth shipping to workers.
    assert counting.maps == 0
    assert result == NormalizedNumbers(["+27830000000"], [], 9_999)


def test_chunk_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        normalize_numbers_parallel(["+27830000000"], chunk_size=0)
