"""A verification's record encoded straight to canonical JSON is the model's, byte for byte.

``encode_verification`` skips the ``AuditRecord`` model; these tests hold it to the bytes
``canonical_json(audit_record_for(...).model_dump(mode="json"))`` gives for the same
arguments, whatever they hold, and show that a log written from encoded records verifies.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verifier import CallOutcome, DecisionOutcome, FactStatus, Truth, UnknownReason
from verifier.audit import (
    AuditRecord,
    AuditSink,
    ChainedAuditLog,
    Pseudonymiser,
    audit_record_for,
    encode_verification,
    read_audit_entries,
    verify_audit_log,
)
from verifier.audit._format import _RAW_BREAKS, canonical_json, escape_raw_breaks
from verifier.catalogue import Catalogue, FactDefinition, SharingClass
from verifier.cli import main
from verifier.model import (
    Application,
    ApplicationSubject,
    CallerIdentity,
    ClauseExplanation,
    Decision,
    DepartmentCall,
    FactResult,
    Provenance,
    ScoreComponent,
    VerificationResult,
)
from verifier.model._plain import (
    PlainCall,
    PlainClause,
    PlainComponent,
    PlainDecision,
    PlainFact,
    PlainProvenance,
    PlainResult,
)

PSEUDONYMS = Pseudonymiser(bytes(range(32)))
DEPARTMENTS = ("household", "social_insurance", "税务", "dept\u2028x")

# Any text at all, the line breaks JSON leaves raw and lone surrogates among it: the record
# holds the caller's own words (purpose, case number) and the catalogue's.
texts = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=12),
    st.sampled_from(["", "学校\u2028入学", "a\u0085b", "\u2029", "\ud800x", '"\\/\n\t', "é"]),
)
optional_texts = st.none() | texts
# What pydantic and the json module write in their own ways: whole numbers in float fields,
# non-finite ones, -0.0, many digits.
floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**6), 10**6),
    st.sampled_from([0.0, -0.0, 1e-7, 12.345, 1e22]),
)
times = st.one_of(
    st.datetimes(timezones=st.just(UTC)),
    st.datetimes(),
    st.datetimes(
        timezones=st.sampled_from(
            [timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30))]
        )
    ),
)


def _catalogue(fact_ids: list[str], draw: st.DrawFn) -> Catalogue:
    return Catalogue.model_construct(
        facts={
            fact_id: FactDefinition.model_construct(
                id=fact_id,
                sharing=draw(st.sampled_from(SharingClass)),
                replaces_document=draw(optional_texts),
            )
            for fact_id in fact_ids
        }
    )


def _fact(draw: st.DrawFn, fact_ids: list[str], departments: list[str]) -> FactResult:
    known = draw(st.booleans())
    return FactResult.model_construct(
        name=draw(texts),
        fact=draw(st.sampled_from(fact_ids)),
        subjects=draw(st.dictionaries(texts, texts, max_size=3)),
        status=FactStatus.KNOWN if known else FactStatus.UNKNOWN,
        value=draw(st.booleans() | st.integers(-(2**70), 2**70)) if known else None,
        reason=None if known else draw(st.sampled_from(UnknownReason)),
        provenance=Provenance.model_construct(
            department=draw(st.sampled_from(departments)),
            source_as_of=None,
            retrieved_at=datetime(2026, 8, 31, tzinfo=UTC),
            cached=draw(st.booleans()),
            stale=draw(st.booleans()),
            rule_version="school_place@2026.1",
        ),
    )


# A trace's scalars: the application's parameters (text, whole numbers, flags) and the
# dated thresholds (those and floats).
# Their names are identifiers where they come from (an item's parameters, dated parameter
# names): any text but lone surrogates, which pydantic writes differently as a key.
names = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
parameter_values = st.one_of(texts, st.integers(-(2**70), 2**70), st.booleans())
threshold_values = st.one_of(parameter_values, floats)
clauses = st.builds(
    ClauseExplanation.model_construct,
    clause=texts,
    label=texts,
    outcome=st.sampled_from(Truth),
    facts=st.lists(texts, max_size=3).map(tuple),
    threshold=optional_texts,
    depth=st.integers(0, 6),
)
components = st.builds(
    ScoreComponent.model_construct,
    component=texts,
    label=texts,
    points=st.none() | floats,
    facts=st.lists(texts, max_size=3).map(tuple),
    basis=optional_texts,
)


@st.composite
def verifications(draw: st.DrawFn) -> dict[str, Any]:
    """``audit_record_for``'s arguments, but the catalogue and pseudonymiser."""
    fact_ids = draw(st.lists(texts, min_size=1, max_size=4, unique=True))
    # A department may be called twice (the record keeps both calls).
    departments = draw(st.lists(st.sampled_from(DEPARTMENTS), min_size=1, max_size=5))
    calls = tuple(
        DepartmentCall.model_construct(
            department=department,
            outcome=draw(st.sampled_from(CallOutcome)),
            duration_ms=draw(floats),
            facts=(),
            attempts=draw(st.integers(0, 5)),
        )
        for department in departments
    )
    result = VerificationResult.model_construct(
        request_id=draw(texts),
        service_item=draw(texts),
        item_version=draw(texts),
        reference_date=draw(st.dates()),
        facts=tuple(_fact(draw, fact_ids, departments) for _ in range(draw(st.integers(0, 6)))),
        decision=Decision.model_construct(
            outcome=draw(st.sampled_from(DecisionOutcome)),
            explanation=tuple(draw(st.lists(clauses, max_size=3))),
            score=draw(st.none() | floats),
            score_components=tuple(draw(st.lists(components, max_size=2))),
        ),
        documents_not_required=(),
        department_calls=calls,
        duration_ms=draw(floats),
    )
    subjects = draw(
        st.lists(
            st.builds(
                ApplicationSubject.model_construct,
                role=texts,
                id=st.text("0123456789X", max_size=20),
            ),
            min_size=1,
            max_size=3,
        )
    )
    application = Application.model_construct(
        service_item=result.service_item,
        subjects=tuple(subjects),
        parameters=draw(st.dictionaries(names, parameter_values, max_size=3)),
        operator=draw(optional_texts),
        purpose=draw(optional_texts),
        legal_basis=draw(optional_texts),
        consent_reference=draw(optional_texts),
        case_number=draw(optional_texts),
    )
    return {
        "result": result,
        "application": application,
        "caller": CallerIdentity.model_construct(
            system=draw(texts), department=draw(optional_texts)
        ),
        "catalogue": _catalogue(fact_ids, draw),
        "time": draw(times),
        "trace_id": draw(st.none() | st.sampled_from(["0af7651916cd43dd8448eb211c80319c"])),
        "thresholds": draw(st.none() | st.dictionaries(names, threshold_values, max_size=3)),
    }


@given(st.text(st.characters(exclude_categories=())))  # surrogates too
def test_raw_line_breaks_and_lone_surrogates_are_escaped_as_the_pattern_finds_them(
    text: str,
) -> None:
    assert escape_raw_breaks(text) == _RAW_BREAKS.sub(
        lambda match: f"\\u{ord(match.group()):04x}", text
    )


def model_body(arguments: dict[str, Any]) -> str:
    record = audit_record_for(pseudonymiser=PSEUDONYMS, **arguments)
    return canonical_json(record.model_dump(mode="json"))


# A record with its trace is a large draw: on a busy machine generating one can take longer
# than hypothesis's health check allows, which says nothing about the property.
@given(verifications())
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_the_encoded_body_is_the_models_canonical_json(arguments: dict[str, Any]) -> None:
    encoded = encode_verification(pseudonymiser=PSEUDONYMS, **arguments)
    assert encoded.body == model_body(arguments)


@given(verifications())
@settings(max_examples=50, suppress_health_check=[HealthCheck.too_slow])
def test_plain_dataclasses_encode_as_the_public_models_do(arguments: dict[str, Any]) -> None:
    """The engine's internal result: slotted dataclasses with the models' attribute names."""
    plain = {**arguments, "result": _as_dataclasses(arguments["result"])}
    encoded = encode_verification(pseudonymiser=PSEUDONYMS, **plain)
    assert encoded.body == model_body(arguments)


@given(verifications())
@settings(max_examples=50, suppress_health_check=[HealthCheck.too_slow])
def test_the_encoded_record_carries_what_alerts_read(arguments: dict[str, Any]) -> None:
    encoded = encode_verification(pseudonymiser=PSEUDONYMS, **arguments)
    record = audit_record_for(pseudonymiser=PSEUDONYMS, **arguments)
    assert encoded.request_id == record.request_id
    assert encoded.caller_system == record.caller_system
    assert encoded.subject_pseudonyms == tuple(s.pseudonym for s in record.subjects)
    assert encoded.time == record.time


def _as_dataclasses(result: VerificationResult) -> PlainResult:
    """The engine's own result (``verifier.model._plain``) holding the same values."""

    def fields(model: Any, **changes: Any) -> dict[str, Any]:
        return {**{key: getattr(model, key) for key in type(model).model_fields}, **changes}

    facts = tuple(
        PlainFact(**fields(fact, provenance=PlainProvenance(**fields(fact.provenance))))
        for fact in result.facts
    )
    decision = result.decision
    plain_decision = PlainDecision(
        **fields(
            decision,
            explanation=tuple(PlainClause(**fields(line)) for line in decision.explanation),
            score_components=tuple(
                PlainComponent(**fields(component)) for component in decision.score_components
            ),
        )
    )
    return PlainResult(
        **fields(
            result,
            facts=facts,
            decision=plain_decision,
            department_calls=tuple(PlainCall(**fields(c)) for c in result.department_calls),
        )
    )


class ModelSink(AuditSink):
    """A sink that knows only records (as the seam's implementers before encoded ones)."""

    def __init__(self) -> None:
        self.records: list[Any] = []

    async def append(self, record: Any) -> None:
        self.records.append(record)


def test_a_sink_of_models_gets_the_model_of_an_encoded_record() -> None:
    arguments = _fixed_arguments()
    sink = ModelSink()
    asyncio.run(sink.append_encoded(encode_verification(pseudonymiser=PSEUDONYMS, **arguments)))
    assert sink.records == [audit_record_for(pseudonymiser=PSEUDONYMS, **arguments)]


def test_a_log_written_from_encoded_records_verifies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = Ed25519PrivateKey.generate()
    public = tmp_path / "auditor.pub.pem"
    public.write_bytes(
        key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    arguments = _fixed_arguments()
    encoded = [
        encode_verification(
            pseudonymiser=PSEUDONYMS,
            **{
                **arguments,
                "result": arguments["result"].model_copy(update={"request_id": f"r{n}"}),
            },
        )
        for n in range(7)
    ]

    async def write(fsync: bool) -> None:
        log = ChainedAuditLog(tmp_path / str(fsync), key, fsync=fsync, checkpoint_every=3)
        await asyncio.gather(*(log.append_encoded(record) for record in encoded))
        await log.aclose()

    for fsync in (True, False):
        asyncio.run(write(fsync))
        directory = tmp_path / str(fsync)
        assert verify_audit_log(directory, key.public_key()).ok
        assert (
            main(["audit", "verify", "--audit-dir", str(directory), "--public-key", str(public)])
            == 0
        )
        assert ": INTACT" in capsys.readouterr().out.splitlines()[0]
        records = [
            AuditRecord.model_validate(entry.body)
            for entry in read_audit_entries(directory)
            if entry.type == "record"
        ]
        expected = audit_record_for(pseudonymiser=PSEUDONYMS, **arguments)
        assert records == [expected.model_copy(update={"request_id": f"r{n}"}) for n in range(7)]


def _fixed_arguments() -> dict[str, Any]:
    """A valid verification (the models validated), as the engine records one."""
    call = DepartmentCall(
        department="household", outcome=CallOutcome.OK, duration_ms=3.5, facts=("x",), attempts=1
    )
    fact = FactResult(
        name="child_registered",
        fact="household_registered_in_district",
        subjects={"subject": "child"},
        status=FactStatus.UNKNOWN,
        reason=UnknownReason.DEADLINE_EXCEEDED,
        provenance=Provenance(
            department="household",
            source_as_of=None,
            retrieved_at=datetime(2026, 8, 31, tzinfo=UTC),
            stale=True,
            rule_version="school_place@2026.1",
        ),
    )
    result = VerificationResult(
        request_id="r",
        service_item="school_place",
        item_version="2026.1",
        reference_date=date(2026, 8, 31),
        facts=(fact,),
        decision=Decision(outcome=DecisionOutcome.NEEDS_REVIEW, explanation=()),
        documents_not_required=(),
        department_calls=(call,),
        duration_ms=12.25,
    )
    return {
        "result": result,
        "application": Application(
            service_item="school_place",
            subjects=(ApplicationSubject(role="child", id="44030520150101201X"),),
            purpose="入学",
        ),
        "caller": CallerIdentity(system="hall-01"),
        "catalogue": _catalogue_of("household_registered_in_district"),
        "time": datetime(2026, 8, 31, 9, 30, 0, 123, tzinfo=UTC),
        "trace_id": None,
    }


def _catalogue_of(fact_id: str) -> Catalogue:
    return Catalogue.model_construct(
        facts={
            fact_id: FactDefinition.model_construct(
                id=fact_id, sharing=SharingClass.CONDITIONAL, replaces_document="户口簿"
            )
        }
    )
