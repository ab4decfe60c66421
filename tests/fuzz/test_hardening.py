"""The input-hardening fixes the fuzzing led to, one example each."""

from __future__ import annotations

import pytest
from fuzz_support import school_place_request

from verifier import InvalidApplication, parse_application
from verifier._errors import FieldViolation
from verifier.service._convert import verify_request_from_proto
from verifier.service._generated.v1 import verification_pb2 as pb

GUARDIAN = "440305198503122014"


def refused(data: dict[str, object]) -> list[FieldViolation]:
    with pytest.raises(InvalidApplication) as raised:
        parse_application(data)
    return list(raised.value.violations)


def application(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "service_item": "school_place",
        "subjects": [{"role": "guardian", "id": "44030519850312201X"}],
    }
    data.update(changes)
    return data


@pytest.mark.parametrize("mark", ["\u202e", "\u202a", "\u2066", "\u2069", "\u200f", "\u061c"])
def test_bidirectional_formatting_characters_are_refused_in_free_text(mark: str) -> None:
    violations = refused(application(purpose=f"admission{mark}noissimda"))
    assert FieldViolation("purpose", "must not contain control characters or line separators") in (
        violations
    )


def test_a_bad_parameter_value_is_one_violation_named_by_the_parameter() -> None:
    # pydantic reports one error per member of str | int | bool, located by internal names
    # (one holds a memory address); the caller sees one violation on parameters.<name>.
    for value, description in [
        ("44\x000305", "must not contain control characters or line separators"),
        ("x" * 257, "Value should have at most 256 items after validation, not 257"),
        (1.5, "must be a string, an integer or a boolean"),
    ]:
        violations = refused(application(parameters={"district": value}))
        assert [v for v in violations if v.field.startswith("parameters")] == [
            FieldViolation("parameters.district", description)
        ]


@pytest.mark.parametrize("name", [GUARDIAN, "Bad\nName", "ｄｉｓｔｒｉｃｔ", "a" * 65])
def test_a_malformed_parameter_name_is_never_echoed(name: str) -> None:
    violations = refused(application(parameters={name: "x\x00"}))
    named = [v for v in violations if v.field.startswith("parameters")]
    assert [v.field for v in named] == ["parameters"]
    assert name not in repr(violations)

    request = school_place_request()
    request.parameters[name].string_value = "x"
    request.parameters[name + "2"].CopyFrom(pb.ParameterValue())  # no value at all
    with pytest.raises(InvalidApplication) as raised:
        verify_request_from_proto(request)
    assert [v.field for v in raised.value.violations] == ["parameters"]
    assert name not in repr(raised.value.violations)


def test_unknown_fields_are_refused_by_where_they_are() -> None:
    unknown = b"\x98\x06\x01"  # field 99, varint 1
    request = school_place_request()
    request.MergeFromString(unknown)
    request.subjects[1].MergeFromString(unknown)
    request.caller.MergeFromString(unknown)
    request.reference_date.MergeFromString(unknown)
    request.parameters["district"].MergeFromString(unknown)
    with pytest.raises(InvalidApplication) as raised:
        verify_request_from_proto(request)
    assert {v.field for v in raised.value.violations} == {
        "application",
        "subjects[1]",
        "caller",
        "reference_date",
        "parameters.district",
    }
    assert {v.description for v in raised.value.violations} == {"unknown field number(s) 99"}
