"""One-fact service items over catalogue variants, run through the real engine with mock
departments that count their calls, and an audit sink that keeps what it is given."""

from __future__ import annotations

from datetime import date
from typing import Any

from support import TEST_PSEUDONYM_KEY, resident_id

from verifier import MockAdapter, Verifier, parse_application
from verifier.access import AccessPolicy
from verifier.audit import AlertRecord, AuditRecord, AuditSink, Pseudonymiser, RefusalRecord
from verifier.catalogue import Catalogue, FactDefinition
from verifier.rules import ItemRegistry, ServiceItem

REFERENCE_DATE = date(2026, 3, 1)
LEGAL_BASIS = "《政务信息资源共享管理暂行办法》第九条"
CONSENT = "AUTH-TEST-2026-000001"


class KeepingAuditSink(AuditSink):
    def __init__(self) -> None:
        self.records: list[AuditRecord | AlertRecord | RefusalRecord] = []

    async def append(self, record: AuditRecord | AlertRecord | RefusalRecord) -> None:
        self.records.append(record)


def _parameter_value(kind: str) -> str | int:
    return "440305" if kind == "string" else 12


def one_fact_item(item_id: str, fact: FactDefinition) -> ServiceItem:
    """An item that needs ``fact`` alone, each subject slot a role of the same name."""
    rule: dict[str, Any] = {"fact": "the_fact"}
    if fact.value_type.value == "integer":
        rule = {"compare": {"fact": "the_fact", "op": ">=", "value": 0}}
    return ServiceItem.model_validate(
        {
            "id": item_id,
            "version": "2026.1",
            "title": item_id,
            "title_zh": item_id,
            "description": "one fact",
            "policy_reference": "test",
            "effective_from": "2026-01-01",
            "roles": {slot: {} for slot in fact.subjects},
            "facts": {
                "the_fact": {
                    "fact": fact.id,
                    "subjects": {slot: slot for slot in fact.subjects},
                    "parameters": {
                        name: _parameter_value(parameter.type)
                        for name, parameter in fact.parameters.items()
                    },
                }
            },
            "rule": rule,
        }
    )


def application_for(
    item: ServiceItem,
    *,
    purpose: str | None,
    legal_basis: str | None,
    consent: str | None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "service_item": item.id,
        "subjects": [
            {"role": role, "id": resident_id(f"44030520150101{index + 1:03d}")}
            for index, role in enumerate(item.roles)
        ],
        "reference_date": REFERENCE_DATE.isoformat(),
    }
    for key, value in (
        ("purpose", purpose),
        ("legal_basis", legal_basis),
        ("consent_reference", consent),
    ):
        if value is not None:
            data[key] = value
    return data


def answer_for(fact: FactDefinition) -> bool | int:
    return True if fact.value_type.value == "boolean" else 3


def engine_for(
    catalogue: Catalogue,
    items: list[ServiceItem],
    audit: AuditSink,
    *,
    access: AccessPolicy | None = None,
) -> tuple[Verifier, dict[str, MockAdapter]]:
    adapters = {
        department: MockAdapter(
            department,
            values={fact.id: answer_for(fact) for fact in catalogue.facts_of(department)},
        )
        for department in catalogue.departments
    }
    verifier = Verifier(
        catalogue=catalogue,
        items=ItemRegistry(items),
        adapters=adapters,
        audit=audit,
        pseudonymiser=Pseudonymiser(TEST_PSEUDONYM_KEY),
        access=access,
    )
    return verifier, adapters


__all__ = [
    "CONSENT",
    "LEGAL_BASIS",
    "KeepingAuditSink",
    "answer_for",
    "application_for",
    "engine_for",
    "one_fact_item",
    "parse_application",
]
