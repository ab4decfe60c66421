"""A verification's audit record written straight to its canonical JSON, with no model.

``encode_verification`` gives the same bytes as
``canonical_json(audit_record_for(...).model_dump(mode="json"))`` (a property test holds it
to that), at a fraction of the cost: the engine pays it once per answer. Each value is
encoded as ``canonical_json`` encodes it (strings by the json module's own escaper, numbers
by their ``repr``, times by pydantic's own serialiser), the keys are written in sorted
order, and the Unicode line breaks are escaped over the whole text, as ``canonical_json``
does.

Its inputs are typed by the attributes it reads, so the engine's internal result (plain
dataclasses with the public models' attribute names) encodes as the public models do.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from json.encoder import encode_basestring
from typing import Protocol

from pydantic_core import to_jsonable_python

from verifier.audit._format import escape_raw_breaks
from verifier.audit._pseudonym import Pseudonymiser
from verifier.catalogue import Catalogue
from verifier.model import mask_identifier


class ProvenanceFields(Protocol):
    @property
    def department(self) -> str: ...
    @property
    def cached(self) -> bool: ...
    @property
    def stale(self) -> bool: ...


class FactFields(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def fact(self) -> str: ...
    @property
    def subjects(self) -> Mapping[str, str]: ...
    @property
    def status(self) -> str: ...
    @property
    def value(self) -> bool | int | None: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def provenance(self) -> ProvenanceFields: ...


class CallFields(Protocol):
    @property
    def department(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def duration_ms(self) -> float: ...
    @property
    def attempts(self) -> int: ...


class ClauseFields(Protocol):
    @property
    def clause(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def facts(self) -> Sequence[str]: ...
    @property
    def threshold(self) -> str | None: ...
    @property
    def depth(self) -> int: ...


class ComponentFields(Protocol):
    @property
    def component(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def points(self) -> float | None: ...
    @property
    def facts(self) -> Sequence[str]: ...
    @property
    def basis(self) -> str | None: ...


class DecisionFields(Protocol):
    @property
    def outcome(self) -> str: ...
    @property
    def score(self) -> float | None: ...
    @property
    def explanation(self) -> Sequence[ClauseFields]: ...
    @property
    def score_components(self) -> Sequence[ComponentFields]: ...


class ResultFields(Protocol):
    """What the record takes from a ``VerificationResult``."""

    @property
    def request_id(self) -> str: ...
    @property
    def service_item(self) -> str: ...
    @property
    def item_version(self) -> str: ...
    @property
    def reference_date(self) -> date: ...
    @property
    def facts(self) -> Sequence[FactFields]: ...
    @property
    def decision(self) -> DecisionFields: ...
    @property
    def department_calls(self) -> Sequence[CallFields]: ...
    @property
    def duration_ms(self) -> float: ...


class SubjectFields(Protocol):
    @property
    def role(self) -> str: ...
    @property
    def id(self) -> str: ...


class ApplicationFields(Protocol):
    """What the record takes from an ``Application``."""

    @property
    def subjects(self) -> Sequence[SubjectFields]: ...
    @property
    def parameters(self) -> Mapping[str, str | int | bool]: ...
    @property
    def operator(self) -> str | None: ...
    @property
    def purpose(self) -> str | None: ...
    @property
    def legal_basis(self) -> str | None: ...
    @property
    def consent_reference(self) -> str | None: ...
    @property
    def case_number(self) -> str | None: ...


class CallerFields(Protocol):
    @property
    def system(self) -> str: ...
    @property
    def department(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class EncodedRecord:
    """A verification's audit record as the log keeps it (``body``: its canonical JSON),
    with what the engine still reads once it is written (alerts, logs)."""

    body: str
    request_id: str
    caller_system: str
    subject_pseudonyms: tuple[str, ...]
    time: datetime


def encode_verification(
    result: ResultFields,
    application: ApplicationFields,
    caller: CallerFields,
    catalogue: Catalogue,
    pseudonymiser: Pseudonymiser,
    time: datetime,
    trace_id: str | None = None,
    thresholds: Mapping[str, bool | int | float | str] | None = None,
) -> EncodedRecord:
    """The record ``audit_record_for`` would build from the same arguments, encoded."""
    encoded_calls = [(call.department, _EncodedCall(call)) for call in result.department_calls]
    calls = dict(encoded_calls)  # as audit_record_for: a department's last call, if several
    facts = ",".join(_fact(fact, catalogue, calls) for fact in result.facts)
    department_calls = ",".join(call.json for _, call in encoded_calls)
    pseudonyms = tuple(pseudonymiser.pseudonym(subject.id) for subject in application.subjects)
    subjects = ",".join(
        f'{{"masked":{_text(mask_identifier(subject.id))},"pseudonym":"{pseudonym}",'
        f'"role":{_text(subject.role)}}}'
        for subject, pseudonym in zip(application.subjects, pseudonyms, strict=True)
    )
    decision = result.decision
    body = (
        f'{{"caller_department":{_optional(caller.department)},'
        f'"caller_system":{_text(caller.system)},'
        f'"case_number":{_optional(application.case_number)},'
        f'"consent_reference":{_optional(application.consent_reference)},'
        f'"decision":{_text(decision.outcome)},'
        f'"department_calls":[{department_calls}],'
        f'"duration_ms":{_float(result.duration_ms)},'
        f'"facts":[{facts}],'
        f'"item_version":{_text(result.item_version)},'
        f'"kind":"verification",'
        f'"legal_basis":{_optional(application.legal_basis)},'
        f'"operator":{_optional(application.operator)},'
        f'"pseudonym_key_fingerprint":{_optional(pseudonymiser.fingerprint)},'
        f'"purpose":{_optional(application.purpose)},'
        f'"reference_date":{_text(to_jsonable_python(result.reference_date))},'
        f'"request_id":{_text(result.request_id)},'
        f'"score":{"null" if decision.score is None else _float(decision.score)},'
        f'"service_item":{_text(result.service_item)},'
        f'"subjects":[{subjects}],'
        f'"time":{_text(to_jsonable_python(time))},'
        f'"trace":{_trace(result, application, thresholds or {})},'
        f'"trace_id":{_optional(trace_id)}}}'
    )
    return EncodedRecord(
        escape_raw_breaks(body), result.request_id, caller.system, pseudonyms, time
    )


class _EncodedCall:
    """A department call's fields, encoded once for the call and each of its facts."""

    __slots__ = ("attempts", "department", "json", "latency_ms")

    def __init__(self, call: CallFields) -> None:
        self.attempts = repr(int(call.attempts))
        self.department = _text(call.department)
        self.latency_ms = _float(call.duration_ms)
        self.json = (
            f'{{"attempts":{self.attempts},"department":{self.department},'
            f'"duration_ms":{self.latency_ms},"outcome":{_text(call.outcome)}}}'
        )


def _fact(fact: FactFields, catalogue: Catalogue, calls: Mapping[str, _EncodedCall]) -> str:
    provenance = fact.provenance
    call = calls[provenance.department]
    definition = catalogue.facts[fact.fact]
    # What the fact's use and its catalogue entry fix is encoded once per distinct use
    # (a caseload repeats the same few dozen): keyed by the values themselves, so a
    # different catalogue or department can never be given another's text.
    key = (
        fact.name,
        fact.fact,
        call.department,
        tuple(fact.subjects.values()),
        definition.replaces_document,
        definition.sharing,
    )
    fixed = _FIXED_PARTS.get(key)
    if fixed is None:
        fixed = _fixed_parts(key)
    department_and_fact, name, document_to_sharing = fixed
    return (
        f'{{"attempts":{call.attempts},'
        f'"cached":{_bool(provenance.cached)}'
        f"{department_and_fact}{call.latency_ms}"
        f"{name}{_optional(fact.reason)}"
        f"{document_to_sharing}{_bool(provenance.stale)},"
        f'"status":{_text(fact.status)},'
        f'"value":{_value(fact.value)}}}'
    )


def _trace(
    result: ResultFields,
    application: ApplicationFields,
    thresholds: Mapping[str, bool | int | float | str],
) -> str:
    """``DecisionTrace`` as ``canonical_json`` writes it."""
    decision = result.decision
    clauses = ",".join(_clause(line) for line in decision.explanation)
    components = ",".join(_component(c) for c in decision.score_components)
    rule_version = f"{result.service_item}@{result.item_version}"
    return (
        f'{{"clauses":[{clauses}],'
        f'"parameters":{_scalars(application.parameters)},'
        f'"rule_version":{_text(rule_version)},'
        f'"score_components":[{components}],'
        f'"thresholds":{_scalars(thresholds)}}}'
    )


def _clause(line: ClauseFields) -> str:
    # Only the outcome differs between two evaluations of one compiled clause: the rest is
    # encoded once per (item, date) and reused (it is most of a trace's cost).
    key = (line.clause, line.depth, tuple(line.facts), line.label, line.threshold)
    around = _CLAUSES.get(key)
    if around is None:
        if len(_CLAUSES) >= MAX_CACHED_CLAUSES:
            _CLAUSES.clear()
        around = _CLAUSES[key] = (
            f'{{"clause":{_text(line.clause)},'
            f'"depth":{int(line.depth)!r},'
            f'"facts":[{",".join(_text(name) for name in line.facts)}],'
            f'"label":{_text(line.label)},'
            f'"outcome":',
            f',"threshold":{_optional(line.threshold)}}}',
        )
    return f"{around[0]}{_text(line.outcome)}{around[1]}"


MAX_CACHED_CLAUSES = 4096
"""Clauses kept encoded: every labelled clause of every item on a few dates, many times over
(the cache starts afresh when full)."""
_CLAUSES: dict[tuple[str, int, tuple[str, ...], str, str | None], tuple[str, str]] = {}


def _component(component: ComponentFields) -> str:
    points = component.points
    return (
        f'{{"basis":{_optional(component.basis)},'
        f'"component":{_text(component.component)},'
        f'"facts":[{",".join(_text(name) for name in component.facts)}],'
        f'"label":{_text(component.label)},'
        f'"points":{"null" if points is None else _float(points)}}}'
    )


def _scalars(values: Mapping[str, bool | int | float | str]) -> str:
    """A mapping of names to flags, numbers or text, keys sorted as ``canonical_json``."""
    return "{" + ",".join(f"{_text(key)}:{_scalar(values[key])}" for key in sorted(values)) + "}"


def _scalar(value: bool | int | float | str) -> str:
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, float):
        return _float(value)
    return _value(value)


_FixedKey = tuple[str, str, str, tuple[str, ...], str | None, str]
_FIXED_PARTS: dict[_FixedKey, tuple[str, str, str]] = {}
MAX_FIXED_PARTS = 4096
"""Distinct fact uses whose fixed text is kept: far more than the items define."""


def _fixed_parts(key: _FixedKey) -> tuple[str, str, str]:
    name, fact, department, subject_roles, document, sharing = key
    roles = ",".join(_text(role) for role in dict.fromkeys(subject_roles))
    parts = (
        f',"department":{department},"fact":{_text(fact)},"latency_ms":',
        f',"name":{_text(name)},"reason":',
        f',"replaces_document":{_optional(document)},"roles":[{roles}],'
        f'"sharing":{_text(sharing)},"stale":',
    )
    if len(_FIXED_PARTS) >= MAX_FIXED_PARTS:
        _FIXED_PARTS.clear()
    _FIXED_PARTS[key] = parts
    return parts


_text = encode_basestring
"""A string as ``canonical_json`` writes it (``ensure_ascii=False``); its raw line breaks
are escaped with the whole body's."""


def _optional(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _value(value: bool | int | None) -> str:
    if value is None:
        return "null"
    if value is True or value is False:
        return _bool(value)
    return repr(int(value))


def _float(value: float) -> str:
    """A float field as the json module writes it (pydantic makes an int field's value a
    float first; the json module spells the non-finite ones as JavaScript does)."""
    number = float(value)
    if math.isfinite(number):
        return repr(number)
    return "NaN" if number != number else "Infinity" if number > 0 else "-Infinity"
