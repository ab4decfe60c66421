"""Strategies for fuzzing the request path (importable as ``fuzz_support``).

A drawn request is a valid-looking VerifyRequest with zero or more *mutations*, each tagged
with what it must do to the outcome: ``INVALID`` (the request must be refused),
``VALID`` (harmless: the request must still be answered) or ``EITHER`` (depends on the
draw, e.g. a reference date that may precede the item's policy parameters). The property
checked is then exact: an invalid request is refused with field paths only, and reaches
no department; a valid one is answered.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, cast

import grpc
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]
from hypothesis import strategies as st
from support import ACCESS_FIELDS, FIRST_HOME_ACCESS, SCHOOL_PLACE_ACCESS, resident_id

from verifier._errors import FieldViolation
from verifier.audit import AlertRecord, AuditRecord, AuditSink
from verifier.model import credit_code_check_character
from verifier.service._generated.v1 import verification_pb2 as pb

FUZZ_DEPTHS = {"quick": (1_000, 1_000), "ci": (10_000, 10_000)}
"""Per ``VERIFIER_TEST_FUZZ_PROFILE``: (in-process fuzz examples, canary-run requests).
``quick`` (the default) keeps a local ``pytest`` fast; ``.ci/run`` selects ``ci``."""
FUZZ_PROFILE = os.environ.get("VERIFIER_TEST_FUZZ_PROFILE", "quick")
if FUZZ_PROFILE not in FUZZ_DEPTHS:
    raise ValueError(f"VERIFIER_TEST_FUZZ_PROFILE must be one of {sorted(FUZZ_DEPTHS)}")
FUZZ_EXAMPLES = int(os.environ.get("VERIFIER_TEST_FUZZ_EXAMPLES", FUZZ_DEPTHS[FUZZ_PROFILE][0]))
"""Examples of the in-process fuzz (a longer run: see docs/fuzzing.md)."""
CANARY_REQUESTS = int(os.environ.get("VERIFIER_TEST_CANARY_REQUESTS", FUZZ_DEPTHS[FUZZ_PROFILE][1]))
"""Requests of the canary run over the demo city."""

# Every field path a violation may name: paths of VerifyRequest, and nothing else.
KNOWN_PATH = re.compile(
    r"service_item|subjects|subjects\[\d{1,2}\]\.(role|id|kind)|parameters"
    r"|parameters\.[a-z][a-z0-9_]{0,63}|reference_date|purpose|legal_basis"
    r"|consent_reference|case_number|operator|caller|caller\.(system|department)"
    r"|application|subjects\[\d{1,2}\]"
)
# An ID number's shape (resident ID or credit code) anywhere in a message.
ID_SHAPED = re.compile(r"[0-9]{17}[0-9Xx]|[0-9A-HJ-NP-RTUWXY]{2}[0-9]{6}[0-9A-HJ-NP-RTUWXY]{10}")
# Characters no violation may carry (a path or message must not split a log line).
LINE_BREAKING = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

FREE_TEXT_LIMITS = {
    "purpose": 200,
    "legal_basis": 500,
    "consent_reference": 128,
    "case_number": 64,
    "operator": 64,
}
ACCESS_TEXT = ("legal_basis", "consent_reference")
"""Free text the catalogue's sharing rules require (verifier/access): a request that states
none is refused with PERMISSION_DENIED, not by field, so generated ones are never empty."""
CALLER_LIMIT = 128
PARAMETER_TEXT_LIMIT = 256
MAX_SUBJECTS = 16
ITEMS = ("school_place", "first_home_purchase", "no_such_item")
ROLES = ("guardian", "child", "buyer", "spouse", "applicant")

ADVERSARIAL_CHARS = (
    "\x00",
    "\n",
    "\r",
    "\t",
    "\x1b",
    "\x7f",
    "\x85",
    "\u2028",
    "\u2029",
    "\u202e",
    "\u2066",
    "\u200f",
)
FULL_WIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


class Expect(Enum):
    INVALID = "invalid"
    VALID = "valid"
    EITHER = "either"


@dataclass
class Drawn:
    """A request and what its mutations demand of the outcome.

    Each mutation is keyed by the field it changed: a later one of the same field replaces
    the earlier's demand (30 February, then no date at all, is a valid request).
    """

    request: pb.VerifyRequest
    demands: dict[str, tuple[str, Expect]] = field(default_factory=dict)

    def mutate(self, name: str, expect: Expect, key: str | None = None) -> None:
        self.demands[key or f"#{len(self.demands)}"] = (name, expect)

    def relax(self, prefix: str) -> None:
        """Demands on fields under ``prefix`` become EITHER (e.g. their subject is gone)."""
        for key, (name, expect) in list(self.demands.items()):
            if key.startswith(prefix) and expect is not Expect.EITHER:
                self.demands[key] = (f"{name} (relaxed)", Expect.EITHER)

    def forget(self, key: str) -> None:
        self.demands.pop(key, None)

    @property
    def mutations(self) -> list[tuple[str, Expect]]:
        return list(self.demands.values())

    @property
    def expect(self) -> Expect:
        kinds = {expect for _, expect in self.demands.values()}
        if Expect.INVALID in kinds:
            return Expect.INVALID
        if Expect.EITHER in kinds:
            return Expect.EITHER
        return Expect.VALID

    def subject_ids(self) -> set[str]:
        return {subject.id.strip() for subject in self.request.subjects if subject.id.strip()}


class MemoryAuditSink(AuditSink):
    """Keeps records in memory: the fuzz is about the request path, not the disk."""

    def __init__(self) -> None:
        self.entries: list[AuditRecord | AlertRecord] = []

    async def append(self, record: AuditRecord | AlertRecord) -> None:
        self.entries.append(record)


def _id_like(value: str) -> bool:
    return len(value) >= 12 and sum(char.isdigit() for char in value) >= 6


def check_violations(
    violations: Iterable[FieldViolation], ids: set[str], context: object = None
) -> None:
    """Every violation names a known field path and echoes no ID and no line break."""
    found = list(violations)
    assert found, context
    for violation in found:
        assert KNOWN_PATH.fullmatch(violation.field), (violation, context)
        text = f"{violation.field} {violation.description}"
        assert not LINE_BREAKING.search(text), (violation, context)
        assert not ID_SHAPED.search(text), (violation, context)
        # (ID-like values only: a short or wordy random "ID" can be part of a path.)
        echoed = [subject for subject in ids if _id_like(subject) and subject in text]
        assert not echoed, (violation, context)


def bad_request_of(error: grpc.aio.AioRpcError) -> dict[str, str]:
    """The google.rpc.BadRequest of an INVALID_ARGUMENT, as field → description."""
    violations: dict[str, str] = {}
    metadata = cast(Iterable[tuple[str, bytes]], error.trailing_metadata() or ())
    for key, value in metadata:
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            assert status.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
            for detail in status.details:
                bad_request = error_details_pb2.BadRequest()
                assert detail.Unpack(bad_request)
                violations.update({v.field: v.description for v in bad_request.field_violations})
    assert violations, error
    return violations


def school_place_request() -> pb.VerifyRequest:
    """A school-place request the mock departments make ELIGIBLE."""
    return pb.VerifyRequest(
        service_item="school_place",
        subjects=[
            pb.Subject(role="guardian", id=resident_id("44030519850312201")),
            pb.Subject(role="child", id=resident_id("44030520170605102")),
        ],
        parameters={"district": pb.ParameterValue(string_value="440305")},
        reference_date=pb.Date(year=2026, month=8, day=31),
        caller=pb.Caller(system="test-service-hall"),
        **SCHOOL_PLACE_ACCESS,
    )


# ---- valid parts ------------------------------------------------------------------------

birth_dates = st.tuples(st.integers(1950, 2019), st.integers(1, 12), st.integers(1, 28)).map(
    lambda ymd: f"{ymd[0]:04d}{ymd[1]:02d}{ymd[2]:02d}"
)
resident_ids = st.builds(
    lambda area, born, sequence: resident_id(f"{area}{born}{sequence:03d}"),
    st.sampled_from(["440305", "440304", "110101", "310115", "510107"]),
    birth_dates,
    st.integers(0, 999),
)
credit_codes = st.builds(
    lambda body: body + credit_code_check_character(body),
    st.builds(
        lambda head, division, rest: f"{head}{division}{rest}",
        st.sampled_from(["91", "92", "12", "Y1"]),
        st.sampled_from(["440305", "110101"]),
        st.text("0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=9, max_size=9),
    ),
)
plain_text = st.text(
    st.characters(codec="utf-8", categories=["L", "N", "Zs", "P", "S"]), min_size=1, max_size=40
).filter(lambda text: text.strip() != "")


@st.composite
def valid_requests(draw: st.DrawFn) -> Drawn:
    """A request the mock departments answer: school place or first home purchase."""
    if draw(st.booleans()):
        subjects = [
            pb.Subject(role="guardian", id=draw(resident_ids)),
            pb.Subject(role="child", id=draw(resident_ids)),
        ]
        request = pb.VerifyRequest(
            service_item="school_place",
            subjects=subjects,
            parameters={"district": pb.ParameterValue(string_value="440305")},
        )
    else:
        subjects = [pb.Subject(role="buyer", id=draw(resident_ids))]
        if draw(st.booleans()):
            subjects.append(
                pb.Subject(
                    role="spouse", id=draw(resident_ids), kind=pb.SUBJECT_KIND_NATURAL_PERSON
                )
            )
        request = pb.VerifyRequest(service_item="first_home_purchase", subjects=subjects)
    request.reference_date.CopyFrom(pb.Date(year=2026, month=8, day=31))
    request.caller.system = draw(st.sampled_from(["hall-01", "service-hall", "税务窗口"]))
    if draw(st.booleans()):
        request.caller.department = "education"
    if draw(st.booleans()):
        request.purpose = draw(plain_text)
    # What the catalogue requires of the item's conditional facts: a legal basis, and for
    # first_home_purchase the buyer's consent.
    access = ACCESS_FIELDS[request.service_item]
    request.legal_basis = access["legal_basis"]
    if "consent_reference" in access:
        request.consent_reference = access["consent_reference"]
    return Drawn(request)


# ---- mutations --------------------------------------------------------------------------

Mutation = Callable[[st.DrawFn, Drawn], None]


def _one_char_changed(draw: st.DrawFn, value: str) -> str:
    if not value:
        return "0"
    position = draw(st.integers(0, len(value) - 1))
    replacement = draw(st.sampled_from("0123456789X"))
    if replacement == value[position]:
        replacement = "1" if value[position] == "0" else "0"
    return value[:position] + replacement + value[position + 1 :]


def _mutate_subject_id(draw: st.DrawFn, drawn: Drawn) -> str | None:
    """Mutates one ID; returns its key if it had been mutated before."""
    subjects = drawn.request.subjects
    if not subjects:
        return None
    index = draw(st.integers(0, len(subjects) - 1))
    original = subjects[index].id
    key = f"subjects[{index}].id"
    again = key in drawn.demands  # changes compound: two can restore the check character
    choice = draw(st.integers(0, 11))
    if choice == 0:
        subjects[index].id = _one_char_changed(draw, original)
        # A changed digit can keep the ID valid only with a wrong check character; the
        # checksum catches every single substitution, so this is always invalid.
        drawn.mutate("id: one character changed", Expect.INVALID, key)
    elif choice == 1:
        subjects[index].id = original.translate(FULL_WIDTH_DIGITS)
        drawn.mutate("id: full-width digits", Expect.INVALID, key)
    elif choice == 2:
        subjects[index].id = original[:-1]
        drawn.mutate("id: too short", Expect.INVALID, key)
    elif choice == 3:
        subjects[index].id = original + draw(st.sampled_from("0X "))
        drawn.mutate("id: too long", Expect.INVALID, key)  # 19 characters, even with a space
    elif choice == 4:
        subjects[index].id = ""
        drawn.mutate("id: empty", Expect.INVALID, key)
    elif choice == 5:
        subjects[index].id = original[:9] + draw(st.sampled_from(ADVERSARIAL_CHARS)) + original[10:]
        drawn.mutate("id: control character", Expect.INVALID, key)
    elif choice == 6:
        subjects[index].id = draw(credit_codes)
        drawn.mutate("id: a credit code for a person", Expect.INVALID, key)
    elif choice == 7:
        subjects[index].id = original[:6] + "20990101" + original[14:]
        drawn.mutate("id: birth date in the future", Expect.INVALID, key)
    elif choice == 8:
        subjects[index].id = original[:10] + "0230" + original[14:]
        drawn.mutate("id: birth date 30 February", Expect.INVALID, key)
    elif choice == 9:
        subjects[index].id = draw(st.text(max_size=40))
        drawn.mutate("id: random text", Expect.EITHER, key)
    elif choice == 10:
        subjects[index].id = original.lower() if original.endswith("X") else original
        drawn.mutate("id: lower-case check character", Expect.VALID, key)
    else:
        subjects[index].id = "1" * draw(st.sampled_from([17, 19, 100, 5000]))
        drawn.mutate("id: a run of digits", Expect.INVALID, key)
    return key if again else None


def mutate_subject_id(draw: st.DrawFn, drawn: Drawn) -> None:
    again = _mutate_subject_id(draw, drawn)
    if again is not None:
        drawn.relax(again)


def mutate_subjects(draw: st.DrawFn, drawn: Drawn) -> None:
    subjects = drawn.request.subjects
    if not subjects:
        return
    choice = draw(st.integers(0, 7))
    if choice == 0:
        del subjects[:]
        drawn.mutate("subjects: none", Expect.INVALID)
    elif choice == 1:
        subjects.append(pb.Subject(role=subjects[0].role, id=subjects[0].id))
        drawn.mutate("subjects: duplicate role", Expect.INVALID, f"subjects[{len(subjects) - 1}]")
    elif choice == 2:
        subjects.append(pb.Subject(role=draw(identifiers), id=draw(resident_ids)))
        drawn.mutate("subjects: unknown role", Expect.EITHER)  # may draw "spouse"
    elif choice == 3:
        subjects[0].role = draw(st.sampled_from(["", "Guardian", "guardian ", "买方", "a-b", "9x"]))
        drawn.mutate("subjects: malformed role", Expect.INVALID, "subjects[0].role")
    elif choice == 4:
        kinds = [pb.SUBJECT_KIND_LEGAL_PERSON, 7, -1, 1000]  # numbers: unknown on the wire
        subjects[0].kind = cast("pb.SubjectKind", draw(st.sampled_from(kinds)))
        drawn.mutate("subjects: wrong or unknown kind", Expect.INVALID, "subjects[0].kind")
    elif choice == 5:
        count = draw(st.integers(MAX_SUBJECTS + 1, 40))
        subjects.extend(pb.Subject(role=f"r{i}", id=subjects[0].id) for i in range(count))
        drawn.mutate("subjects: too many", Expect.INVALID)
    elif choice == 6:
        del subjects[-1]
        drawn.relax(f"subjects[{len(subjects)}]")
        # first home purchase: dropping the spouse is fine, dropping the buyer is not.
        drawn.mutate("subjects: one dropped", Expect.EITHER)
    else:
        subjects[0].role = subjects[0].id
        drawn.mutate("subjects: the ID in the role field", Expect.INVALID, "subjects[0].role")


identifiers = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True)
weird_keys = st.one_of(
    st.text(max_size=70),
    st.sampled_from(["", "District", "district ", "distr\nict", "ｄｉｓｔｒｉｃｔ", "a" * 65]),
    resident_ids,
)


def _parameter_value(draw: st.DrawFn) -> tuple[pb.ParameterValue, bool]:
    """A value of any type and whether it is well-formed as a string parameter."""
    which = draw(st.integers(0, 5))
    if which == 0:
        return pb.ParameterValue(int_value=draw(st.integers(-(2**63), 2**63 - 1))), False
    if which == 1:
        return pb.ParameterValue(bool_value=draw(st.booleans())), False
    if which == 2:
        return pb.ParameterValue(), False  # no value in the oneof
    if which == 3:
        text = "x" * draw(st.sampled_from([255, 256, 257, 10_000]))
        return pb.ParameterValue(string_value=text), len(text) <= PARAMETER_TEXT_LIMIT
    if which == 4:
        text = draw(plain_text) + draw(st.sampled_from(ADVERSARIAL_CHARS)) + "x"
        return pb.ParameterValue(string_value=text), False
    return pb.ParameterValue(string_value=draw(st.text(max_size=30))), False


def mutate_parameters(draw: st.DrawFn, drawn: Drawn) -> None:
    parameters = drawn.request.parameters
    school = drawn.request.service_item == "school_place"
    choice = draw(st.integers(0, 6))
    if choice == 0:
        value, _ = _parameter_value(draw)
        parameters[draw(identifiers.filter(lambda name: name != "district"))].CopyFrom(value)
        drawn.mutate("parameters: unknown name", Expect.INVALID)
    elif choice == 1:
        value, _ = _parameter_value(draw)
        parameters[draw(weird_keys)].CopyFrom(value)
        drawn.mutate("parameters: malformed name", Expect.INVALID)
    elif choice == 2 and school:
        value, _ = _parameter_value(draw)
        parameters["district"].CopyFrom(value)
        key = "parameters.district"
        six_digits = value.WhichOneof("value") == "string_value" and re.fullmatch(
            r"\s*\d{6}\s*", value.string_value
        )
        expect = Expect.EITHER if six_digits else Expect.INVALID
        drawn.mutate("parameters: district of another type or shape", expect, key)
    elif choice == 3 and school:
        key = "parameters.district"
        code = draw(st.sampled_from(["440305", "440304", "110101"]))
        parameters["district"].string_value = code.translate(
            draw(st.sampled_from([FULL_WIDTH_DIGITS, ARABIC_INDIC_DIGITS]))
        )
        # Patterns are ASCII-only: Unicode digits are not a district code.
        drawn.mutate("parameters: district in non-ASCII digits", Expect.INVALID, key)
    elif choice == 4 and school:
        parameters.pop("district", None)
        drawn.mutate("parameters: required one missing", Expect.INVALID, "parameters.district")
    elif choice == 5 and school:
        parameters["district"].string_value = " 440305 "
        drawn.mutate("parameters: district with spaces", Expect.VALID, "parameters.district")
    else:
        name = draw(identifiers)
        parameters[name].int_value = draw(st.integers(-(2**63), 2**63 - 1))
        expect = Expect.INVALID if name != "district" or not school else Expect.EITHER
        drawn.mutate("parameters: extra integer", expect, f"parameters.{name}")


def _near_limit(draw: st.DrawFn, limit: int) -> tuple[str, Expect]:
    size = draw(st.sampled_from([limit - 1, limit, limit + 1, 4 * limit]))
    char = draw(st.sampled_from(["a", "中", "é", "😀"]))
    return char * size, Expect.VALID if size <= limit else Expect.INVALID


def _adversarial_text(draw: st.DrawFn, *, required: bool = False) -> tuple[str, Expect]:
    """``required``: never empty (proto3's "not given"), which would leave a valid request
    without a field the access check requires."""
    choice = draw(st.integers(0, 4))
    if choice == 0:
        inner = draw(st.sampled_from(ADVERSARIAL_CHARS))
        return f"{draw(plain_text)}{inner}{draw(plain_text)}", Expect.INVALID
    if choice == 1:
        return draw(st.sampled_from([" ", "\t", "\n", "  \r\n "])), Expect.INVALID
    if choice == 2:
        return f"  {draw(plain_text)}\n", Expect.VALID  # stripped
    if choice == 3:
        # Free text is kept verbatim in the audit log: an ID in it is refused, bare or
        # inside other text (verifier/model/_free_text.py).
        around = draw(st.sampled_from(["{}", "身份证{}号", "note {} 2026"]))
        return around.format(draw(resident_ids)), Expect.INVALID
    return draw(st.text(min_size=int(required), max_size=60)), Expect.EITHER


def mutate_free_text(draw: st.DrawFn, drawn: Drawn) -> None:
    name = draw(st.sampled_from(sorted(FREE_TEXT_LIMITS)))
    if draw(st.booleans()):
        text, expect = _near_limit(draw, FREE_TEXT_LIMITS[name])
    else:
        text, expect = _adversarial_text(draw, required=name in ACCESS_TEXT)
    setattr(drawn.request, name, text)
    drawn.mutate(f"{name}: {expect.value} text", expect, name)


def mutate_caller(draw: st.DrawFn, drawn: Drawn) -> None:
    caller = drawn.request.caller
    choice = draw(st.integers(0, 3))
    if choice == 0:
        caller.system = ""
        drawn.mutate("caller: no system", Expect.INVALID, "caller.system")
    elif choice == 1:
        drawn.request.ClearField("caller")
        drawn.forget("caller.department")
        drawn.mutate("caller: absent", Expect.INVALID, "caller.system")
    else:
        text, expect = _near_limit(draw, CALLER_LIMIT) if choice == 2 else _adversarial_text(draw)
        name = draw(st.sampled_from(["system", "department"]))
        setattr(caller, name, text)
        drawn.mutate(f"caller: {expect.value} text", expect, f"caller.{name}")


def mutate_reference_date(draw: st.DrawFn, drawn: Drawn) -> None:
    choice = draw(st.integers(0, 4))
    day = drawn.request.reference_date
    if choice == 0:
        day.CopyFrom(pb.Date(year=draw(st.integers(1, 9999)), month=2, day=30))
        drawn.mutate("reference_date: 30 February", Expect.INVALID, "reference_date")
    elif choice == 1:
        day.CopyFrom(
            pb.Date(
                year=draw(st.sampled_from([0, -1, 10_000, 2**31 - 1, -(2**31)])),
                month=draw(st.integers(-1, 13)),
                day=draw(st.integers(-1, 32)),
            )
        )
        drawn.mutate("reference_date: out of range", Expect.INVALID, "reference_date")
    elif choice == 2:
        day.CopyFrom(pb.Date(year=draw(st.integers(1, 1999)), month=1, day=1))
        drawn.mutate(
            "reference_date: far past", Expect.INVALID, "reference_date"
        )  # precedes the policy
    elif choice == 3:
        day.CopyFrom(pb.Date(year=draw(st.integers(2100, 9999)), month=12, day=31))
        drawn.mutate("reference_date: far future", Expect.EITHER, "reference_date")
    else:
        drawn.request.ClearField("reference_date")
        drawn.mutate("reference_date: absent (today)", Expect.VALID, "reference_date")


def mutate_service_item(draw: st.DrawFn, drawn: Drawn) -> None:
    choice = draw(st.integers(0, 2))
    if choice == 0:
        drawn.request.service_item = draw(
            identifiers.filter(lambda name: name not in ("school_place", "first_home_purchase"))
        )
        drawn.mutate("service_item: unknown", Expect.INVALID, "service_item")
    elif choice == 1:
        drawn.request.service_item = draw(
            st.sampled_from(["", "School_Place", "school place", "school_place\n", "x" * 65])
        )
        drawn.mutate("service_item: malformed", Expect.INVALID, "service_item")
    else:
        other = {"school_place": "first_home_purchase", "first_home_purchase": "school_place"}
        drawn.request.service_item = other.get(drawn.request.service_item, "school_place")
        if drawn.request.service_item == "first_home_purchase":
            # The buyer's consent, as a valid first-home request carries (unless set already).
            drawn.request.consent_reference = (
                drawn.request.consent_reference or FIRST_HOME_ACCESS["consent_reference"]
            )
        drawn.mutate("service_item: another item", Expect.EITHER, "service_item")


def mutate_unknown_field(draw: st.DrawFn, drawn: Drawn) -> None:
    """A field this API does not define (a varint), in the request or a message inside."""
    number = draw(st.sampled_from([11, 12, 99, 1000, 2**29 - 1]))
    varint = number << 3
    tag = bytearray()
    while True:
        byte, varint = varint & 0x7F, varint >> 7
        tag.append(byte | (0x80 if varint else 0))
        if not varint:
            break
    request = drawn.request
    targets: list[Any] = [request, request.caller]
    targets.extend(request.subjects)
    if request.HasField("reference_date"):
        targets.append(request.reference_date)
    targets.extend(request.parameters[name] for name in sorted(request.parameters))
    draw(st.sampled_from(targets)).MergeFromString(bytes(tag) + b"\x01")
    drawn.mutate("unknown field", Expect.INVALID)


MUTATIONS: tuple[Mutation, ...] = (
    mutate_subject_id,
    mutate_subjects,
    mutate_parameters,
    mutate_free_text,
    mutate_caller,
    mutate_reference_date,
    mutate_service_item,
)


@st.composite
def fuzzed_requests(draw: st.DrawFn) -> Drawn:
    """A valid request with 0-3 mutations, and in one draw of ten an unknown field."""
    drawn = draw(valid_requests())
    for mutation in draw(st.lists(st.sampled_from(MUTATIONS), max_size=3)):
        mutation(draw, drawn)
    if draw(st.integers(0, 9)) == 0:
        # Last: a later mutation could replace the message holding the unknown field.
        mutate_unknown_field(draw, drawn)
    return drawn


@st.composite
def random_requests(draw: st.DrawFn) -> Drawn:
    """A VerifyRequest of random field values, nearly always invalid (EITHER, to be safe)."""
    request = pb.VerifyRequest(
        service_item=draw(st.one_of(st.text(max_size=70), st.sampled_from(ITEMS))),
        subjects=[
            pb.Subject(
                role=draw(st.one_of(st.text(max_size=10), st.sampled_from(ROLES))),
                id=draw(st.one_of(st.text(max_size=20), resident_ids, credit_codes)),
                kind=cast("pb.SubjectKind", draw(st.integers(-3, 4))),
            )
            for _ in range(draw(st.sampled_from([0, 1, 2, 3, MAX_SUBJECTS + 1])))
        ],
        purpose=draw(st.text(max_size=30)),
        # Never empty: the rare random request that is valid must not lack what the access
        # check requires (it would be refused with PERMISSION_DENIED, not by field).
        legal_basis=draw(st.text(min_size=1, max_size=30)),
        consent_reference=draw(st.text(min_size=1, max_size=30)),
        operator=draw(st.text(max_size=30)),
        caller=pb.Caller(system=draw(st.text(max_size=10)), department=draw(st.text(max_size=5))),
    )
    for _ in range(draw(st.integers(0, 3))):
        value, _ = _parameter_value(draw)
        request.parameters[draw(st.one_of(identifiers, weird_keys))].CopyFrom(value)
    if draw(st.booleans()):
        request.reference_date.CopyFrom(
            pb.Date(
                year=draw(st.integers(-5, 10_001)),
                month=draw(st.integers(-1, 14)),
                day=draw(st.integers(-1, 32)),
            )
        )
    drawn = Drawn(request)
    drawn.mutate("random", Expect.EITHER)
    return drawn


# Mostly mutated valid requests (their outcome is known); a quarter of random ones.
requests = st.one_of(fuzzed_requests(), fuzzed_requests(), fuzzed_requests(), random_requests())
