"""VerifierClient: the library's models on both sides of the wire, errors as the library's."""

from __future__ import annotations

import grpc
import pytest
from service_support import CHILD, GUARDIAN, Served
from support import SCHOOL_PLACE_ACCESS

import verifier.service
from verifier._errors import InvalidApplication, UnknownServiceItem
from verifier.model import CallerIdentity, DecisionOutcome, FactStatus, parse_application
from verifier.service import VerifierClient, describe_service_item

CALLER = CallerIdentity(system="test-service-hall", department="education")


def school_place(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "service_item": "school_place",
        "subjects": [{"role": "guardian", "id": GUARDIAN}, {"role": "child", "id": CHILD}],
        "parameters": {"district": "440305"},
        "reference_date": "2026-08-31",
        **SCHOOL_PLACE_ACCESS,
        "operator": "clerk-0042",
    }
    data.update(changes)
    return data


async def test_remote_result_equals_the_local_one_but_for_ids_and_timings(served: Served) -> None:
    application = parse_application(school_place())
    async with VerifierClient.connect(served.address, caller=CALLER) as client:
        remote = await client.verify(application, timeout=5)
    local = await served.verifier.verify(application, caller=CALLER)

    assert remote.decision == local.decision
    assert remote.documents_not_required == local.documents_not_required
    assert remote.reference_date == local.reference_date
    assert [f.model_dump(exclude={"provenance"}) for f in remote.facts] == [
        f.model_dump(exclude={"provenance"}) for f in local.facts
    ]
    assert remote.decision.outcome is DecisionOutcome.ELIGIBLE
    assert all(f.status is FactStatus.KNOWN for f in remote.facts)


async def test_invalid_application_raises_invalid_application(served: Served) -> None:
    # Valid as an application, but the item needs a child too: the server says so.
    application = parse_application(school_place(subjects=[{"role": "guardian", "id": GUARDIAN}]))
    async with VerifierClient.connect(served.address, caller=CALLER) as client:
        with pytest.raises(InvalidApplication) as raised:
            await client.verify(application, timeout=5)
    assert "subjects" in {v.field for v in raised.value.violations}


async def test_list_and_describe_match_the_local_description(served: Served) -> None:
    catalogue = served.verifier.catalogue
    expected = [describe_service_item(item, catalogue) for item in served.verifier.items]
    async with VerifierClient.connect(served.address, caller=CALLER) as client:
        assert await client.list_items(timeout=5) == expected
        assert await client.describe_item("school_place", timeout=5) == next(
            d for d in expected if d.id == "school_place"
        )
        with pytest.raises(UnknownServiceItem):
            await client.describe_item("no_such_item", timeout=5)


async def test_client_on_a_borrowed_channel_leaves_it_open(served: Served) -> None:
    client = VerifierClient(served.channel, caller=CALLER)
    async with client:
        await client.list_items(timeout=5)
    assert served.channel.get_state() is not grpc.ChannelConnectivity.SHUTDOWN
    await client.list_items(timeout=5)


def test_public_surface_is_pinned() -> None:
    # In ruff's __all__ order (RUF022): constants, then classes, then functions.
    assert verifier.service.__all__ == [
        "SERVICE_NAME",
        "AuthFailure",
        "Authenticator",
        "CertificateAuthenticator",
        "LoopbackAuthenticator",
        "ParameterDescription",
        "RequiredFactDescription",
        "RoleDescription",
        "ServerOptions",
        "ServiceItemDescription",
        "TokenAuthenticator",
        "Unauthenticated",
        "VerifierClient",
        "client_credentials",
        "create_server",
        "describe_service_item",
        "graceful_shutdown",
        "mark_serving",
        "serve",
        "token_digest",
    ]
    for name in verifier.service.__all__:
        assert getattr(verifier.service, name) is not None
