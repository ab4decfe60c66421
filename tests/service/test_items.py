"""ListServiceItems and DescribeServiceItem: what each item needs, from whom, replacing what."""

from __future__ import annotations

import logging

import grpc
import pytest
from service_support import Served, bad_request_of

from verifier.service._generated.v1 import verification_pb2 as pb


async def test_list_names_every_item_sorted(served: Served) -> None:
    response = await served.stub.ListServiceItems(pb.ListServiceItemsRequest(), timeout=5)

    ids = [item.id for item in response.service_items]
    assert ids == sorted(ids)
    assert ids == [item.id for item in served.verifier.items]
    assert "school_place" in ids


async def test_describe_gives_facts_departments_sharing_and_documents(served: Served) -> None:
    response = await served.stub.DescribeServiceItem(
        pb.DescribeServiceItemRequest(service_item="school_place"), timeout=5
    )
    item = response.service_item

    assert item.id == "school_place"
    assert item.version == served.verifier.items.get("school_place").version
    assert item.title
    assert item.title_zh
    assert item.policy_reference
    assert item.effective_from.year >= 2000
    assert {role.name for role in item.roles} == {"guardian", "child"}
    assert all(role.kind == pb.SUBJECT_KIND_NATURAL_PERSON and role.required for role in item.roles)
    (district,) = item.parameters
    assert district.name == "district"
    assert district.type == pb.PARAMETER_TYPE_STRING
    assert district.pattern
    facts = {fact.name: fact for fact in item.facts}
    guardianship = facts["guardian_is_parent"]
    assert guardianship.fact == "guardian_of"
    assert guardianship.department == "household"
    assert guardianship.sharing == pb.SHARING_CLASS_CONDITIONAL
    assert guardianship.value_type == pb.VALUE_TYPE_BOOLEAN
    assert dict(guardianship.subjects) == {"guardian": "guardian", "child": "child"}
    in_district = facts["child_registered_in_district"].parameters["district"]
    assert in_district.WhichOneof("source") == "application_parameter"
    assert in_district.application_parameter == "district"
    assert facts["guardian_rental_months"].value_type == pb.VALUE_TYPE_INTEGER
    assert list(item.documents_replaced) == list(
        dict.fromkeys(f.replaces_document for f in item.facts if f.replaces_document)
    )


async def test_list_and_describe_agree(served: Served) -> None:
    listed = await served.stub.ListServiceItems(pb.ListServiceItemsRequest(), timeout=5)
    for item in listed.service_items:
        described = await served.stub.DescribeServiceItem(
            pb.DescribeServiceItemRequest(service_item=item.id), timeout=5
        )
        assert described.service_item == item


@pytest.mark.parametrize("name", ["no_such_item", "", "x" * 300])
async def test_describe_unknown_item_is_not_found(served: Served, name: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await served.stub.DescribeServiceItem(
            pb.DescribeServiceItemRequest(service_item=name), timeout=5
        )
    assert raised.value.code() is grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("ListServiceItems", b"\xff"),  # a field tag with no field after it
        ("ListServiceItems", b"\x0a\x05ab"),  # a string cut short
        ("DescribeServiceItem", b"\x0a\x02\xff\xfe"),  # service_item that is not UTF-8
        ("DescribeServiceItem", b"\x0a"),
    ],
)
async def test_an_undecodable_body_is_invalid_argument_without_a_traceback(
    served: Served, caplog: pytest.LogCaptureFixture, method: str, body: bytes
) -> None:
    # Before: UNKNOWN naming a Python class, and grpc logged a traceback per request, so
    # anyone could flood the log.
    call = served.channel.unary_unary(f"/verifier.v1.VerificationService/{method}")
    with caplog.at_level(logging.INFO), pytest.raises(grpc.aio.AioRpcError) as raised:
        await call(body, timeout=5)

    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert raised.value.details() == (
        "invalid request: request: not a valid message of this RPC's request type "
        "(malformed protobuf or text)"
    )
    assert "request" in bad_request_of(raised.value)
    assert len(caplog.records) <= 1
    assert all(record.exc_info is None and record.exc_text is None for record in caplog.records)
    assert "Traceback" not in caplog.text
    assert "Error" not in caplog.text  # no class name (DecodeError, TypeError…)
