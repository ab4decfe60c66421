"""The wire contract: protobuf style, generated code current, usable from proto/ alone."""

from __future__ import annotations

import asyncio
import re
import sys
import textwrap
from pathlib import Path

from google.protobuf import descriptor_pb2
from service_support import CHILD, GUARDIAN, Served, with_wrong_check_character
from support import SCHOOL_PLACE_ACCESS

from verifier.service._generated.v1 import verification_pb2 as pb

ROOT = Path(__file__).resolve().parents[2]
PROTO_ROOT = ROOT / "proto"
SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
PASCAL = re.compile(r"^[A-Z][A-Za-z0-9]*$")
UPPER_SNAKE = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$")


async def run(*command: str, cwd: Path = ROOT) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


def file_descriptor() -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto()
    pb.DESCRIPTOR.CopyToProto(proto)
    return proto


def test_contract_follows_buf_default_lint_style() -> None:
    proto = file_descriptor()
    assert proto.package == "verifier.v1"
    assert proto.name == "verifier/v1/verification.proto"  # package directory match
    assert set(proto.dependency) <= {
        "google/protobuf/duration.proto",
        "google/protobuf/timestamp.proto",
    }, "self-contained: only well-known types"

    def check_message(message: descriptor_pb2.DescriptorProto) -> None:
        assert PASCAL.match(message.name), message.name
        for field in message.field:
            assert SNAKE.match(field.name), f"{message.name}.{field.name}"
        for nested in message.nested_type:
            if not nested.options.map_entry:
                check_message(nested)
        for enum in message.enum_type:
            check_enum(enum)

    def check_enum(enum: descriptor_pb2.EnumDescriptorProto) -> None:
        prefix = re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"
        assert enum.value[0].number == 0
        assert enum.value[0].name == f"{prefix}UNSPECIFIED"
        for value in enum.value:
            assert UPPER_SNAKE.match(value.name), value.name
            assert value.name.startswith(prefix), value.name

    for message in proto.message_type:
        check_message(message)
    for enum in proto.enum_type:
        check_enum(enum)
    (service,) = proto.service
    assert service.name.endswith("Service")
    inputs, outputs = set(), set()
    for method in service.method:
        assert method.input_type == f".verifier.v1.{method.name}Request"
        assert method.output_type == f".verifier.v1.{method.name}Response"
        inputs.add(method.input_type)
        outputs.add(method.output_type)
    assert len(inputs) == len(outputs) == len(service.method), "unique per RPC"


def test_fact_values_are_a_oneof_of_bool_and_int64() -> None:
    (oneof,) = pb.Fact.DESCRIPTOR.oneofs
    assert {(f.name, f.type) for f in oneof.fields} == {
        ("bool_value", descriptor_pb2.FieldDescriptorProto.TYPE_BOOL),
        ("int_value", descriptor_pb2.FieldDescriptorProto.TYPE_INT64),
    }


async def test_committed_generated_code_is_current() -> None:
    code, stdout, stderr = await run(sys.executable, "proto/generate.py", "--check")
    assert code == 0, stdout + stderr


async def test_a_client_generated_from_proto_alone_works(served: Served, tmp_path: Path) -> None:
    code, _, stderr = await run(
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        f"--proto_path={PROTO_ROOT}",
        f"--python_out={tmp_path}",
        f"--grpc_python_out={tmp_path}",
        "verifier/v1/verification.proto",
        cwd=tmp_path,
    )
    assert code == 0, stderr
    client = tmp_path / "client.py"
    client.write_text(
        textwrap.dedent(
            f"""
            import sys
            from pathlib import Path

            import grpc

            from verifier.v1 import verification_pb2 as pb
            from verifier.v1 import verification_pb2_grpc as pb_grpc

            assert Path(pb.__file__).is_relative_to(Path.cwd()), pb.__file__
            with grpc.insecure_channel("{served.address}") as channel:
                response = pb_grpc.VerificationServiceStub(channel).Verify(
                    pb.VerifyRequest(
                        service_item="school_place",
                        subjects=[
                            pb.Subject(role="guardian", id="{GUARDIAN}"),
                            pb.Subject(role="child", id="{CHILD}"),
                        ],
                        parameters={{"district": pb.ParameterValue(string_value="440305")}},
                        reference_date=pb.Date(year=2026, month=8, day=31),
                        purpose={SCHOOL_PLACE_ACCESS["purpose"]!r},
                        legal_basis={SCHOOL_PLACE_ACCESS["legal_basis"]!r},
                        caller=pb.Caller(system="another-language"),
                    ),
                    timeout=5,
                )
            print(pb.DecisionOutcome.Name(response.decision.outcome), len(response.facts))
            """
        ),
        encoding="utf-8",
    )
    code, stdout, stderr = await run(sys.executable, str(client), cwd=tmp_path)
    assert code == 0, stderr
    outcome, facts = stdout.split()
    assert outcome == "DECISION_OUTCOME_ELIGIBLE"
    assert int(facts) > 0


async def test_example_client_prints_the_answer(served: Served) -> None:
    code, stdout, stderr = await run(
        sys.executable,
        "examples/school_place_client.py",
        f"--address={served.address}",
        f"--guardian-id={GUARDIAN}",
        f"--child-id={CHILD}",
        "--reference-date=2026-08-31",
    )
    assert code == 0, stderr
    assert "decision   ELIGIBLE" in stdout
    assert "guardian_is_parent" in stdout
    assert "no longer required:" in stdout


async def test_example_client_prints_field_violations(served: Served) -> None:
    code, _stdout, stderr = await run(
        sys.executable,
        "examples/school_place_client.py",
        f"--address={served.address}",
        f"--guardian-id={with_wrong_check_character(GUARDIAN)}",
        f"--child-id={CHILD}",
    )
    assert code == 2
    assert "subjects[0].id:" in stderr
    assert "Traceback" not in stderr
