"""The main job: serve the embedded default, verify the demo city's samples over gRPC, stop.

Starts ``verifier serve`` as a separate process on a free port (as an operator would),
sends every sample application through a real gRPC channel, prints the decisions and facts
with latencies, shows what bad input gets back, stops the server with SIGTERM, and re-checks
a few thousand rows of a demo caseload in bulk (``_demo_recheck``), with its summary.
"""

from __future__ import annotations

import asyncio
import json
import signal
import statistics
import time
from typing import Any

import grpc

from verifier._errors import AccessDenied, ConfigurationError, InvalidApplication
from verifier.cli._demo_recheck import show_recheck
from verifier.cli._render import fact_value_text
from verifier.config import VerifierConfig, ensure_demo_city
from verifier.model import (
    ApplicationSubject,
    CallerIdentity,
    VerificationResult,
    parse_application,
)
from verifier.service import VerifierClient

DEMO_CALLER = CallerIdentity(system="demo-service-hall", department="district-service-centre")
STARTUP_SECONDS = 60.0


async def run_demo_job(config: VerifierConfig, python: str) -> int:
    print("onestop-verifier demo: the embedded default (SQLite departments, file audit log)\n")
    if ensure_demo_city(config.data_dir, progress=lambda line: print(f"  {line}")):
        print()
    samples = json.loads((config.data_dir / "samples.json").read_text(encoding="utf-8"))
    server = await asyncio.create_subprocess_exec(
        python, "-m", "verifier.cli", "serve", "--port", "0", "--data-dir", str(config.data_dir),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        address = await _wait_until_listening(server)
        print(f"server: pid {server.pid}, listening on {address}\n")
        async with VerifierClient.connect(address, caller=DEMO_CALLER) as client:
            mismatches = await _verify_samples(client, samples["samples"])
            await _show_bad_input(client, samples["samples"][0]["application"])
            home = next(
                sample["application"]
                for sample in samples["samples"]
                if sample["application"]["service_item"] == "first_home_purchase"
            )
            await _show_refusal(client, home)
        await _show_unknown_caller(address, home)
    finally:
        code = await _stop(server)
    audit = config.audit_directory()
    print(f"\nserver stopped on SIGTERM (exit code {code}); audit log: {audit}")
    rechecked = await show_recheck(config, python)
    return 1 if mismatches or code != 0 or rechecked not in (0, 4) else 0


async def _wait_until_listening(server: asyncio.subprocess.Process) -> str:
    assert server.stdout is not None
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        line = await asyncio.wait_for(server.stdout.readline(), deadline - time.monotonic())
        if not line:
            break
        text = line.decode().strip()
        if text.startswith("verifier listening on "):
            return text.removeprefix("verifier listening on ")
    raise ConfigurationError("the demo server did not start")


async def _verify_samples(client: VerifierClient, samples: list[dict[str, Any]]) -> int:
    print(f"{'application':<36} {'expected':<13} {'decision':<13} {'ms':>6}  facts")
    latencies, mismatches = [], 0
    shown: VerificationResult | None = None
    for sample in samples:
        application = parse_application(sample["application"])
        started = time.perf_counter()
        result = await client.verify(application, timeout=5.0)
        latencies.append((time.perf_counter() - started) * 1000)
        flag = "" if result.decision.outcome == sample["expected"] else "  <-- MISMATCH"
        mismatches += bool(flag)
        facts = ", ".join(f"{f.name}={fact_value_text(f)}" for f in result.facts)
        print(
            f"{sample['name']:<36} {sample['expected']:<13} {result.decision.outcome:<13} "
            f"{latencies[-1]:6.1f}  {facts}{flag}"
        )
        if shown is None and result.decision.outcome == "NEEDS_REVIEW":
            shown = result
    print(
        f"\n{len(samples)} applications over gRPC: median {statistics.median(latencies):.1f} ms, "
        f"max {max(latencies):.1f} ms; {len(samples) - mismatches} decided as expected"
    )
    if shown is not None:
        print(f"\nwhy {shown.service_item} needs review (request {shown.request_id}):")
        for clause in shown.decision.explanation:
            print(f"  {'  ' * clause.depth}{clause.outcome:<7} {clause.label}")
    return mismatches


async def _show_bad_input(client: VerifierClient, application: dict[str, Any]) -> None:
    """Send an ID with a wrong check character, built without client-side validation, so the
    server's own refusal shows (a service-hall system in another language gets the same)."""
    valid = parse_application(application)
    first = valid.subjects[0]
    wrong = "0" if first.id[-1] != "0" else "1"
    broken = ApplicationSubject.model_construct(role=first.role, id=first.id[:-1] + wrong,
                                                kind=first.kind)  # fmt: skip
    bad = valid.model_copy(update={"subjects": (broken, *valid.subjects[1:])})
    print("\nbad input (a resident ID with a wrong check character) is refused, by field:")
    try:
        await client.verify(bad, timeout=5.0)
    except InvalidApplication as error:
        for violation in error.violations:
            print(f"  INVALID_ARGUMENT {violation.field}: {violation.description}")
    else:
        raise ConfigurationError("the server accepted an invalid resident ID")


async def _show_refusal(client: VerifierClient, application: dict[str, Any]) -> None:
    """The same first-home application without the buyer's consent: the catalogue shares
    property and tax facts only with it, so the server refuses before asking anyone."""
    without_consent = {k: v for k, v in application.items() if k != "consent_reference"}
    print("\nthe same first-home application without the buyer's consent reference:")
    try:
        await client.verify(parse_application(without_consent), timeout=5.0)
    except AccessDenied as denied:
        for refusal in denied.refusals:
            print(
                f"  PERMISSION_DENIED {refusal.fact}: {refusal.rule} "
                f"({refusal.department}, {refusal.sharing}); no department was asked"
            )
    else:
        raise ConfigurationError("the server disclosed facts that need consent without it")


async def _show_unknown_caller(address: str, application: dict[str, Any]) -> None:
    stranger = CallerIdentity(system="unregistered-system")
    print("\na calling system the configuration does not register:")
    async with VerifierClient.connect(address, caller=stranger) as client:
        try:
            await client.verify(parse_application(application), timeout=5.0)
        except grpc.aio.AioRpcError as error:
            if error.code() is not grpc.StatusCode.UNAUTHENTICATED:
                raise
            print(f"  UNAUTHENTICATED {error.details()}")
        else:
            raise ConfigurationError("the server served an unregistered caller")


async def _stop(server: asyncio.subprocess.Process) -> int:
    if server.returncode is None:
        server.send_signal(signal.SIGTERM)
    return await server.wait()
