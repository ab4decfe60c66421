"""Free text carries no identifiers: a valid resident ID or credit code in it is refused.

Every free-text field of an application (and of its caller) is kept verbatim in the audit
log; the refusal must name the field and never echo the identifier.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import ValidationError

from verifier import InvalidApplication, parse_application
from verifier.model import (
    Application,
    CallerIdentity,
    parse_credit_code,
    resident_id_check_character,
    violations_from,
)
from verifier.model._free_text import refuse_identifiers

SAMPLE_ID = "11010519491231002X"  # a widely published sample, check character X
OTHER_ID = "440305198503122015"  # check character a digit
SAMPLE_CODE = "91350100M000100Y43"  # the standard's sample credit code

FREE_TEXT_FIELDS = ("purpose", "legal_basis", "consent_reference", "case_number", "operator")
CALLER_TEXT_FIELDS = ("system", "department")


def application(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "service_item": "school_place",
        "subjects": [{"role": "guardian", "id": OTHER_ID}],
        "purpose": "compulsory_education_admission",
        "legal_basis": "《义务教育法》第十二条",
        "case_number": "2026-0001234",
        "operator": "clerk-0042",
        "consent_reference": "AUTH-HOUSE-2026-000001",
    }
    data.update(changes)
    return data


def refusal_of(data: dict[str, Any]) -> InvalidApplication:
    with pytest.raises(InvalidApplication) as raised:
        parse_application(data)
    return raised.value


def scanned_fields(model: type[Application] | type[CallerIdentity]) -> set[str]:
    """The fields whose type (or whose optional type's member) runs the identifier scan."""
    found = set()
    for name, info in model.model_fields.items():
        members = [info, *getattr(info.annotation, "__args__", ())]
        metadata = [
            m
            for member in members
            for m in getattr(member, "metadata", None) or getattr(member, "__metadata__", ())
        ]
        if any(getattr(m, "func", None) is refuse_identifiers for m in metadata):
            found.add(name)
    return found


def test_the_field_lists_here_are_every_free_text_field() -> None:
    """A free-text field added later is scanned (it uses ``_text``) and tested here."""
    assert scanned_fields(Application) == set(FREE_TEXT_FIELDS)
    assert scanned_fields(CallerIdentity) == set(CALLER_TEXT_FIELDS)


@pytest.mark.parametrize("field", FREE_TEXT_FIELDS)
@pytest.mark.parametrize(
    "text",
    [
        SAMPLE_ID,
        SAMPLE_ID.lower(),  # lower-case check character x
        OTHER_ID,
        f"申请人身份证号{SAMPLE_ID}，已核对原件",
        f"经办：王某（{OTHER_ID}）",
        "110105 19491231 002X",  # written in groups
        "１１０１０５１９４９１２３１００２Ｘ",  # full-width, as a Chinese input method types it
        f"note{SAMPLE_ID}99",  # glued to other characters
    ],
    ids=[
        "bare",
        "lower-x",
        "digit-check",
        "in-chinese",
        "in-brackets",
        "grouped",
        "full-width",
        "glued",
    ],
)
def test_a_resident_id_in_any_free_text_field_is_refused_without_echo(
    field: str, text: str
) -> None:
    error = refusal_of(application(**{field: text}))
    assert [(v.field, v.description) for v in error.violations] == [
        (
            field,
            "contains what looks like a resident ID number; "
            "free text must not carry personal identifiers",
        )
    ]
    message = str(error)
    assert f"{field}: contains what looks like a resident ID number" in message
    for identifier in (SAMPLE_ID, OTHER_ID, SAMPLE_ID[:17], OTHER_ID[:17], "110105", "19491231"):
        assert identifier not in message


@pytest.mark.parametrize("field", FREE_TEXT_FIELDS)
@pytest.mark.parametrize(
    "text",
    [SAMPLE_CODE, SAMPLE_CODE.lower(), f"统一社会信用代码：{SAMPLE_CODE}。"],
    ids=["bare", "lower-case", "in-chinese"],
)
def test_a_credit_code_in_any_free_text_field_is_refused_without_echo(
    field: str, text: str
) -> None:
    error = refusal_of(application(**{field: text}))
    [violation] = error.violations
    assert violation.field == field
    assert violation.description.startswith("contains what looks like a unified social credit")
    assert SAMPLE_CODE not in str(error)
    assert SAMPLE_CODE.lower() not in str(error)


@pytest.mark.parametrize("field", CALLER_TEXT_FIELDS)
def test_the_callers_names_are_scanned_too(field: str) -> None:
    caller = {"system": "school-portal", "department": "education", field: f"x{SAMPLE_ID}"}
    with pytest.raises(ValidationError) as raised:
        CallerIdentity.model_validate(caller)
    [violation] = violations_from(raised.value)
    assert violation.field == field
    assert violation.description.startswith("contains what looks like a resident ID number")
    assert SAMPLE_ID not in violation.description


@pytest.mark.parametrize("field", FREE_TEXT_FIELDS)
@pytest.mark.parametrize(
    "text",
    [
        "2026-0001234",  # a case number
        "110105194912310020",  # 18 digits, wrong check character (nor a credit code)
        "11010519491231002",  # 17 digits
        "AUTH-HOUSE-2026-000001",
        "《不动产登记暂行条例》第二十七条",
        "电话 138-0013-8000，2026年8月31日前",
        "91350100M000100Y44",  # the sample credit code with a wrong check character
    ],
)
def test_text_without_a_valid_identifier_is_kept_as_typed(field: str, text: str) -> None:
    parsed = parse_application(application(**{field: text}))
    assert getattr(parsed, field) == text


@given(
    body=st.text("0123456789", min_size=15, max_size=15),
    wrong=st.sampled_from("0123456789X"),
    before=st.text("第条款项号（）：， ", max_size=6),
)
def test_eighteen_digits_failing_the_checksum_are_never_refused(
    body: str, wrong: str, before: str
) -> None:
    first17 = "11" + body  # a valid province, so only the checksum (or date) can fail
    assume(wrong != resident_id_check_character(first17))
    candidate = first17 + wrong
    try:
        parse_credit_code(candidate)
    except ValueError:
        pass
    else:
        assume(False)  # the same 18 characters happen to be a valid credit code
    assert refuse_identifiers(before + candidate) == before + candidate
