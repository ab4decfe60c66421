"""The application a service hall submits, validated at the library's edge."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sized
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from verifier._errors import FieldViolation, InvalidApplication, bounded_violations
from verifier.model._free_text import refuse_identifiers
from verifier.model._identifiers import parse_credit_code, parse_resident_id

# C0/C1 controls, and the Unicode line/paragraph separators that split a log line in some
# readers: free text must never be able to forge a record boundary in a log. Also the
# bidirectional formatting characters (embeddings, overrides, isolates, marks), which can
# make a log line or an audit report display in an order other than the one stored.
_FORBIDDEN_TEXT = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def _clean_text(value: str) -> str:
    value = unicodedata.normalize("NFC", value).strip()
    if _FORBIDDEN_TEXT.search(value):
        raise ValueError("must not contain control characters or line separators")
    return value


def _text(max_length: int) -> Any:
    """Free text kept in the audit log: cleaned, bounded, and free of identifiers.

    The identifier scan comes after the length check, so its work is bounded by the field.
    """
    return Annotated[
        str,
        AfterValidator(_clean_text),
        StringConstraints(min_length=1, max_length=max_length),
        AfterValidator(refuse_identifiers),
    ]


Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
"""Lower-case snake_case names: service items, roles, parameters, facts."""
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]{0,63}")  # the same, for fullmatch

ParameterText = Annotated[str, AfterValidator(_clean_text), StringConstraints(max_length=256)]
ParameterValue = ParameterText | int | bool


class SubjectKind(StrEnum):
    NATURAL_PERSON = "natural_person"
    """Keyed by the 18-character resident ID (GB 11643)."""
    LEGAL_PERSON = "legal_person"
    """Keyed by the unified social credit code (GB 32100)."""


class ApplicationSubject(BaseModel):
    """A person or organisation named in the application, in a role the item defines."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Identifier
    # ``kind`` is declared before ``id`` so that the ID's validator can read it.
    kind: SubjectKind = SubjectKind.NATURAL_PERSON
    id: str = Field(max_length=18)

    @field_validator("id")
    @classmethod
    def _check_identifier(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("kind", SubjectKind.NATURAL_PERSON) is SubjectKind.LEGAL_PERSON:
            return parse_credit_code(value)
        return parse_resident_id(value)


class CallerIdentity(BaseModel):
    """The calling system (authenticated by the transport) on whose behalf we verify."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    system: _text(128)  # type: ignore[valid-type]
    department: _text(128) | None = None  # type: ignore[valid-type]


EMBEDDED_CALLER = CallerIdentity(system="embedded")
"""The caller recorded when the library is used in-process without naming one."""


MAX_SUBJECTS = 16
MAX_PARAMETERS = 32


def too_many(field: str, limit: int, given: int) -> FieldViolation:
    """A repeated field with more entries than allowed, refused before any entry is read."""
    return FieldViolation(field, f"at most {limit} allowed, {given:,} given")


class Application(BaseModel):
    """What the clerk's system asks: a service item, subjects in roles, and parameters."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    service_item: Identifier
    subjects: tuple[ApplicationSubject, ...] = Field(min_length=1, max_length=MAX_SUBJECTS)
    parameters: dict[Identifier, ParameterValue] = Field(
        default_factory=dict, max_length=MAX_PARAMETERS
    )
    reference_date: date | None = None
    """The date facts are established as of (e.g. the admission cut-off); today if omitted."""
    purpose: _text(200) | None = None  # type: ignore[valid-type]
    legal_basis: _text(500) | None = None  # type: ignore[valid-type]
    consent_reference: _text(128) | None = None  # type: ignore[valid-type]
    case_number: _text(64) | None = None  # type: ignore[valid-type]
    operator: _text(64) | None = None  # type: ignore[valid-type]
    """The clerk (window operator) acting for the caller."""

    @field_validator("subjects", "parameters", mode="before")
    @classmethod
    def _not_too_many(cls, value: Any, info: ValidationInfo) -> Any:
        # Before the entries are validated: pydantic checks ``max_length`` only after
        # validating every entry, thousands of them in a request under the size limit.
        limit = MAX_SUBJECTS if info.field_name == "subjects" else MAX_PARAMETERS
        if isinstance(value, Sized) and len(value) > limit:
            raise ValueError(too_many(str(info.field_name), limit, len(value)).description)
        return value

    def subject(self, role: str) -> ApplicationSubject | None:
        for entry in self.subjects:
            if entry.role == role:
                return entry
        return None


def parse_application(data: Mapping[str, Any]) -> Application:
    """Build an application from plain data, raising InvalidApplication naming each bad field."""
    try:
        return Application.model_validate(data)
    except ValidationError as exc:
        raise InvalidApplication(violations_from(exc)) from None


def violations_from(exc: ValidationError) -> list[FieldViolation]:
    """Translate pydantic's errors into field paths like ``subjects[1].id``.

    Only the message is kept, never the input value: it could be a full ID number. Nor is
    a parameter name that is not an identifier put in a path: it is input too. Bounded:
    the first ``MAX_REPORTED_VIOLATIONS`` distinct ones and a count of the rest.
    """
    errors = exc.errors(include_input=False, include_url=False)
    item_error_parents = {error["loc"][:-1] for error in errors if len(error["loc"]) > 1}
    item_error_parents |= {error["loc"][:-2] for error in errors if len(error["loc"]) > 2}
    violations: list[FieldViolation] = []
    for error in errors:
        if error["type"] == "too_short" and error["loc"] in item_error_parents:
            continue  # pydantic counts only the valid items: "at least 1" is not the problem
        message = str(error["msg"]).removeprefix("Value error, ")
        loc = error["loc"]
        if loc[:1] == ("parameters",) and len(loc) > 1:
            violation = _parameter_violation(loc, message)
        else:
            path = ""
            for part in loc:
                path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
            violation = FieldViolation(path or "application", message)
        if violation is not None:
            violations.append(violation)
    return bounded_violations(violations)


def _parameter_violation(loc: tuple[int | str, ...], message: str) -> FieldViolation | None:
    """``parameters.<name>``, one per parameter, whichever member of its union failed.

    pydantic locates an error in a value as (parameters, name, union member), one error
    per member; the member's name is an internal (it can even hold a memory address).
    """
    name = loc[1]
    if not isinstance(name, str) or _IDENTIFIER.fullmatch(name) is None:
        if loc[-1] != "[key]":
            return None  # the value under a bad name: the name's own error says enough
        return FieldViolation("parameters", f"a name is not a lower-case identifier: {message}")
    if len(loc) > 2 and loc[2] in ("int", "bool"):
        return None  # the string member's error comes first and is the one to read
    if message == "Input should be a valid string":
        message = "must be a string, an integer or a boolean"
    return FieldViolation(f"parameters.{name}", message)
