"""``verifier serve --workers 2``: two server processes on one port, supervised — both
answer, each audits in its own chain what it answered, a worker killed with SIGKILL is
restarted and its chain stays whole, SIGTERM drains them all and the supervisor exits 0.
A real supervisor in a child process, real workers, a real port; no timing assertions (the
waits are bounded only so that a fault cannot hang the suite)."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import random
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import grpc
import pytest
import yaml

from adapters.demo_city import generate_demo_city
from adapters.simulator import FaultPlan, FixedLatency, RunningSimulators, run_simulators
from verifier import Application, CallerIdentity, parse_application
from verifier.audit import AuditLogError, Pseudonymiser, read_audit_entries
from verifier.cli._arguments import workers
from verifier.service import VerifierClient
from verifier.service._workers import RestartPolicy, cores, resolved_workers

STARTUP_SECONDS = 60.0
"""Bound on every wait for the supervisor or a worker (never an assertion about speed)."""
ROUNDS = 200
"""At most this many fresh connections to find both workers (the kernel spreads new
connections across them: two in a row land on the same one half the time)."""
CALLER = CallerIdentity(system="demo-service-hall")
READY = re.compile(r"^worker (\d+) ready \(pid (\d+)\)$")
TORN_LINE = b'{"seq": 1000000, "type": "record", "body": {"request_id": "half-writ'
"""The start of an entry a crash cut off: no newline, not JSON."""


async def exited(pid: int) -> None:
    """Wait until process ``pid`` (not our child) has died."""
    loop = asyncio.get_running_loop()
    handle = os.pidfd_open(pid)
    gone: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        if not gone.done():  # called again until the reader is removed
            gone.set_result(None)

    loop.add_reader(handle, readable)
    try:
        await asyncio.wait_for(gone, STARTUP_SECONDS)
    finally:
        loop.remove_reader(handle)
        os.close(handle)


class Supervised:
    """A ``verifier serve`` child process supervising two workers: its address, and its
    workers' pids as it announces them (``worker K ready (pid P)``, restarts included)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.address = ""
        self.lines: list[str] = []
        self.pids: dict[int, int] = {}
        self._changed = asyncio.Condition()
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def start(cls, args: list[str], log: Path) -> Supervised:
        with log.open("ab") as stderr:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "verifier.cli", "serve", "--port", "0", *args,
                stdout=asyncio.subprocess.PIPE, stderr=stderr,
            )  # fmt: skip
        supervised = cls(process)
        try:
            await supervised.wait_for(lambda: len(supervised.pids) == 2)
        except BaseException:
            await supervised.stop(signal.SIGKILL)
            raise
        return supervised

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            text = line.decode().rstrip()
            async with self._changed:
                self.lines.append(text)
                if text.startswith("verifier listening on "):
                    self.address = self.address or text.removeprefix("verifier listening on ")
                if ready := READY.match(text):
                    self.pids[int(ready.group(1))] = int(ready.group(2))
                self._changed.notify_all()
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, condition: Callable[[], bool]) -> None:
        async def until() -> None:
            async with self._changed:
                while not condition():
                    assert not self._reader.done(), f"the supervisor ended: {self.lines}"
                    await self._changed.wait()

        await asyncio.wait_for(until(), STARTUP_SECONDS)

    async def stop(self, sig: signal.Signals) -> int:
        if self.process.returncode is None:
            self.process.send_signal(sig)
        code = await asyncio.wait_for(self.process.wait(), STARTUP_SECONDS)
        await self._reader
        return code

    async def kill_workers(self) -> None:
        """Leave nothing behind if a test failed half-way."""
        for pid in self.pids.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@contextlib.asynccontextmanager
async def fresh_client(address: str) -> AsyncIterator[VerifierClient]:
    """A client on its own TCP connection: grpc shares one connection between the channels
    of a process unless each keeps its own subchannel pool."""
    options = [("grpc.use_local_subchannel_pool", 1)]
    async with grpc.aio.insecure_channel(address, options=options) as channel:
        yield VerifierClient(channel, caller=CALLER)


Supervise = Callable[[list[str]], Awaitable[Supervised]]


@pytest.fixture
async def supervise(tmp_path: Path) -> AsyncIterator[Supervise]:
    """Start ``verifier serve --port 0 ARGS``; whatever a test leaves running is killed."""
    started: list[Supervised] = []

    async def start(args: list[str]) -> Supervised:
        started.append(await Supervised.start(args, tmp_path / "serve.log"))
        return started[-1]

    yield start
    for server in started:
        await server.stop(signal.SIGKILL)
        await server.kill_workers()


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("workers-city")
    generate_demo_city(directory, people=300)
    return directory


@pytest.fixture
def data_dir(city: Path, tmp_path: Path) -> Path:
    """The demo city, with an audit directory of this test's own."""
    copy = tmp_path / "city"
    copy.mkdir()
    for path in city.iterdir():
        if path.is_file():
            (copy / path.name).symlink_to(path)
    return copy


@pytest.fixture(scope="module")
def applications(city: Path) -> list[Application]:
    """The demo city's sample applications, every item and outcome."""
    samples = json.loads((city / "samples.json").read_text(encoding="utf-8"))["samples"]
    return [parse_application(sample["application"]) for sample in samples]


def recorded(chain: Path) -> Counter[str]:
    """Request ids of the records in one worker's chain (a line being written is not yet
    read: the chain is read again later)."""
    try:
        return Counter(
            entry.body["request_id"]
            for entry in read_audit_entries(chain)
            if entry.type == "record"
        )
    except AuditLogError:
        return Counter()


def audit_command(*args: str) -> subprocess.CompletedProcess[str]:
    """``verifier audit …``, as an auditor runs it (once the server has stopped)."""
    return subprocess.run(
        [sys.executable, "-m", "verifier.cli", "audit", *args],
        capture_output=True, text=True, timeout=STARTUP_SECONDS,
    )  # fmt: skip


def audit_verify(chain: Path) -> subprocess.CompletedProcess[str]:
    return audit_command("verify", "--audit-dir", str(chain))


def assert_every_answer_in_exactly_one_chain(audit: Path, answered: list[str]) -> None:
    together = recorded(audit / "worker-1") + recorded(audit / "worker-2")
    assert [request for request in answered if together[request] != 1] == []
    assert max(together.values()) == 1


def assert_chains_intact(audit: Path) -> None:
    """Each worker's chain verifies on its own, and the audit directory verifies as the
    two chains it holds."""
    for slot in (1, 2):
        verified = audit_verify(audit / f"worker-{slot}")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert f"worker-{slot}: INTACT" in verified.stdout
    both = audit_verify(audit)
    assert both.returncode == 0, both.stdout + both.stderr
    states = re.findall(r"^audit log (\S+): (\w+)$", both.stdout, re.MULTILINE)
    assert states == [(str(audit / f"worker-{slot}"), "INTACT") for slot in (1, 2)]


async def verify_on_fresh_connections(
    address: str, applications: list[Application], answered: list[str], done: Callable[[], bool]
) -> None:
    """One call per new connection until ``done()``; calls refused with UNAVAILABLE (a
    worker gone, not yet back) are tried again on another connection."""
    rng = random.Random(20260831)
    refusals: Counter[str] = Counter()
    for _ in range(ROUNDS):
        assert set(refusals) <= {"UNAVAILABLE"}, refusals
        if done():
            return
        async with fresh_client(address) as client:
            try:
                result = await client.verify(rng.choice(applications), timeout=10.0)
            except grpc.aio.AioRpcError as error:
                refusals[error.code().name] += 1
                continue
            answered.append(result.request_id)
    assert set(refusals) <= {"UNAVAILABLE"}, refusals
    assert done(), f"not done after {ROUNDS} connections"


async def test_both_workers_answer_and_each_audits_its_own_answers(
    data_dir: Path, applications: list[Application], supervise: Supervise
) -> None:
    audit = data_dir / "audit"
    answered: list[str] = []
    server = await supervise(["--workers", "2", "--data-dir", str(data_dir)])
    assert server.address.startswith("127.0.0.1:")
    assert sum(line.startswith("verifier listening on ") for line in server.lines) == 1

    def both_audited() -> bool:
        return all(recorded(audit / f"worker-{slot}") for slot in (1, 2))

    await verify_on_fresh_connections(server.address, applications, answered, both_audited)
    assert await server.stop(signal.SIGTERM) == 0
    assert both_audited()
    assert_every_answer_in_exactly_one_chain(audit, answered)
    assert_chains_intact(audit)
    # One signing key and one pseudonym key for all: the workers' records are one service's.
    public_key = (audit / "signing-key.pub.pem").read_bytes()
    for slot in (1, 2):
        assert (audit / f"worker-{slot}" / "signing-key.pub.pem").read_bytes() == public_key
    key = bytes.fromhex((data_dir / "keys" / "pseudonym.key").read_text().strip())
    fingerprints = {
        entry.body["pseudonym_key_fingerprint"]
        for slot in (1, 2)
        for entry in read_audit_entries(audit / f"worker-{slot}")
        if entry.type == "record"
    }
    assert fingerprints == {Pseudonymiser(key).fingerprint}
    # The auditor's commands read the audit directory as the chains it holds.
    query = audit_command("query", "--json", "--data-dir", str(data_dir))
    assert query.returncode == 0, query.stderr
    listed = [json.loads(line)["request_id"] for line in query.stdout.splitlines()]
    assert sorted(listed) == sorted(answered)


async def test_a_worker_killed_with_sigkill_is_restarted_and_its_chain_stays_whole(
    data_dir: Path, applications: list[Application], supervise: Supervise
) -> None:
    audit = data_dir / "audit"
    answered: list[str] = []
    server = await supervise(["--workers", "2", "--data-dir", str(data_dir)])
    await verify_on_fresh_connections(
        server.address, applications, answered, lambda: bool(recorded(audit / "worker-1"))
    )
    killed = server.pids[1]
    # The supervisor held still while worker 1 dies and the crash's torn line is laid on
    # its chain's tail (as a kill in the middle of a write leaves one): the restarted
    # worker must find it, cut it off and record the repair.
    os.kill(server.process.pid, signal.SIGSTOP)
    try:
        os.kill(killed, signal.SIGKILL)
        await exited(killed)
        tail = sorted((audit / "worker-1").glob("audit-*.jsonl"))[-1]
        with tail.open("ab") as torn:
            torn.write(TORN_LINE)
    finally:
        os.kill(server.process.pid, signal.SIGCONT)
    await server.wait_for(lambda: server.pids[1] != killed)
    # Served again, by the new worker 1 too: its chain grows past what it had.
    before = sum(recorded(audit / "worker-1").values())
    await verify_on_fresh_connections(
        server.address,
        applications,
        answered,
        lambda: sum(recorded(audit / "worker-1").values()) > before,
    )
    assert await server.stop(signal.SIGTERM) == 0
    assert_every_answer_in_exactly_one_chain(audit, answered)
    assert_chains_intact(audit)
    repairs = [e.body for e in read_audit_entries(audit / "worker-1") if e.type == "recovery"]
    assert [repair["truncated_bytes"] for repair in repairs] == [len(TORN_LINE)]


DEPARTMENT_MS = 300.0
"""Slow departments: calls are in flight when the signal comes."""
CALLERS = 8
DEPARTMENTS = ("household", "social_insurance", "housing", "tax")


@pytest.fixture
async def slow_departments(city: Path) -> AsyncIterator[RunningSimulators]:
    slow = FaultPlan(latency=FixedLatency(ms=DEPARTMENT_MS))
    async with run_simulators(city, dict.fromkeys(DEPARTMENTS, 0), slow) as running:
        yield running


async def test_sigterm_drains_every_worker_and_the_supervisor_exits_0(
    data_dir: Path,
    applications: list[Application],
    slow_departments: RunningSimulators,
    supervise: Supervise,
    tmp_path: Path,
) -> None:
    settings = {
        "data_dir": str(data_dir),
        "timeout_seconds": 5,
        "cache": {"enabled": False},  # every call asks the slow departments
        # The configuration's way of asking for two workers (no --workers).
        "server": {"shutdown_grace_seconds": 10, "workers": 2},
        **yaml.safe_load(slow_departments.config_snippet()),
    }
    config = tmp_path / "verifier.yaml"
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    audit = data_dir / "audit"
    ended: Counter[str] = Counter()
    answered: list[str] = []
    in_flight_answered: list[str] = []
    flowing, signalled = asyncio.Event(), asyncio.Event()

    async def call_until_the_signal(seed: int) -> None:
        """Calls one after another until SIGTERM is sent; the one in flight then must be
        answered, or refused with UNAVAILABLE if the drain began before it arrived. (No new
        call after the signal: one that reaches a worker after its drain let grpc stop
        would be cut off by grpc itself — the drain's own tests cover that window.)"""
        rng = random.Random(seed)
        async with fresh_client(server.address) as client:
            while not signalled.is_set():
                try:
                    result = await client.verify(rng.choice(applications), timeout=10.0)
                except grpc.aio.AioRpcError as error:
                    ended[error.code().name] += 1
                    return
                ended["OK"] += 1
                answered.append(result.request_id)
                if signalled.is_set():
                    in_flight_answered.append(result.request_id)
                if len(answered) >= 2 * CALLERS:
                    flowing.set()

    server = await supervise(["--config", str(config)])
    load = asyncio.gather(*(call_until_the_signal(n) for n in range(CALLERS)))
    await asyncio.wait_for(flowing.wait(), STARTUP_SECONDS)
    server.process.send_signal(signal.SIGTERM)
    signalled.set()
    await asyncio.wait_for(load, STARTUP_SECONDS)
    assert await server.stop(signal.SIGTERM) == 0
    assert set(ended) <= {"OK", "UNAVAILABLE"}, ended  # never CANCELLED, nothing timed out
    # Calls take 300 ms: most of those in flight at the signal had been accepted.
    assert in_flight_answered
    assert server.lines[-1] == "verifier stopped"
    assert {line for line in server.lines if line.endswith(": verifier stopped")} == {
        "worker 1: verifier stopped",
        "worker 2: verifier stopped",
    }
    assert_every_answer_in_exactly_one_chain(audit, answered)
    assert_chains_intact(audit)  # sealed: no --allow-open-tail


async def test_a_worker_that_cannot_start_stops_the_supervisor_with_its_status(
    data_dir: Path, tmp_path: Path
) -> None:
    # Another writer (a supervisor of the same directory still running) holds worker 1's
    # chain: that worker refuses to start, and so does the supervisor, naming why.
    taken = data_dir / "audit" / "worker-1"
    taken.mkdir(parents=True)
    holder = os.open(taken, os.O_RDONLY)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "verifier.cli", "serve", "--workers", "2",
            "--data-dir", str(data_dir), stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        output, errors = await asyncio.wait_for(process.communicate(), STARTUP_SECONDS)
    finally:
        os.close(holder)
    text = errors.decode()
    assert process.returncode == 2, text  # the worker's own status: a configuration error
    assert f"audit directory {taken} is in use by another writer" in text
    assert "worker 1 did not start (exit status 2); stopping the other workers" in text
    assert b"verifier listening on" not in output


def test_workers_zero_or_auto_means_one_per_core() -> None:
    assert workers("auto") == workers("0") == 0
    assert workers("3") == 3
    assert resolved_workers(0) == cores() == len(os.sched_getaffinity(0))
    assert resolved_workers(2) == 2


def test_restarts_back_off_to_a_bounded_rate() -> None:
    policy = RestartPolicy(first_delay=0.5, max_delay=30.0)
    delays = [policy.delay(failures) for failures in range(1, 12)]
    assert delays[:4] == [0.5, 1.0, 2.0, 4.0]
    assert delays == sorted(delays)
    assert max(delays) == 30.0
