"""Resident IDs (GB 11643) and credit codes (GB 32100), checked against an independent oracle.

The oracle below computes the check characters a different way from the module (the
recursive ISO 7064 form; weights from pow()), so a shared mistake is unlikely.
"""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.model._identifiers import (
    credit_code_check_character,
    mask_identifier,
    parse_credit_code,
    parse_resident_id,
    resident_id_birth_date,
    resident_id_check_character,
)

TODAY = date(2026, 8, 31)
PROVINCES = [11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37]
PROVINCES += [41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82]
RESIDENT_ALPHABET = "0123456789X"
CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_FORBIDDEN = "IOSVZ"
DIGITS = "0123456789"

# A widely published sample ID and the standard's sample credit code.
SAMPLE_ID = "11010519491231002X"
SAMPLE_CODE = "91350100M000100Y43"


# --- the independent oracle ------------------------------------------------------------


def oracle_mod11_2(body: str) -> str:
    """ISO 7064 MOD 11-2, recursive form: p = ((p + d) * 2) mod 11, then (p + c) ≡ 1."""
    p = 0
    for char in body:
        p = ((p + int(char)) * 2) % 11
    check = (12 - p) % 11
    return "X" if check == 10 else str(check)


def oracle_gb32100(body: str) -> str:
    """Weighted sum with weights 3**i mod 31; the check value c makes (sum + c) ≡ 0 mod 31."""
    total = sum(CREDIT_ALPHABET.index(char) * pow(3, i, 31) for i, char in enumerate(body))
    return CREDIT_ALPHABET[-total % 31]


def resident_id(body: str) -> str:
    return body + oracle_mod11_2(body)


def credit_code(body: str) -> str:
    return body + oracle_gb32100(body)


@st.composite
def resident_ids(draw: st.DrawFn) -> str:
    province = draw(st.sampled_from(PROVINCES))
    area = draw(st.text(DIGITS, min_size=4, max_size=4))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
    sequence = draw(st.text(DIGITS, min_size=3, max_size=3))
    return resident_id(f"{province}{area}{born:%Y%m%d}{sequence}")


@st.composite
def credit_codes(draw: st.DrawFn) -> str:
    authority = draw(st.sampled_from("123456789ABCDEFGY"))
    kind = draw(st.sampled_from(CREDIT_ALPHABET))
    division = draw(st.text(DIGITS, min_size=6, max_size=6))
    organisation = draw(st.text(CREDIT_ALPHABET, min_size=9, max_size=9))
    return credit_code(authority + kind + division + organisation)


def rejected_resident(value: str) -> str:
    """Assert `value` is rejected without being echoed back; return the message."""
    with pytest.raises(ValueError, match="resident ID") as caught:
        parse_resident_id(value, today=TODAY)
    message = str(caught.value)
    if value.strip():
        assert value.strip()[:17] not in message
    return message


def rejected_credit(value: str) -> str:
    with pytest.raises(ValueError, match="credit code") as caught:
        parse_credit_code(value)
    message = str(caught.value)
    if value.strip():
        assert value.strip()[:17] not in message
    return message


def substitutions(value: str, alphabet: str) -> list[str]:
    return [
        value[:i] + other + value[i + 1 :]
        for i, char in enumerate(value)
        for other in alphabet
        if other != char
    ]


def adjacent_transpositions(value: str) -> list[str]:
    return [
        value[:i] + value[i + 1] + value[i] + value[i + 2 :]
        for i in range(len(value) - 1)
        if value[i] != value[i + 1]
    ]


# --- resident IDs: properties ----------------------------------------------------------


def test_oracle_agrees_with_the_published_sample() -> None:
    assert oracle_mod11_2(SAMPLE_ID[:17]) == "X"
    assert oracle_gb32100(SAMPLE_CODE[:17]) == "3"


@given(resident_ids())
def test_valid_ids_parse_and_round_trip(value: str) -> None:
    assert parse_resident_id(value, today=TODAY) == value
    assert resident_id_check_character(value[:17]) == value[17]
    assert resident_id_birth_date(value) == date(
        int(value[6:10]), int(value[10:12]), int(value[12:14])
    )


@given(resident_ids(), st.sampled_from(["", " ", "\t", "\n "]))
def test_lower_case_x_and_surrounding_whitespace_are_normalised(value: str, pad: str) -> None:
    written = pad + value[:17] + value[17].lower() + pad
    assert parse_resident_id(written, today=TODAY) == value


@settings(max_examples=500, deadline=None)
@given(resident_ids())
def test_every_single_character_substitution_is_rejected(value: str) -> None:
    # MOD 11-2 catches every single error: 11 is prime and no weight is 0 mod 11.
    for mutated in substitutions(value, RESIDENT_ALPHABET):
        rejected_resident(mutated)


@settings(max_examples=500, deadline=None)
@given(resident_ids())
def test_every_adjacent_transposition_is_rejected(value: str) -> None:
    # Swapping a, b at weights 2w, w changes the sum by (a - b) * w ≢ 0 mod 11; swapping
    # the last digit with the check character is caught too (c ≢ a mod 11 unless c == a).
    for mutated in adjacent_transpositions(value):
        rejected_resident(mutated)


# --- resident IDs: examples ------------------------------------------------------------


def test_the_published_sample_is_valid() -> None:
    assert parse_resident_id(SAMPLE_ID.lower(), today=TODAY) == SAMPLE_ID
    assert resident_id_birth_date(SAMPLE_ID) == date(1949, 12, 31)


def test_feb_29_only_in_leap_years() -> None:
    assert parse_resident_id(resident_id("44030420240229123"), today=TODAY)
    message = rejected_resident(resident_id("44030420230229123"))
    assert message == "resident ID birth date does not exist"


@pytest.mark.parametrize("birth", ["20261301", "20260100", "20260431", "00000101"])
def test_impossible_birth_dates(birth: str) -> None:
    message = rejected_resident(resident_id(f"440304{birth}123"))
    assert message == "resident ID birth date does not exist"


def test_birth_date_before_1900() -> None:
    assert parse_resident_id(resident_id("44030419000101123"), today=TODAY)
    message = rejected_resident(resident_id("44030418991231123"))
    assert message == "resident ID birth date is before 1900"


def test_birth_date_in_the_future() -> None:
    born_today = resident_id("44030420260831123")
    assert parse_resident_id(born_today, today=TODAY) == born_today
    message = rejected_resident(resident_id("44030420260901123"))
    assert message == "resident ID birth date is in the future"


def test_default_today_is_the_system_date() -> None:
    next_year = date.today().year + 1
    with pytest.raises(ValueError, match="in the future"):
        parse_resident_id(resident_id(f"440304{next_year}0101123"))


@pytest.mark.parametrize("province", ["00", "10", "16", "20", "47", "55", "66", "72", "83", "99"])
def test_unknown_province(province: str) -> None:
    message = rejected_resident(resident_id(f"{province}030419800101123"))
    assert message == "resident ID has an unknown province code"


def test_full_width_digits_are_rejected() -> None:
    full_width = SAMPLE_ID.translate(str.maketrans(DIGITS, "０１２３４５６７８９"))
    message = rejected_resident(full_width)
    assert message == "resident ID must start with 17 ASCII digits"
    one_full_width = "１" + SAMPLE_ID[1:]
    assert rejected_resident(one_full_width) == "resident ID must start with 17 ASCII digits"
    full_width_x = SAMPLE_ID[:17] + "Ｘ"
    assert rejected_resident(full_width_x) == "resident ID must end with a digit or X"


@pytest.mark.parametrize("value", [SAMPLE_ID[:17], SAMPLE_ID + "1", "", "X" * 40])
def test_wrong_length(value: str) -> None:
    assert rejected_resident(value) == "resident ID must be 18 characters"


def test_wrong_check_character() -> None:
    message = rejected_resident(SAMPLE_ID[:17] + "1")
    assert message == "resident ID check character does not match"


def test_not_a_string() -> None:
    with pytest.raises(ValueError, match="must be a string"):
        parse_resident_id(110105194912310020)  # type: ignore[arg-type]


@pytest.mark.parametrize("body", ["1101051949123100", "110105194912310021", "1101051949123100A"])
def test_check_character_needs_17_ascii_digits(body: str) -> None:
    with pytest.raises(ValueError, match="17 ASCII digits"):
        resident_id_check_character(body)


# --- credit codes ----------------------------------------------------------------------


@given(credit_codes())
def test_valid_codes_parse_and_round_trip(value: str) -> None:
    assert parse_credit_code(value) == value
    assert parse_credit_code(f"  {value.lower()}\n") == value
    assert credit_code_check_character(value[:17]) == value[17]


@settings(max_examples=300, deadline=None)
@given(credit_codes())
def test_every_single_character_substitution_of_a_code_is_rejected(value: str) -> None:
    # 31 is prime, no weight is 0 mod 31 and two alphabet values differ by less than 31,
    # so any change of one value changes the sum mod 31.
    for mutated in substitutions(value, CREDIT_ALPHABET + CREDIT_FORBIDDEN):
        rejected_credit(mutated)


@settings(max_examples=500, deadline=None)
@given(credit_codes())
def test_every_adjacent_transposition_of_a_code_is_rejected(value: str) -> None:
    # Within the body the weights go w, 3w: a swap changes the sum by 2w(b - a) ≢ 0 mod 31.
    # Swapping the last body character a (weight 28) with the check c changes
    # sum + check by 27(c - a) ≢ 0 mod 31. So every transposition is caught.
    for mutated in adjacent_transpositions(value):
        rejected_credit(mutated)


def test_the_standard_sample_code_is_valid() -> None:
    assert parse_credit_code(SAMPLE_CODE.lower()) == SAMPLE_CODE


@pytest.mark.parametrize("letter", list(CREDIT_FORBIDDEN))
def test_code_with_a_forbidden_letter(letter: str) -> None:
    message = rejected_credit(SAMPLE_CODE[:10] + letter + SAMPLE_CODE[11:])
    assert message == (
        "credit code contains a character outside the GB 32100 alphabet (no I, O, S, V, Z)"
    )


@pytest.mark.parametrize("value", [SAMPLE_CODE[:17], SAMPLE_CODE + "1", ""])
def test_code_of_wrong_length(value: str) -> None:
    assert rejected_credit(value) == "credit code must be 18 characters"


def test_code_with_unknown_registration_authority() -> None:
    message = rejected_credit(credit_code("H1350100M000100Y4"))
    assert message == "credit code has an unknown registration authority"


def test_code_with_letters_in_the_division_code() -> None:
    message = rejected_credit(credit_code("9135A100M000100Y4"))
    assert message == "credit code administrative division code must be 6 digits"


def test_code_with_wrong_check_character() -> None:
    message = rejected_credit(SAMPLE_CODE[:17] + "4")
    assert message == "credit code check character does not match"


def test_code_not_a_string() -> None:
    with pytest.raises(ValueError, match="must be a string"):
        parse_credit_code(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("body", [SAMPLE_CODE[:16], SAMPLE_CODE, "91350100M000100I4"])
def test_code_check_character_needs_17_alphabet_characters(body: str) -> None:
    with pytest.raises(ValueError, match="credit code body"):
        credit_code_check_character(body)


# --- masking ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("44030419800101123X", "4403**********123X"),
        (SAMPLE_CODE, "9135**********0Y43"),
        ("123456789", "1234*6789"),
        ("12345678", "******78"),
        ("123", "*23"),
        ("12", "**"),
        ("", ""),
    ],
)
def test_mask_identifier(value: str, masked: str) -> None:
    assert mask_identifier(value) == masked


@given(st.one_of(resident_ids(), credit_codes()))
def test_mask_keeps_length_and_hides_the_middle(value: str) -> None:
    masked = mask_identifier(value)
    assert len(masked) == len(value)
    assert masked[4:14] == "*" * 10
