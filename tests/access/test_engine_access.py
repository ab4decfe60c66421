"""Access control in the engine: caller rights, refusals audited before the answer, no
department and no cache consulted for a refused request."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from support import TEST_PSEUDONYM_KEY, mock_departments, resident_id

from verifier import AccessDenied, AuditUnavailable, MockAdapter, Verifier, parse_application
from verifier.access import ALL_ITEMS, AccessPolicy, CallerGrant, RefusalRule
from verifier.adapter import DepartmentAdapter
from verifier.audit import (
    AuditSink,
    ChainedAuditLog,
    Pseudonymiser,
    RefusalRecord,
    load_or_create_signing_key,
    read_audit_entries,
    verify_audit_log,
)
from verifier.catalogue import load_catalogue
from verifier.engine._cache import CachePolicy
from verifier.model import CallerIdentity
from verifier.rules import load_service_items

BUYER = resident_id("44030519850312201")
SPOUSE = resident_id("44030619920202404")
GUARDIAN = resident_id("44030519800101301")
CHILD = resident_id("44030520170605102")

SCHOOL_HALL = CallerIdentity(system="school-portal", department="education")
HOUSING_HALL = CallerIdentity(system="housing-window", department="housing-bureau")
STRANGER = CallerIdentity(system="unknown-system")
POLICY = AccessPolicy(
    {
        "school-portal": CallerGrant(items=("school_place",), department="education"),
        "housing-window": CallerGrant(items=("first_home_purchase",)),
        "ops-console": CallerGrant(items=(ALL_ITEMS,)),
    }
)


def first_home(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "service_item": "first_home_purchase",
        "subjects": [{"role": "buyer", "id": BUYER}, {"role": "spouse", "id": SPOUSE}],
        "reference_date": "2026-08-31",
        "purpose": "first_home_purchase_qualification",
        "legal_basis": "《不动产登记暂行条例》第二十七条",
        "consent_reference": "AUTH-HOUSE-2026-000001",
        "case_number": "SZ-HOUSE-2026-000001",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def school_place(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "service_item": "school_place",
        "subjects": [{"role": "guardian", "id": GUARDIAN}, {"role": "child", "id": CHILD}],
        "parameters": {"district": "440305"},
        "reference_date": "2026-08-31",
        "purpose": "compulsory_education_admission",
        "legal_basis": "《义务教育法》第十二条",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def engine(
    tmp_path: Path,
    adapters: Mapping[str, DepartmentAdapter],
    *,
    audit: AuditSink | None = None,
    cache: CachePolicy | None = None,
) -> Verifier:
    catalogue = load_catalogue()
    directory = tmp_path / "audit"
    return Verifier(
        catalogue=catalogue,
        items=load_service_items(catalogue),
        adapters=adapters,
        audit=audit or ChainedAuditLog(directory, load_or_create_signing_key(directory)),
        pseudonymiser=Pseudonymiser(TEST_PSEUDONYM_KEY),
        access=POLICY,
        cache=cache,
    )


def calls(adapters: Mapping[str, DepartmentAdapter]) -> int:
    return sum(adapter.calls for adapter in adapters.values() if isinstance(adapter, MockAdapter))


def refusal_records(tmp_path: Path) -> list[dict[str, Any]]:
    return [
        entry.body
        for entry in read_audit_entries(tmp_path / "audit")
        if entry.type == "record" and entry.body["kind"] == "refusal"
    ]


@pytest.mark.parametrize(
    ("caller", "application", "rule"),
    [
        (STRANGER, school_place(), RefusalRule.CALLER_NOT_REGISTERED),
        (SCHOOL_HALL, first_home(), RefusalRule.ITEM_NOT_GRANTED),
        (HOUSING_HALL, school_place(), RefusalRule.ITEM_NOT_GRANTED),
    ],
)
async def test_a_caller_without_the_right_is_refused_and_it_is_audited(
    tmp_path: Path, caller: CallerIdentity, application: dict[str, Any], rule: RefusalRule
) -> None:
    adapters = mock_departments()
    async with engine(tmp_path, adapters) as verifier:
        with pytest.raises(AccessDenied) as raised:
            await verifier.verify(parse_application(application), caller=caller)
    [refusal] = raised.value.refusals
    assert refusal.rule == rule
    assert refusal.fact is None
    assert calls(adapters) == 0
    [record] = refusal_records(tmp_path)
    assert record["caller_system"] == caller.system
    assert record["service_item"] == application["service_item"]
    assert [r["rule"] for r in record["refusals"]] == [rule.value]
    public_key = load_or_create_signing_key(tmp_path / "audit").public_key()
    assert verify_audit_log(tmp_path / "audit", public_key).ok


async def test_granted_callers_are_served(tmp_path: Path) -> None:
    adapters = mock_departments()
    async with engine(tmp_path, adapters) as verifier:
        school = await verifier.verify(parse_application(school_place()), caller=SCHOOL_HALL)
        home = await verifier.verify(parse_application(first_home()), caller=HOUSING_HALL)
        anything = await verifier.verify(
            parse_application(first_home()), caller=CallerIdentity(system="ops-console")
        )
    assert school.facts
    assert home.facts
    assert anything.facts
    assert refusal_records(tmp_path) == []


async def test_every_refused_fact_is_named_with_its_rule(tmp_path: Path) -> None:
    adapters = mock_departments()
    application = first_home(legal_basis=None, consent_reference=None)
    async with engine(tmp_path, adapters) as verifier:
        with pytest.raises(AccessDenied) as raised:
            await verifier.verify(parse_application(application), caller=HOUSING_HALL)
    refused = {(r.fact, r.rule) for r in raised.value.refusals}
    # Every conditional fact lacks the legal basis; the property and tax facts the consent.
    assert ("buyer_owns_no_home", "no_legal_basis") in refused
    assert ("buyer_owns_no_home", "no_consent") in refused
    assert ("spouse_owns_no_home", "no_consent") in refused
    assert ("buyer_social_insurance_months", "no_legal_basis") in refused
    assert ("buyer_social_insurance_months", "no_consent") not in refused
    assert not any(fact == "buyer_local_household" for fact, _ in refused)  # unconditional
    assert "buyer_owns_no_home" in str(raised.value)
    assert "no_consent" in str(raised.value)
    assert calls(adapters) == 0
    [record] = refusal_records(tmp_path)
    assert {(r["fact"], r["rule"]) for r in record["refusals"]} == refused
    text = json.dumps(record, ensure_ascii=False)
    assert BUYER not in text
    assert SPOUSE not in text


async def test_a_cached_fact_is_never_served_to_a_caller_not_allowed_to_see_it(
    tmp_path: Path,
) -> None:
    adapters = mock_departments()
    async with engine(tmp_path, adapters, cache=CachePolicy()) as verifier:
        first = await verifier.verify(parse_application(first_home()), caller=HOUSING_HALL)
        fetched = calls(adapters)
        assert fetched > 0
        assert not any(fact.provenance.cached for fact in first.facts)

        # Another system with no right to the item: refused, nothing read, nothing cached.
        with pytest.raises(AccessDenied):
            await verifier.verify(parse_application(first_home()), caller=SCHOOL_HALL)
        # The same system without the buyer's consent: refused though every fact is cached.
        with pytest.raises(AccessDenied) as raised:
            await verifier.verify(
                parse_application(first_home(consent_reference=None)), caller=HOUSING_HALL
            )
        assert {r.rule for r in raised.value.refusals} == {"no_consent"}
        # Not-shared in disguise: an item that is not granted can't read the cache either.
        with pytest.raises(AccessDenied):
            await verifier.verify(parse_application(first_home()), caller=STRANGER)

        # The cache was warm all along: the allowed caller gets every fact from it.
        again = await verifier.verify(parse_application(first_home()), caller=HOUSING_HALL)
    assert calls(adapters) == fetched
    assert again.facts
    assert all(fact.provenance.cached for fact in again.facts)
    assert len(refusal_records(tmp_path)) == 3


class FailingSink(AuditSink):
    async def append(self, record: object) -> None:  # type: ignore[override]
        raise OSError("disk full")


async def test_no_refusal_without_its_audit_record(tmp_path: Path) -> None:
    adapters = mock_departments()
    async with engine(tmp_path, adapters, audit=FailingSink()) as verifier:
        with pytest.raises(AuditUnavailable):
            await verifier.verify(parse_application(first_home()), caller=SCHOOL_HALL)
    assert calls(adapters) == 0


async def test_without_a_policy_only_the_catalogue_decides(tmp_path: Path) -> None:
    """A library user who authorises callers themselves: any caller, catalogue rules intact."""
    catalogue = load_catalogue()
    adapters = mock_departments()
    directory = tmp_path / "audit"
    verifier = Verifier(
        catalogue=catalogue,
        items=load_service_items(catalogue),
        adapters=adapters,
        audit=ChainedAuditLog(directory, load_or_create_signing_key(directory)),
        pseudonymiser=Pseudonymiser(TEST_PSEUDONYM_KEY),
    )
    async with verifier:
        served = await verifier.verify(parse_application(first_home()), caller=STRANGER)
        with pytest.raises(AccessDenied) as raised:
            await verifier.verify(
                parse_application(first_home(consent_reference=None)), caller=STRANGER
            )
    assert served.facts
    assert {r.rule for r in raised.value.refusals} == {"no_consent"}


def test_policy_names_unknown_items() -> None:
    policy = AccessPolicy({"hall": CallerGrant(items=("school_place", "no_such_item"))})
    assert policy.problems(["school_place"]) == [
        "hall.items[1]: unknown service item 'no_such_item'"
    ]


def test_refusal_record_round_trips() -> None:
    record = RefusalRecord.model_validate_json(
        RefusalRecord(
            request_id="r",
            time="2026-08-31T00:00:00Z",  # type: ignore[arg-type]
            caller_system="hall",
            caller_department=None,
            operator=None,
            service_item="school_place",
            item_version="2026.1",
            purpose=None,
            legal_basis=None,
            consent_reference=None,
            case_number=None,
            subjects=(),
            refusals=(),
        ).model_dump_json()
    )
    assert record.kind == "refusal"
