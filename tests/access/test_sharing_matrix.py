"""The full sharing-class matrix, through the real engine.

For every department and fact of the shipped catalogue, the fact is put in every sharing
class (unconditional; conditional by item, by another item, by purpose, each with and
without consent required; not shared) and asked for by a one-fact item with every purpose
(none, an allowed one, an unrelated one), with and without a legal basis and a consent
reference. The expected outcome comes from the table below — the seeds' rules written as
data, not from the code under test — and every case must agree: served with exactly one
call to the fact's department (and, for a fact whose "nothing held" needs the population
register's word, one to the register's department), or refused with exactly the expected
rules, 0 department calls and one refusal audit record. The register's own fact cannot be
restricted: the catalogue refuses it. A second matrix does the same over the catalogue as
shipped, read as plain YAML.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from itertools import product
from typing import Any

import pytest
import yaml
from access_support import (
    CONSENT,
    LEGAL_BASIS,
    KeepingAuditSink,
    application_for,
    engine_for,
    one_fact_item,
)

from verifier import AccessDenied, CatalogueError, parse_application
from verifier.audit import AuditRecord, RefusalRecord
from verifier.catalogue import Catalogue, catalogue_from_yaml, load_catalogue
from verifier.model import SubjectKind

ITEM = "matrix_item"
OTHER_ITEM = "another_item"
PURPOSE = "matrix_purpose"
UNRELATED_PURPOSE = "unrelated_purpose"

PURPOSES = (None, PURPOSE, UNRELATED_PURPOSE)
LEGAL_BASES = (None, LEGAL_BASIS)
CONSENTS = (None, CONSENT)


@dataclass(frozen=True)
class Variant:
    name: str
    sharing: str
    allowed_items: tuple[str, ...] = ()
    allowed_purposes: tuple[str, ...] = ()
    requires_consent: bool = False


VARIANTS = (
    Variant("unconditional", "unconditional"),
    Variant("not_shared", "not_shared"),
    Variant("conditional/this item", "conditional", allowed_items=(ITEM,)),
    Variant("conditional/other item", "conditional", allowed_items=(OTHER_ITEM,)),
    Variant("conditional/purpose", "conditional", allowed_purposes=(PURPOSE,)),
    Variant(
        "conditional/this item+consent",
        "conditional",
        allowed_items=(ITEM,),
        requires_consent=True,
    ),
    Variant(
        "conditional/purpose+consent",
        "conditional",
        allowed_purposes=(PURPOSE,),
        requires_consent=True,
    ),
)


def expected_rules(
    fact: dict[str, Any], item: str, purpose: str | None, legal: str | None, consent: str | None
) -> set[str]:
    """The catalogue's rule for one request, from the fact's raw catalogue entry."""
    sharing = fact["sharing"]
    if sharing == "not_shared":
        return {"not_shared"}
    if sharing == "unconditional":
        return set()
    rules = set()
    in_scope = item in fact.get("allowed_items", []) or purpose in fact.get("allowed_purposes", [])
    if not in_scope:
        rules.add("outside_allowed_use")
    if not legal:
        rules.add("no_legal_basis")
    if fact.get("requires_consent", False) and not consent:
        rules.add("no_consent")
    return rules


def _catalogue_yaml() -> dict[str, Any]:
    text = (
        resources.files("verifier.catalogue")
        .joinpath("data/catalogue.yaml")
        .read_text(encoding="utf-8")
    )
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


def _with_fact(raw: dict[str, Any], fact_id: str, variant: Variant) -> dict[str, Any]:
    entry = {
        key: value
        for key, value in raw["facts"][fact_id].items()
        if key not in ("sharing", "allowed_items", "allowed_purposes", "requires_consent")
    }
    entry["sharing"] = variant.sharing
    if variant.allowed_items:
        entry["allowed_items"] = list(variant.allowed_items)
    if variant.allowed_purposes:
        entry["allowed_purposes"] = list(variant.allowed_purposes)
    if variant.requires_consent:
        entry["requires_consent"] = True
    return {**raw, "facts": {**raw["facts"], fact_id: entry}}


def _catalogue(data: dict[str, Any]) -> Catalogue:
    return catalogue_from_yaml(yaml.safe_dump(data, allow_unicode=True))


async def _mismatches(
    catalogue: Catalogue, raw_fact: dict[str, Any], fact_id: str, item_id: str
) -> tuple[int, list[str]]:
    """Run every purpose × legal basis × consent case; (cases run, mismatch descriptions)."""
    item = one_fact_item(item_id, catalogue.facts[fact_id])
    audit = KeepingAuditSink()
    verifier, adapters = engine_for(catalogue, [item], audit)
    department = adapters[catalogue.facts[fact_id].department]
    # A "nothing held" answer needs the population register's word on the subject: asked
    # in the same call when the register is the fact's own department, else in its own.
    register = adapters[catalogue.registers[SubjectKind.NATURAL_PERSON].department]
    asks_register = (
        catalogue.facts[fact_id].absence_value is not None and register is not department
    )
    mismatches: list[str] = []
    cases = 0
    async with verifier:
        for purpose, legal, consent in product(PURPOSES, LEGAL_BASES, CONSENTS):
            cases += 1
            case = f"{fact_id} {raw_fact['sharing']} item={item_id} purpose={purpose} "
            case += f"legal={bool(legal)} consent={bool(consent)}"
            expected = expected_rules(raw_fact, item_id, purpose, legal, consent)
            calls_before, records_before = department.calls, len(audit.records)
            register_before = register.calls
            application = parse_application(
                application_for(item, purpose=purpose, legal_basis=legal, consent=consent)
            )
            try:
                await verifier.verify(application)
            except AccessDenied as denied:
                got = {refusal.rule for refusal in denied.refusals}
                facts = {refusal.catalogue_fact for refusal in denied.refusals}
                record = audit.records[-1] if len(audit.records) > records_before else None
                if got != expected or facts != {fact_id}:
                    mismatches.append(f"{case}: refused {sorted(got)}, expected {sorted(expected)}")
                if department.calls != calls_before or register.calls != register_before:
                    mismatches.append(f"{case}: refused yet a department was called")
                if (
                    not isinstance(record, RefusalRecord)
                    or {r.rule for r in record.refusals} != got
                ):
                    mismatches.append(f"{case}: the refusal was not audited as such")
            else:
                record = audit.records[-1] if len(audit.records) > records_before else None
                if expected:
                    mismatches.append(f"{case}: served, expected {sorted(expected)}")
                if department.calls != calls_before + 1:
                    mismatches.append(
                        f"{case}: served with {department.calls - calls_before} calls"
                    )
                if asks_register and register.calls != register_before + 1:
                    mismatches.append(f"{case}: served without asking the register")
                if not isinstance(record, AuditRecord):
                    mismatches.append(f"{case}: the disclosure was not audited")
    return cases, mismatches


RAW = _catalogue_yaml()
REGISTER_FACTS = {register["fact"] for register in RAW["registers"].values()}
MATRIX = [
    pytest.param(fact_id, variant, id=f"{fact['department']}.{fact_id}[{variant.name}]")
    for fact_id, fact in RAW["facts"].items()
    for variant in VARIANTS
]


@pytest.mark.parametrize(("fact_id", "variant"), MATRIX)
async def test_every_class_purpose_and_consent_is_enforced_as_the_catalogue_says(
    fact_id: str, variant: Variant
) -> None:
    data = _with_fact(RAW, fact_id, variant)
    if fact_id in REGISTER_FACTS and variant.sharing != "unconditional":
        # A register is asked about the subjects of every item's negative facts, whatever
        # the item: the catalogue refuses to restrict its sharing.
        with pytest.raises(CatalogueError, match="must be shared unconditionally"):
            _catalogue(data)
        return
    cases, mismatches = await _mismatches(_catalogue(data), data["facts"][fact_id], fact_id, ITEM)
    assert cases == len(PURPOSES) * len(LEGAL_BASES) * len(CONSENTS)
    assert mismatches == []


def test_the_matrix_covers_every_department_and_every_class() -> None:
    departments = {fact["department"] for fact in RAW["facts"].values()}
    assert departments == set(RAW["departments"])
    classes = {variant.sharing for variant in VARIANTS}
    assert classes == {"unconditional", "conditional", "not_shared"}
    assert len(MATRIX) == len(RAW["facts"]) * len(VARIANTS)


@pytest.mark.parametrize("item_id", ["school_place", "first_home_purchase", OTHER_ITEM])
async def test_the_shipped_catalogue_as_declared(item_id: str) -> None:
    """Every shipped fact, as the catalogue file declares it, asked for by each item id."""
    catalogue = load_catalogue()
    total, mismatches = 0, []
    for fact_id, raw_fact in RAW["facts"].items():
        cases, found = await _mismatches(catalogue, raw_fact, fact_id, item_id)
        total += cases
        mismatches.extend(found)
    assert total == len(RAW["facts"]) * len(PURPOSES) * len(LEGAL_BASES) * len(CONSENTS)
    assert mismatches == []
    # The shipped catalogue itself exercises all three classes and consent.
    assert {fact["sharing"] for fact in RAW["facts"].values()} == {
        "unconditional",
        "conditional",
        "not_shared",
    }
    assert any(fact.get("requires_consent") for fact in RAW["facts"].values())
