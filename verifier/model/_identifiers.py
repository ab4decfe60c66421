"""Resident IDs (GB 11643-1999) and unified social credit codes (GB 32100-2015).

Both identifiers are personal or business data: every error message names the broken
part of the value and never the value itself, so messages are safe to log, return to
callers and keep in audit records. Use `mask_identifier` when a value must be shown.
"""

from __future__ import annotations

from datetime import date

# Explicit ASCII set: str.isdigit() also accepts full-width and other Unicode digits,
# which int() would then quietly read as if they were ASCII.
_DIGITS = frozenset("0123456789")

# ISO 7064 MOD 11-2: position i (0-based, left to right) weighs 2**(17 - i) mod 11.
_RESIDENT_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
# Indexed by (weighted sum mod 11); 'X' stands for the check value 10.
_RESIDENT_CHECK = "10X98765432"

# GB/T 2260 province-level codes (the first two digits of the address code).
_PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44}
    | {45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82}
)
# GB 11643 IDs were first issued for people alive in the 1900s; earlier years are typos.
_EARLIEST_BIRTH_YEAR = 1900

# GB 32100 alphabet: digits and capitals without I, O, S, V, Z (easily misread).
_CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_VALUES = {char: value for value, char in enumerate(_CREDIT_ALPHABET)}
# Weights 3**i mod 31 for positions 1..17, as tabulated in the standard.
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# Registration authority (first character). Deliberately broad: new authorities have
# been assigned since 2015 and a too-strict list would reject genuine organisations.
_CREDIT_AUTHORITIES = frozenset("123456789ABCDEFGY")


def resident_id_check_character(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character ('0'-'9' or 'X') for the first 17 digits."""
    if len(first17) != 17 or not _DIGITS.issuperset(first17):
        raise ValueError("resident ID body must be 17 ASCII digits")
    total = sum(int(d) * w for d, w in zip(first17, _RESIDENT_WEIGHTS, strict=True))
    return _RESIDENT_CHECK[total % 11]


def parse_resident_id(value: str, *, today: date | None = None) -> str:
    """Validate and normalise (lower-case x → X); ValueError naming the broken part.

    Checks, in order: length 18; 17 ASCII digits then a digit or X; a province-level
    address code; a birth date that exists, is not before 1900 and not after `today`
    (default: the system date); the check character. The sequence number is free.
    """
    if not isinstance(value, str):
        # ValueError, not TypeError: pydantic turns only ValueError into a field error.
        raise ValueError("resident ID must be a string")
    candidate = value.strip()
    if len(candidate) != 18:
        raise ValueError("resident ID must be 18 characters")
    if candidate[17] == "x":
        candidate = candidate[:17] + "X"
    body, check = candidate[:17], candidate[17]
    if not _DIGITS.issuperset(body):
        raise ValueError("resident ID must start with 17 ASCII digits")
    if check not in _DIGITS and check != "X":
        raise ValueError("resident ID must end with a digit or X")
    if int(body[:2]) not in _PROVINCES:
        raise ValueError("resident ID has an unknown province code")
    try:
        born = resident_id_birth_date(candidate)
    except ValueError:
        raise ValueError("resident ID birth date does not exist") from None
    if born.year < _EARLIEST_BIRTH_YEAR:
        raise ValueError("resident ID birth date is before 1900")
    if born > (today if today is not None else date.today()):
        raise ValueError("resident ID birth date is in the future")
    if resident_id_check_character(body) != check:
        raise ValueError("resident ID check character does not match")
    return candidate


def resident_id_birth_date(resident_id: str) -> date:
    """The birth date (positions 7-14, YYYYMMDD) of an ID `parse_resident_id` accepted."""
    digits = resident_id[6:14]
    return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))


def credit_code_check_character(first17: str) -> str:
    """GB 32100 check character for the first 17 characters (MOD 31, weights 3**i)."""
    if len(first17) != 17:
        raise ValueError("credit code body must be 17 characters")
    if not all(char in _CREDIT_VALUES for char in first17):
        raise ValueError("credit code body contains a character outside the GB 32100 alphabet")
    total = sum(_CREDIT_VALUES[c] * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    # 31 - (sum mod 31), folded so that a remainder of 0 gives check value 0, not 31.
    return _CREDIT_ALPHABET[(31 - total % 31) % 31]


def parse_credit_code(value: str) -> str:
    """Validate and normalise (stripped, upper-case); ValueError naming the broken part."""
    if not isinstance(value, str):
        raise ValueError("credit code must be a string")
    candidate = value.strip().upper()
    if len(candidate) != 18:
        raise ValueError("credit code must be 18 characters")
    if not all(char in _CREDIT_VALUES for char in candidate):
        raise ValueError(
            "credit code contains a character outside the GB 32100 alphabet (no I, O, S, V, Z)"
        )
    if candidate[0] not in _CREDIT_AUTHORITIES:
        raise ValueError("credit code has an unknown registration authority")
    if not _DIGITS.issuperset(candidate[2:8]):
        raise ValueError("credit code administrative division code must be 6 digits")
    if credit_code_check_character(candidate[:17]) != candidate[17]:
        raise ValueError("credit code check character does not match")
    return candidate


def mask_identifier(value: str) -> str:
    """Show only the ends of an identifier, for logs and screens: '4403**********123X'.

    Values of up to 8 characters keep only their last 2; values of up to 2 characters
    are masked entirely, since "all but the last 2" would show them whole.
    """
    if len(value) <= 2:
        return "*" * len(value)
    if len(value) <= 8:
        return "*" * (len(value) - 2) + value[-2:]
    return value[:4] + "*" * (len(value) - 8) + value[-4:]
