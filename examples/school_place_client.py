"""Ask the verification service about a school-place application, as a service hall would.

    python examples/school_place_client.py --address 127.0.0.1:50051 \\
        --guardian-id <resident ID> --child-id <resident ID> --district 440305

This is the plain gRPC client to copy: it uses only grpc and the code generated from
proto/verifier/v1/verification.proto (here imported from the verifier package; in your own
project, generate it with grpc_tools.protoc from proto/ alone). It prints the decision, the
status facts with where each came from, the explanation, and the paper proofs the family
need not bring. Bad input comes back as INVALID_ARGUMENT naming each offending field.
"""

from __future__ import annotations

import argparse
import datetime
import sys

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from verifier.service._generated.v1 import verification_pb2 as pb
from verifier.service._generated.v1 import verification_pb2_grpc as pb_grpc


def build_request(args: argparse.Namespace) -> pb.VerifyRequest:
    day = datetime.date.fromisoformat(args.reference_date)
    return pb.VerifyRequest(
        service_item="school_place",
        subjects=[
            pb.Subject(role="guardian", id=args.guardian_id),
            pb.Subject(role="child", id=args.child_id),
        ],
        parameters={"district": pb.ParameterValue(string_value=args.district)},
        reference_date=pb.Date(year=day.year, month=day.month, day=day.day),
        purpose="compulsory_education_admission",
        # Guardianship, rental and insurance facts are shared conditionally: with a legal basis.
        legal_basis="《中华人民共和国义务教育法》第十二条",
        case_number=args.case_number,
        operator=args.operator,
        # Development mode (the embedded default) takes this at its word if it is registered;
        # a server in mutual-TLS mode ignores it and uses the client certificate instead.
        caller=pb.Caller(system=args.caller, department="education"),
    )


def print_response(response: pb.VerifyResponse) -> None:
    decision = pb.DecisionOutcome.Name(response.decision.outcome).removeprefix("DECISION_OUTCOME_")
    print(f"decision   {decision}")
    print(f"item       {response.service_item} (rules {response.item_version})")
    print(f"request id {response.request_id}\n")

    print("facts:")
    for fact in response.facts:
        kind = fact.WhichOneof("value")
        if kind is None:
            reason = pb.UnknownReason.Name(fact.reason).removeprefix("UNKNOWN_REASON_")
            value = f"UNKNOWN ({reason})"
        else:
            value = str(getattr(fact, kind))
        print(f"  {fact.name:<36} {value:<30} from {fact.provenance.department}")

    print("\nwhy:")
    for clause in response.decision.explanation:
        outcome = pb.Truth.Name(clause.outcome).removeprefix("TRUTH_")
        threshold = f"  [{clause.threshold}]" if clause.HasField("threshold") else ""
        print(f"  {'  ' * clause.depth}{outcome:<8}{clause.label}{threshold}")

    print("\nno longer required:")
    for document in response.documents_not_required:
        print(f"  - {document}")


def print_field_violations(error: grpc.RpcError) -> None:
    print(f"invalid request: {error.details()}", file=sys.stderr)
    status = rpc_status.from_call(error)
    for detail in status.details if status is not None else ():
        bad_request = error_details_pb2.BadRequest()
        if detail.Unpack(bad_request):
            for violation in bad_request.field_violations:
                print(f"  {violation.field}: {violation.description}", file=sys.stderr)


def print_refusals(error: grpc.RpcError) -> None:
    """Each refused fact and the catalogue rule that refused it (no department was asked)."""
    print(f"permission denied: {error.details()}", file=sys.stderr)
    status = rpc_status.from_call(error)
    for detail in status.details if status is not None else ():
        refusal = pb.AccessRefusal()
        if detail.Unpack(refusal):
            print(f"  {refusal.fact or '(request)'}: {refusal.rule}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--address", default="127.0.0.1:50051", help="host:port of the service")
    parser.add_argument("--guardian-id", required=True, help="the guardian's resident ID")
    parser.add_argument("--child-id", required=True, help="the child's resident ID")
    parser.add_argument("--district", default="440305", help="six-digit district code")
    parser.add_argument("--reference-date", default=datetime.date.today().isoformat())
    parser.add_argument("--case-number", default="")
    parser.add_argument("--operator", default="", help="the clerk at the window")
    parser.add_argument("--timeout", type=float, default=2.0, help="deadline in seconds")
    parser.add_argument("--caller", default="demo-service-hall", help="the calling system")
    args = parser.parse_args(argv)

    with grpc.insecure_channel(args.address) as channel:
        stub = pb_grpc.VerificationServiceStub(channel)
        try:
            response = stub.Verify(build_request(args), timeout=args.timeout)
        except grpc.RpcError as error:
            if error.code() is grpc.StatusCode.INVALID_ARGUMENT:
                print_field_violations(error)
                return 2
            if error.code() is grpc.StatusCode.PERMISSION_DENIED:
                print_refusals(error)
                return 3
            print(f"{error.code().name}: {error.details()}", file=sys.stderr)
            return 1
    print_response(response)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
