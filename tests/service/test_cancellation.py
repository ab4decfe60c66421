"""Every department read leaves a record, answered or not: a call cancelled after its
departments were asked is audited with its reads (CANCELLED), over a real server."""

from __future__ import annotations

import asyncio

import pytest
from service_support import CHILD, StartServer, school_place_request, until
from support import ELIGIBLE_FACTS, mock_departments, resident_id

from verifier.adapter import MockAdapter
from verifier.audit import read_audit_entries
from verifier.engine import ResiliencePolicy
from verifier.service._generated.v1 import verification_pb2 as pb

CALLS = 12


def guardian(number: int) -> str:
    # A different guardian per call: no two calls share (coalesce) a department read.
    return resident_id(f"440305198503122{number:02d}")


@pytest.mark.parametrize("resilience", [None, ResiliencePolicy()], ids=["plain", "resilient"])
async def test_every_department_read_of_a_cancelled_call_is_audited(
    start_server: StartServer, resilience: ResiliencePolicy | None
) -> None:
    household = MockAdapter("household", values=ELIGIBLE_FACTS["household"], delay=0.4)
    adapters = mock_departments(household=household)
    served = await start_server(adapters, resilience=resilience)
    calls = [
        served.stub.Verify(
            school_place_request(
                subjects=[
                    pb.Subject(role="guardian", id=guardian(number)),
                    pb.Subject(role="child", id=CHILD),
                ]
            ),
            timeout=10,
        )
        for number in range(CALLS)
    ]
    answers = [asyncio.ensure_future(call) for call in calls]
    await until(lambda: household.calls == CALLS)  # every department has been asked
    for call in calls[::2]:
        call.cancel()
    outcomes = await asyncio.gather(*answers, return_exceptions=True)
    await served.shut_down()

    cancelled = [o for o in outcomes if isinstance(o, asyncio.CancelledError)]
    answered = [o for o in outcomes if isinstance(o, pb.VerifyResponse)]
    assert (len(cancelled), len(answered)) == (CALLS // 2, CALLS // 2)
    records = [
        entry.body
        for entry in read_audit_entries(served.verifier.audit.directory)  # type: ignore[attr-defined]
        if entry.type == "record"
    ]
    reads = sum(adapter.calls for adapter in adapters.values())  # type: ignore[attr-defined]
    audited = sum(call["attempts"] for record in records for call in record["department_calls"])
    assert household.calls == CALLS
    assert audited == reads

    unanswered = [record for record in records if record["decision"] is None]
    assert len(unanswered) == CALLS // 2
    for record in unanswered:
        outcomes_by_department = {c["department"]: c["outcome"] for c in record["department_calls"]}
        assert outcomes_by_department["household"] == "CANCELLED"
        assert record["facts"] == []  # nothing was disclosed
    answered_ids = {response.request_id for response in answered}
    assert answered_ids == {r["request_id"] for r in records if r["decision"] is not None}


async def test_shutdown_does_not_wait_forever_for_a_cancelled_calls_record(
    start_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    household = MockAdapter("household", values=ELIGIBLE_FACTS["household"], delay=0.4)
    served = await start_server(mock_departments(household=household))
    monkeypatch.setattr("verifier.engine._audit_trail.LATE_WRITE_GRACE_SECONDS", 0.2)
    hung = asyncio.Event()

    async def hang(record: object) -> None:
        await hung.wait()  # a sink that never answers

    monkeypatch.setattr(served.verifier.audit, "append", hang)
    call = served.stub.Verify(school_place_request(), timeout=10)
    answer = asyncio.ensure_future(call)
    await until(lambda: household.calls == 1)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await answer
    await asyncio.wait_for(served.shut_down(grace=0.2), timeout=5)
    hung.set()
