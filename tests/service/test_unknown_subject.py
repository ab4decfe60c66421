"""Over gRPC on the demo city: a "nothing held" about a person no register knows is no
evidence (issue 10, finding 13). The spouse who owns a home, replaced by any well-formed ID
the city has never heard of, must not make the buyer ELIGIBLE."""

from __future__ import annotations

import importlib
from datetime import date
from typing import Any

from service_support import StartServer
from support import resident_id

from adapters.demo_city import DemoCityManifest
from verifier.service._generated.v1 import verification_pb2 as pb

DEPARTMENTS = ("household", "social_insurance", "housing", "tax")
# Well-formed (valid check character) but held by no department of the city: no one's ID
# there has the address code 110101 (Beijing).
UNKNOWN_SPOUSE = resident_id("11010119900101950")


def request_of(application: dict[str, Any], **subjects: str) -> pb.VerifyRequest:
    """A sample's application as the service hall sends it, some subjects' IDs replaced."""
    day = date.fromisoformat(application["reference_date"])
    return pb.VerifyRequest(
        service_item=application["service_item"],
        subjects=[
            pb.Subject(role=s["role"], id=subjects.get(s["role"], s["id"]))
            for s in application["subjects"]
        ],
        reference_date=pb.Date(year=day.year, month=day.month, day=day.day),
        purpose=application["purpose"],
        legal_basis=application["legal_basis"],
        consent_reference=application["consent_reference"],
        case_number=application["case_number"],
        operator=application["operator"],
        caller=pb.Caller(system="test-service-hall"),
    )


async def test_a_spouse_no_register_knows_makes_the_first_home_needs_review(
    demo_city: DemoCityManifest, start_server: StartServer
) -> None:
    adapters = {
        department: importlib.import_module(f"adapters.{department}").create_adapter(
            {"url": demo_city.urls[department]}
        )
        for department in DEPARTMENTS
    }
    served = await start_server(adapters)
    application = demo_city.sample("first_home_spouse_owns_home").application

    planted = await served.stub.Verify(request_of(application))
    assert planted.decision.outcome == pb.DECISION_OUTCOME_NOT_ELIGIBLE

    unknown = await served.stub.Verify(request_of(application, spouse=UNKNOWN_SPOUSE))
    assert unknown.decision.outcome == pb.DECISION_OUTCOME_NEEDS_REVIEW  # was ELIGIBLE
    facts = {fact.name: fact for fact in unknown.facts}
    spouse = facts["spouse_owns_no_home"]
    assert spouse.status == pb.FACT_STATUS_UNKNOWN
    assert spouse.reason == pb.UNKNOWN_REASON_SUBJECT_NOT_FOUND
    register = facts["spouse.registered_in_population_register"]
    assert (register.status, register.bool_value) == (pb.FACT_STATUS_KNOWN, False)
    # The buyer the register holds keeps his facts; his 无房证明 still need not be brought.
    assert facts["buyer_owns_no_home"].bool_value is True
    assert facts["buyer.registered_in_population_register"].bool_value is True
    # The register's questions rode in the household call: one call per department.
    assert sorted(c.department for c in unknown.department_calls) == sorted(DEPARTMENTS)
    assert all(c.outcome == pb.CALL_OUTCOME_OK for c in unknown.department_calls)
