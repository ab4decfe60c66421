"""A bare grpc.aio server for ``verifier.v1.VerificationService/Verify``: the ceiling.

    python bench/echo_server.py --port 50061 --response response.bin
    python bench/echo_server.py --port 0 --data-dir var/demo-city   # capture one first

It answers every Verify with one pre-built VerifyResponse (a real verification's answer,
captured once and serialized once) and does nothing else: the request is still parsed and
the answer serialized by the generated handler, as in the real service, with the same
server options. What it reaches is what Python gRPC itself costs on this machine, so
``bench/load_bench.py`` divides the real service's throughput by it.

Prints ``echo listening on HOST:PORT`` once serving; stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import statistics
import sys
import tempfile
from pathlib import Path

import grpc

from verifier.config import ServerConfig
from verifier.service._generated.v1 import verification_pb2 as pb
from verifier.service._generated.v1 import verification_pb2_grpc as pb_grpc

HOST = "127.0.0.1"
READY_PREFIX = "echo listening on "


class EchoServicer(pb_grpc.VerificationServiceServicer):
    def __init__(self, response: pb.VerifyResponse) -> None:
        self._response = response

    async def Verify(  # noqa: N802 - the generated servicer's name
        self, request: pb.VerifyRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> pb.VerifyResponse:
        return self._response


def capture_responses(data_dir: Path) -> list[bytes]:
    """Every sample application's real answer, serialized, from an in-process verifier
    (audit to a scratch file, so the data directory's audit log is left alone)."""
    import verifier
    from verifier.service import _convert

    sys.path.insert(0, str(Path(__file__).parent))
    from _common import CALLER, sample_applications
    from _load_client import audit_settings

    applications = sample_applications(data_dir)

    async def run(audit_dir: Path) -> list[bytes]:
        config = verifier.load_config(data_dir=data_dir, audit=audit_settings(audit_dir)[0])
        async with verifier.build_verifier(config) as engine:
            return [
                _convert.result_to_proto(
                    await engine.verify(application, caller=CALLER)
                ).SerializeToString()
                for application in applications
            ]

    with tempfile.TemporaryDirectory() as scratch:
        return asyncio.run(run(Path(scratch)))


def typical_response(responses: list[bytes]) -> bytes:
    """The answer of median size."""
    median = statistics.median_low(len(response) for response in responses)
    return next(response for response in responses if len(response) == median)


async def serve(port: int, response: pb.VerifyResponse) -> None:
    defaults = ServerConfig()
    server = grpc.aio.server(
        options=[("grpc.max_receive_message_length", defaults.max_message_bytes)],
        maximum_concurrent_rpcs=defaults.max_concurrent_rpcs,
    )
    bound = server.add_insecure_port(f"{HOST}:{port}")
    pb_grpc.add_VerificationServiceServicer_to_server(EchoServicer(response), server)  # type: ignore[no-untyped-call]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    try:
        print(f"{READY_PREFIX}{HOST}:{bound}", flush=True)
        await stop.wait()
    finally:
        await server.stop(1.0)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--response", type=Path, help="a serialized VerifyResponse")
    source.add_argument("--data-dir", type=Path, help="capture a real answer from this city")
    args = parser.parse_args()
    if args.response is not None:
        data = args.response.read_bytes()
    else:
        data = typical_response(capture_responses(args.data_dir))
    asyncio.run(serve(args.port, pb.VerifyResponse.FromString(data)))


if __name__ == "__main__":
    main()
