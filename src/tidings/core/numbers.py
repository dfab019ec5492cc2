"""Phone numbers to E.164 with libphonenumber, fast enough for 100,000 recipients per request.

Reason codes: ``not_a_number``, ``invalid_country_code``, ``too_short``, ``too_long``,
``invalid_number``, ``missing_country``, ``country_not_allowed`` (see :class:`Reason`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from enum import StrEnum
from itertools import repeat
from typing import NamedTuple

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumber, ValidationResult


class Reason(StrEnum):
    """Why an input is not a usable number; the values are the documented reason codes."""

    # Empty, no digits, or characters other than digits, spaces, dashes, dots, parentheses and
    # a leading "+" (letters included).
    NOT_A_NUMBER = "not_a_number"
    INVALID_COUNTRY_CODE = "invalid_country_code"  # no calling code after "+" or "00"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    INVALID_NUMBER = "invalid_number"  # the right shape, but not valid per libphonenumber metadata
    MISSING_COUNTRY = "missing_country"  # a national number and no default country
    COUNTRY_NOT_ALLOWED = "country_not_allowed"  # valid, but outside the allow-list


@dataclass(frozen=True, slots=True)
class InvalidNumber:
    """One rejected input, as given, with its reason code."""

    input: str
    reason: str


class InvalidNumberError(ValueError):
    """Raised by the single-number functions; ``reason`` is one of the reason codes."""

    def __init__(self, input: str, reason: str) -> None:
        super().__init__(f"{input!r} is not a usable number: {reason}")
        self.input = input
        self.reason = reason


@dataclass(slots=True)
class NormalizedNumbers:
    """A batch sorted out: ``len(valid) + len(invalid) + duplicates == len(inputs)``.

    Every invalid input is listed, repeats included; only repeats of a valid number are counted
    in ``duplicates`` (after normalization, so ``0830000000`` in ZA repeats ``+27830000000``).
    """

    valid: list[str]
    invalid: list[InvalidNumber]
    duplicates: int


# An input longer than this is not a phone number; libphonenumber refuses past 250 characters.
_MAX_INPUT_LENGTH = 250
# What people put between digits. Anything else (letters included: libphonenumber would read
# "1-800-FLOWERS" as a vanity number, which a messaging API should not guess at) is refused.
_DROP_SEPARATORS = str.maketrans(dict.fromkeys(" \t\u00a0-\u2010\u2011\u2012\u2013\u2014.()"))
_CLEAN_NUMBER = re.compile(r"\+?[0-9]+")  # [0-9], not \d: \d also matches other scripts' digits

_PARSE_ERROR_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: Reason.INVALID_COUNTRY_CODE,
    # Only cleaned "+digits" reach parse, which then says NOT_A_NUMBER for fewer than two digits.
    NumberParseException.NOT_A_NUMBER: Reason.TOO_SHORT,
    NumberParseException.TOO_SHORT_AFTER_IDD: Reason.TOO_SHORT,
    NumberParseException.TOO_SHORT_NSN: Reason.TOO_SHORT,
    NumberParseException.TOO_LONG: Reason.TOO_LONG,
}
_LENGTH_REASONS = {
    ValidationResult.TOO_SHORT: Reason.TOO_SHORT,
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: Reason.TOO_SHORT,  # lacks the area code
    ValidationResult.TOO_LONG: Reason.TOO_LONG,
    ValidationResult.INVALID_COUNTRY_CODE: Reason.INVALID_COUNTRY_CODE,
}

# --- The canonical E.164 fast path -------------------------------------------------------------
#
# Why hand-written: most API clients already send canonical E.164 ("+27830000000"), and for those
# phonenumbers.parse (~22 µs) does far more than needed: RFC 3966 handling, extension stripping,
# IDD detection, punctuation normalization. Building the PhoneNumber directly and going straight
# to is_valid_number (~11 µs) halves the cost of a 100,000-recipient request. It mirrors what
# parse(raw, None) does for such input (phonenumberutil.parse and _maybe_extract_country_code in
# https://github.com/daviddrysdale/python-phonenumbers) and steps aside, to the full parse, where
# libphonenumber would strip a national prefix; a property test proves the two agree.

_CALLING_CODES = {str(code): code for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE}
_national_prefixes: dict[int, re.Pattern[str] | None] = {}


def _national_prefix_pattern(country_code: int) -> re.Pattern[str] | None:
    # Looked up lazily: loading the metadata of all ~250 regions at import would cost memory and
    # start-up time in every worker for countries a deployment never sees.
    try:
        return _national_prefixes[country_code]
    except KeyError:
        pass
    region = phonenumbers.region_code_for_country_code(country_code)
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    source = metadata.national_prefix_for_parsing if metadata is not None else None
    pattern = re.compile(source) if source else None
    _national_prefixes[country_code] = pattern
    return pattern


def _is_canonical(raw: str) -> bool:
    return 8 <= len(raw) <= 16 and raw[0] == "+" and raw.isascii() and raw[1:].isdigit()


def parse_canonical(raw: str) -> PhoneNumber | None:
    """The PhoneNumber ``phonenumbers.parse(raw, None)`` builds for canonical E.164 ``raw``.

    ``raw`` must be ``+`` and 7-15 ASCII digits. Returns None where only the full parse can tell:
    no known country calling code, or a national prefix libphonenumber might strip (``+44 0…``).
    """
    digits = raw[1:]
    # Country calling codes are prefix-free (ITU-T E.164), so the first match is the only one.
    for size in (1, 2, 3):
        country_code = _CALLING_CODES.get(digits[:size])
        if country_code is not None:
            break
    else:
        return None
    national = digits[size:]
    pattern = _national_prefix_pattern(country_code)
    if pattern is not None:
        match = pattern.match(national)
        # Argentina's pattern can match the empty string; an empty match with no group taken
        # leaves the number untouched in _maybe_strip_national_prefix_carrier_code.
        if match is not None and (match.end() or any(g is not None for g in match.groups())):
            return None
    number = PhoneNumber(country_code=country_code, national_number=int(national))
    # As _set_italian_leading_zeros_for_phone_number: the int drops leading zeros, which are
    # significant in some plans (Italian landlines, +39 06…), so their count is kept aside.
    if len(national) > 1 and national[0] == "0":
        number.italian_leading_zero = True
        zeros = 1
        while zeros < len(national) - 1 and national[zeros] == "0":
            zeros += 1
        if zeros != 1:
            number.number_of_leading_zeros = zeros
    return number


# --- One number ----------------------------------------------------------------------------------


def known_region(code: str) -> bool:
    """Whether ``code`` is an ISO 3166 region phonenumbers knows (``ZA``, ``US``, ...)."""
    return code in phonenumbers.SUPPORTED_REGIONS


def _check_country(default_country: str | None) -> str | None:
    if default_country is None:
        return None
    region = default_country.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        # A configuration or request error, not a property of any one number.
        raise ValueError(f"unknown default country {default_country!r}")
    return region


def _check_allowed(allowed_countries: frozenset[str] | None) -> frozenset[str] | None:
    if allowed_countries is None:
        return None
    return frozenset(region.upper() for region in allowed_countries)


def _outcome(raw: str, region: str | None, allowed: frozenset[str] | None) -> str:
    """E.164 for a usable number, else its reason code (which never starts with ``+``)."""
    number: PhoneNumber | None = None
    if _is_canonical(raw):
        cleaned = raw
        number = parse_canonical(raw)
    else:
        if len(raw) > _MAX_INPUT_LENGTH:
            return Reason.TOO_LONG
        cleaned = raw.strip().translate(_DROP_SEPARATORS)
        if _CLEAN_NUMBER.fullmatch(cleaned) is None:
            return Reason.NOT_A_NUMBER
        if cleaned.startswith("00"):
            # "00" is the international prefix of most of the world; libphonenumber only reads it
            # so with a default country whose IDD it is (not in the US, where it is 011).
            cleaned = "+" + cleaned[2:]
        if _is_canonical(cleaned):
            number = parse_canonical(cleaned)
    if number is None:
        if cleaned[0] != "+" and region is None:
            return Reason.MISSING_COUNTRY
        try:
            number = phonenumbers.parse(cleaned, region)
        except NumberParseException as exc:
            return _PARSE_ERROR_REASONS.get(exc.error_type, Reason.INVALID_NUMBER)
    if not phonenumbers.is_valid_number(number):
        length = phonenumbers.is_possible_number_with_reason(number)
        return _LENGTH_REASONS.get(length, Reason.INVALID_NUMBER)
    if allowed is not None and phonenumbers.region_code_for_number(number) not in allowed:
        return Reason.COUNTRY_NOT_ALLOWED
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_number(
    raw: str, default_country: str | None = None, allowed_countries: frozenset[str] | None = None
) -> str:
    """``raw`` in E.164 (``+27830000000``), or :class:`InvalidNumberError` with the reason.

    National numbers are read with ``default_country`` (ISO 3166 alpha-2, any case); a leading
    ``00`` is always the international prefix. ``allowed_countries`` (None: all) holds the region
    codes a number may belong to; non-geographic numbers (+800…) have region ``001``.
    """
    outcome = _outcome(raw, _check_country(default_country), _check_allowed(allowed_countries))
    if outcome[0] != "+":
        raise InvalidNumberError(raw, outcome)
    return outcome


def region_of(e164: str) -> str:
    """Region code (``ZA``, or ``001`` for non-geographic) of a number from normalize_number."""
    number = parse_canonical(e164) if _is_canonical(e164) else None
    if number is None:
        try:
            number = phonenumbers.parse(e164, None)
        except NumberParseException as exc:
            raise InvalidNumberError(e164, Reason.NOT_A_NUMBER) from exc
    region = phonenumbers.region_code_for_number(number)
    if region is None or not phonenumbers.is_valid_number(number):
        raise InvalidNumberError(e164, Reason.INVALID_NUMBER)
    return region


# --- Batches -------------------------------------------------------------------------------------

# Below this many distinct inputs, shipping them to worker processes costs more than it saves.
PARALLEL_THRESHOLD = 5_000
DEFAULT_CHUNK_SIZE = 5_000


class Outcomes(NamedTuple):
    """Per distinct input: its canonical form if usable, else its reason code."""

    canonical: dict[str, str]
    reasons: dict[str, str]


def _normalize_chunk(raws: Sequence[str], region: str | None, allowed: frozenset[str] | None) -> list[str]:
    # Runs in a worker process, so top-level and returning plain strings: they pickle compactly.
    return [_outcome(raw, region, allowed) for raw in raws]


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def classify_numbers(
    distinct_raws: Sequence[str],
    default_country: str | None = None,
    allowed_countries: frozenset[str] | None = None,
    executor: Executor | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Outcomes:
    """Normalize distinct inputs, in ``executor`` when there are enough to be worth it.

    The building block of :func:`normalize_numbers_parallel` and of address batches.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be positive")
    region = _check_country(default_country)
    allowed = _check_allowed(allowed_countries)
    if executor is None or len(distinct_raws) < PARALLEL_THRESHOLD:
        results = _normalize_chunk(distinct_raws, region, allowed)
    else:
        # Executor.map yields the chunks in submission order, so results line up with inputs.
        chunks = list(_chunks(distinct_raws, chunk_size))
        mapped = executor.map(_normalize_chunk, chunks, repeat(region), repeat(allowed))
        results = [outcome for chunk in mapped for outcome in chunk]
    outcomes = Outcomes({}, {})
    for raw, outcome in zip(distinct_raws, results, strict=True):
        if outcome[0] == "+":
            outcomes.canonical[raw] = outcome
        else:
            outcomes.reasons[raw] = outcome
    return outcomes


def tally(raws: Sequence[str], canonical: Mapping[str, str], reasons: Mapping[str, str]) -> NormalizedNumbers:
    """Assemble a batch result in input order from per-distinct-input outcomes."""
    valid: list[str] = []
    invalid: list[InvalidNumber] = []
    seen: set[str] = set()
    for raw in raws:
        form = canonical.get(raw)
        if form is None:
            invalid.append(InvalidNumber(raw, reasons[raw]))
        elif form not in seen:
            seen.add(form)
            valid.append(form)
    return NormalizedNumbers(valid, invalid, len(raws) - len(valid) - len(invalid))


def normalize_numbers(
    raws: Sequence[str],
    default_country: str | None = None,
    allowed_countries: frozenset[str] | None = None,
) -> NormalizedNumbers:
    """Normalize a batch: usable numbers deduplicated in first-seen order, rejects in order."""
    return normalize_numbers_parallel(raws, default_country, allowed_countries, None)


def normalize_numbers_parallel(
    raws: Sequence[str],
    default_country: str | None = None,
    allowed_countries: frozenset[str] | None = None,
    executor: Executor | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> NormalizedNumbers:
    """As :func:`normalize_numbers`, spreading the work over ``executor`` for large batches.

    Give a ProcessPoolExecutor (threads gain nothing: the work holds the GIL). This blocks until
    done, so call it from a thread when on an event loop. Results equal the serial ones exactly.
    """
    # Repeated strings are normalized once: dict keys keep first-seen order.
    distinct = list(dict.fromkeys(raws))
    outcomes = classify_numbers(distinct, default_country, allowed_countries, executor, chunk_size)
    return tally(raws, outcomes.canonical, outcomes.reasons)
