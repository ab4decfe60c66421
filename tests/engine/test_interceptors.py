"""Cross-cutting concerns plug into the verification's stages: verify, authorise, fetch,
department, audited.

An embedder's interceptor sees each stage with one input object, in the engine's order,
and can take part (refuse, observe); it cannot move a stage: nothing reaches ``fetch``
before validation and authorisation, and ``audited`` comes only once the record is durable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from support import MakeVerifier, mock_departments
from test_verifier import school_place

from verifier import (
    AccessDenied,
    DecisionOutcome,
    InvalidApplication,
    MockAdapter,
    Refusal,
    parse_application,
)
from verifier.access import RefusalRule
from verifier.audit import read_audit_entries
from verifier.engine import (
    AuditedInput,
    AuthoriseInput,
    DepartmentInput,
    DepartmentOutcome,
    FetchInput,
    FetchOutput,
    Interceptor,
    Stages,
    VerifyInput,
)
from verifier.model._plain import PlainResult


@dataclass
class Recording(Interceptor):
    """Records every stage it is shown; refuses in ``authorise`` if told to."""

    seen: list[str] = field(default_factory=list)
    refuse: bool = False
    calls: list[str] = field(default_factory=list)
    """The ``verify`` and ``department`` stages, apart (departments answer in any order)."""

    def intercept(self, next: Stages) -> Stages:
        return _Recorder(next, self)


class _Recorder(Stages):
    def __init__(self, next: Stages, owner: Recording) -> None:
        super().__init__(next)
        self._owner = owner

    async def verify(self, input: VerifyInput) -> PlainResult:
        item = input.item.id if input.item is not None else None
        self._owner.calls.append(f"verify {item} for {input.caller.system}")
        try:
            result = await self.next.verify(input)
        except Exception as error:
            self._owner.calls.append(f"verify raised {type(error).__name__}")
            raise
        self._owner.calls.append(f"verified {result.decision.outcome.value}")
        return result

    async def department(self, input: DepartmentInput) -> DepartmentOutcome:
        outcome = await self.next.department(input)
        assert outcome.facts is not None, "a department's facts come judged"
        self._owner.calls.append(
            f"department {input.plan.department} {outcome.outcome.value} {len(outcome.facts)}"
        )
        return outcome

    async def authorise(self, input: AuthoriseInput) -> list[Refusal]:
        assert isinstance(input, AuthoriseInput)
        self._owner.seen.append(f"authorise {input.item.id} for {input.caller.system}")
        if self._owner.refuse:
            return [Refusal(RefusalRule.ITEM_NOT_GRANTED, "refused by the embedder's rule")]
        return await self.next.authorise(input)

    async def fetch(self, input: FetchInput) -> FetchOutput:
        self._owner.seen.append(f"fetch {len(input.facts)} facts")
        output = await self.next.fetch(input)
        self._owner.seen.append(f"fetched {sorted({c.department for c in output.calls})}")
        return output

    async def audited(self, input: AuditedInput) -> None:
        self._owner.seen.append(f"audited refused={input.refused}")
        await self.next.audited(input)


async def test_an_interceptor_sees_each_stage_in_order_and_changes_nothing(
    make_test_verifier: MakeVerifier,
) -> None:
    recording = Recording()
    async with make_test_verifier(interceptors=[recording]) as verifier:
        result = await verifier.verify(parse_application(school_place()))
    assert result.decision.outcome is DecisionOutcome.ELIGIBLE
    assert recording.seen[0] == "authorise school_place for embedded"
    assert recording.seen[1].startswith("fetch ")
    assert recording.seen[2] == f"fetched {sorted(c.department for c in result.department_calls)}"
    assert recording.seen[3] == "audited refused=False"
    assert len(recording.seen) == 4
    # verify holds everything; each department call passes once, its facts judged.
    assert recording.calls[0] == "verify school_place for embedded"
    assert recording.calls[-1] == "verified ELIGIBLE"
    assert sorted(recording.calls[1:-1]) == sorted(
        f"department {call.department} OK {len(call.facts)}" for call in result.department_calls
    )


async def test_an_interceptor_refusal_is_audited_and_no_department_is_asked(
    make_test_verifier: MakeVerifier, tmp_path: Path
) -> None:
    adapters = mock_departments()
    recording = Recording(refuse=True)
    async with make_test_verifier(adapters, interceptors=[recording]) as verifier:
        with pytest.raises(AccessDenied) as refused:
            await verifier.verify(parse_application(school_place()))
    assert [r.rule for r in refused.value.refusals] == [RefusalRule.ITEM_NOT_GRANTED]
    assert recording.seen == ["authorise school_place for embedded", "audited refused=True"]
    assert all(isinstance(a, MockAdapter) and a.calls == 0 for a in adapters.values())
    records = [e.body for e in read_audit_entries(tmp_path / "audit") if e.type == "record"]
    assert [record["kind"] for record in records] == ["refusal"]
    assert records[0]["refusals"][0]["rule"] == RefusalRule.ITEM_NOT_GRANTED


async def test_no_interceptor_sees_fetch_before_validation_or_after_a_catalogue_refusal(
    make_test_verifier: MakeVerifier,
) -> None:
    recording = Recording()
    async with make_test_verifier(interceptors=[recording]) as verifier:
        with pytest.raises(InvalidApplication):
            await verifier.verify(parse_application(school_place(parameters={})))
        assert recording.seen == []
        assert recording.calls == [
            "verify school_place for embedded",
            "verify raised InvalidApplication",
        ], "verify holds validation too: an interceptor sees the error"
        # A conditional fact without a legal basis: the catalogue's rule is the innermost
        # link, so the interceptor is asked first, but the request never reaches fetch.
        with pytest.raises(AccessDenied):
            await verifier.verify(parse_application(school_place(legal_basis=None)))
    assert recording.seen == ["authorise school_place for embedded", "audited refused=True"]
