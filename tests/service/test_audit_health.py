"""Health says whether the service can answer: NOT_SERVING while the audit sink cannot write
(no audit, no answer), SERVING again once it can, over a real server on port 0."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from service_support import StartServer, health_of, school_place_request, until
from support import disk_full

from verifier.audit import ChainedAuditLog, load_public_key, read_audit_entries, verify_audit_log
from verifier.service import SERVICE_NAME

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def test_health_is_not_serving_while_the_audit_disk_is_full(
    start_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = await start_server()
    audit = served.verifier.audit
    assert isinstance(audit, ChainedAuditLog)
    probes = 0
    probe = audit.probe

    async def counted_probe() -> None:
        nonlocal probes
        probes += 1
        await probe()

    monkeypatch.setattr(audit, "probe", counted_probe)
    answered = [await served.stub.Verify(school_place_request(), timeout=5)]
    assert await health_of(served.channel) == {"": SERVING, SERVICE_NAME: SERVING}
    watch = health_pb2_grpc.HealthStub(served.channel).Watch(
        health_pb2.HealthCheckRequest(service=""), timeout=30
    )
    assert (await watch.read()).status == SERVING

    with disk_full(audit.directory / "audit-000001.jsonl"):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await served.stub.Verify(school_place_request(), timeout=5)
        assert refused.value.code() is grpc.StatusCode.UNAVAILABLE
        assert (await asyncio.wait_for(watch.read(), 5)).status == NOT_SERVING
        await until(lambda: probes >= 2, within=10)  # probes ran and failed: still down
        assert await health_of(served.channel) == {"": NOT_SERVING, SERVICE_NAME: NOT_SERVING}

    # No call comes in (a load balancer sends none to a NOT_SERVING server): the probe
    # alone finds that the disk writes again.
    assert (await asyncio.wait_for(watch.read(), 10)).status == SERVING
    watch.cancel()
    assert await health_of(served.channel) == {"": SERVING, SERVICE_NAME: SERVING}
    answered.append(await served.stub.Verify(school_place_request(), timeout=5))
    await served.shut_down()

    # The probes left nothing in the chain: the answered calls' records and the seal.
    entries = list(read_audit_entries(audit.directory))
    records = [entry.body["request_id"] for entry in entries if entry.type == "record"]
    assert records == [response.request_id for response in answered]
    assert [entry.type for entry in entries] == ["record", "record", "checkpoint"]
    public_key = audit.directory / "signing-key.pub.pem"
    assert verify_audit_log(audit.directory, load_public_key(public_key)).ok
