"""What the gRPC load benchmarks share: servers as process groups, CPU readings, the load client.

Everything here talks to 127.0.0.1 only, and every wait is bounded in time: a server that
does not say it is listening within ``STARTUP_SECONDS`` is killed, a client process that
does not report within its run time plus a margin is terminated.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import queue
import selectors
import signal
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
VERIFY_METHOD = "/verifier.v1.VerificationService/Verify"
STARTUP_SECONDS = 60.0
STOP_SECONDS = 15.0
CLIENT_START_SECONDS = 60.0
CLIENT_MARGIN_SECONDS = 30.0
_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A port nobody listens on now, on 127.0.0.1 (several server processes then share it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


# ---- the requests ---------------------------------------------------------------------------


def grpc_frame(message: bytes) -> bytes:
    """A gRPC length-prefixed message: not compressed, big-endian length, the bytes."""
    return b"\x00" + len(message).to_bytes(4, "big") + message


# ---- where a server's audit log goes ----------------------------------------------------------


def audit_settings(directory: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """Configuration overrides and environment that put a verifier's audit log in
    ``directory``: an ``audit.directory`` (the chained log) or an ``audit.path`` (one file),
    whichever this version of the configuration has."""
    from verifier.config._settings import AuditConfig

    if "directory" in AuditConfig.model_fields:
        return {"directory": directory}, {"VERIFIER_AUDIT__DIRECTORY": str(directory)}
    path = directory / "audit.jsonl"
    return {"path": path}, {"VERIFIER_AUDIT__PATH": str(path)}


def count_lines(directory: Path) -> int:
    """Lines in the audit files under ``directory`` (one per record, plus any checkpoints)."""
    total = 0
    for path in sorted(directory.glob("*.jsonl")):
        try:
            with path.open("rb") as audit:
                while chunk := audit.read(1 << 20):
                    total += chunk.count(b"\n")
        except FileNotFoundError:
            continue
    return total


# ---- servers: started as their own process groups, always stopped ---------------------------


@dataclass
class ServerGroup:
    """``count`` processes of one server command sharing one port (SO_REUSEPORT)."""

    label: str
    argv: list[str]
    port: int
    count: int = 1
    env: dict[str, str] = field(default_factory=dict)
    ready_prefix: str = "verifier listening on "
    log_dir: Path | None = None
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]

    def start(self) -> None:
        env = {**os.environ, **self.env}
        for index in range(self.count):
            log = (
                open(self.log_dir / f"{self.label.replace(' ', '_')}-{index}.log", "wb")  # noqa: SIM115
                if self.log_dir is not None
                else subprocess.DEVNULL
            )
            try:
                process = subprocess.Popen(
                    self.argv,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    env=env,
                    start_new_session=True,  # its own process group, killed as a whole
                )
            finally:
                if log is not subprocess.DEVNULL:
                    log.close()  # type: ignore[union-attr]
            self.processes.append(process)
            self._wait_ready(process)

    def _wait_ready(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        deadline = time.monotonic() + STARTUP_SECONDS
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                    break
                line = process.stdout.readline()
                if not line:
                    break
                if line.decode(errors="replace").startswith(self.ready_prefix):
                    return
        raise RuntimeError(
            f"{self.label}: process {process.pid} did not report {self.ready_prefix!r} "
            f"within {STARTUP_SECONDS:.0f} s (exit code {process.poll()})"
        )

    def stop(self) -> None:
        """SIGTERM every process group, wait, then SIGKILL what is left."""
        for process in self.processes:
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(timeout=5)
            _signal_group(process, signal.SIGKILL)  # anything it left in its group
            if process.stdout is not None:
                process.stdout.close()
        self.processes.clear()


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


@contextlib.contextmanager
def running(groups: Sequence[ServerGroup], *, at_once: bool = False) -> Iterator[None]:
    """Start every group (``at_once``: all together, each waiting for its own readiness in
    a thread: servers starting on a loaded box take seconds each); stop every group on the
    way out, whatever happened."""
    try:
        if at_once:
            with concurrent.futures.ThreadPoolExecutor(max(1, len(groups))) as pool:
                for started in [pool.submit(group.start) for group in groups]:
                    started.result()
        else:
            for group in groups:
                group.start()
        yield
    finally:
        for group in groups:
            group.stop()


# ---- CPU readings from /proc ----------------------------------------------------------------


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rpartition(")")[2].split()
    # fields[0] is the state (field 3 of stat); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / _TICKS


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    with open("/proc/stat", encoding="ascii") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # guest time is already counted in user
    return (total - idle) / _TICKS, total / _TICKS


@dataclass
class CpuWindow:
    """CPU used by some processes and by the machine between ``begin`` and ``end``."""

    pids: list[int]
    wall: float = 0.0
    per_pid: list[float] = field(default_factory=list)
    machine_busy: float = 0.0
    machine_total: float = 0.0
    _start: tuple[float, list[float], tuple[float, float]] | None = None

    def begin(self) -> None:
        self._start = (time.perf_counter(), _cpu_of(self.pids), machine_cpu())

    def end(self) -> None:
        assert self._start is not None
        started, cpu, (busy, total) = self._start
        now_busy, now_total = machine_cpu()
        self.wall = time.perf_counter() - started
        self.per_pid = [
            after - before for before, after in zip(cpu, _cpu_of(self.pids), strict=True)
        ]
        self.machine_busy = now_busy - busy
        self.machine_total = now_total - total

    @property
    def seconds(self) -> float:
        return sum(self.per_pid)

    @property
    def machine_fraction(self) -> float:
        """Busy share of all cores (1.0: every core busy the whole window)."""
        return self.machine_busy / self.machine_total if self.machine_total else float("nan")


def _cpu_of(pids: Sequence[int]) -> list[float]:
    values = []
    for pid in pids:
        try:
            values.append(process_cpu_seconds(pid))
        except OSError:
            values.append(float("nan"))
    return values


# ---- the Python load client: one grpc.aio channel set per OS process -------------------------


@dataclass
class ClientReport:
    latencies: list[float]
    errors: dict[str, int]
    cpu_seconds: float
    wall_seconds: float


def client_process(
    address: str,
    requests: list[bytes],
    workers: int,
    channels: int,
    offset: int,
    warmup: float,
    duration: float,
    deadline: float,
    go: Any,
    ready: Any,
    results: Any,
    service_config: str | None = None,
) -> None:
    """A spawned process: ``workers`` concurrent callers over ``channels`` channels.

    Waits for ``go``, warms up for ``warmup`` seconds, then records every call that starts
    and ends within the next ``duration`` seconds, and its own CPU time over that window.
    """
    try:
        report = asyncio.run(
            _client(
                address,
                requests,
                workers,
                channels,
                offset,
                warmup,
                duration,
                deadline,
                go,
                ready,
                service_config,
            )
        )
        results.put(("ok", report))
    except BaseException as error:  # reported to the parent, which stops the run
        ready.put("failed")
        results.put(("error", f"{type(error).__name__}: {error}"))


async def _client(
    address: str,
    requests: list[bytes],
    workers: int,
    channels: int,
    offset: int,
    warmup: float,
    duration: float,
    deadline: float,
    go: Any,
    ready: Any,
    service_config: str | None,
) -> ClientReport:
    import grpc

    # A local subchannel pool: each channel gets its own TCP connection, so that several
    # server processes on one port (SO_REUSEPORT) each get some of the connections.
    options: list[tuple[str, Any]] = [("grpc.use_local_subchannel_pool", 1)]
    if service_config is not None:  # e.g. round_robin over several addresses
        options.append(("grpc.service_config", service_config))
    opened = [grpc.aio.insecure_channel(address, options=options) for _ in range(channels)]
    try:
        for channel in opened:
            await asyncio.wait_for(channel.channel_ready(), timeout=CLIENT_START_SECONDS)
        # No serializers: requests go out as the bytes built once, answers stay bytes.
        calls = [channel.unary_unary(VERIFY_METHOD) for channel in opened]
        ready.put("ready")
        loop = asyncio.get_running_loop()
        if not await loop.run_in_executor(None, go.wait, CLIENT_START_SECONDS):
            raise TimeoutError("no go from the parent")
        begin = time.perf_counter()
        measure_from = begin + warmup
        measure_until = measure_from + duration
        latencies: list[float] = []
        errors: Counter[str] = Counter()
        cpu: list[float] = []

        async def sample() -> None:
            await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
            cpu.extend((time.process_time(), time.perf_counter()))
            await asyncio.sleep(max(0.0, measure_until - time.perf_counter()))
            cpu.extend((time.process_time(), time.perf_counter()))

        async def worker(index: int) -> None:
            call = calls[index % len(calls)]
            position = offset + index
            while True:
                started = time.perf_counter()
                if started >= measure_until:
                    return
                request = requests[position % len(requests)]
                position += workers
                code = None
                try:
                    await call(request, timeout=deadline)
                except grpc.aio.AioRpcError as error:
                    code = error.code().name
                ended = time.perf_counter()
                if started >= measure_from and ended <= measure_until:
                    if code is None:
                        latencies.append(ended - started)
                    else:
                        errors[code] += 1

        await asyncio.gather(sample(), *(worker(index) for index in range(workers)))
        return ClientReport(
            latencies=latencies,
            errors=dict(errors),
            cpu_seconds=cpu[2] - cpu[0],
            wall_seconds=cpu[3] - cpu[1],
        )
    finally:
        for channel in opened:
            await channel.close(grace=None)


@dataclass
class LoadResult:
    """One load run against one server group at one concurrency."""

    client: str
    calls: int
    errors: dict[str, int]
    duration: float
    latencies: list[float]
    client_cpu: float
    """CPU seconds of the load client(s) over the measured window."""
    client_processes: int
    server: CpuWindow
    audited_per_second: float | None = None
    """Audit records the server wrote per second of the window (verify servers)."""

    @property
    def rate(self) -> float:
        return self.calls / self.duration if self.duration else float("nan")

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def run_python_load(
    address: str,
    requests: list[bytes],
    *,
    concurrency: int,
    client_processes: int,
    channels_per_process: int,
    warmup: float,
    duration: float,
    deadline: float,
    server_pids: list[int],
    records: Callable[[], int] | None = None,
    service_config: str | None = None,
) -> LoadResult:
    """Drive ``address`` from spawned client processes; measure them and the server.

    ``records`` counts what the server has recorded so far (its audit records), read at
    both ends of the measured window. ``service_config`` is the channels' gRPC service
    configuration (JSON), for a target naming several servers (``ipv4:a,b``).
    """
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    processes = max(1, min(client_processes, concurrency))
    shares = [concurrency // processes + (i < concurrency % processes) for i in range(processes)]
    go, ready, results = context.Event(), context.Queue(), context.Queue()
    children = [
        context.Process(
            target=client_process,
            args=(
                address,
                requests,
                share,
                max(1, min(share, channels_per_process)),
                sum(shares[:i]),
                warmup,
                duration,
                deadline,
                go,
                ready,
                results,
                service_config,
            ),
            daemon=True,
        )
        for i, share in enumerate(shares)
    ]
    server = CpuWindow(server_pids)
    try:
        for child in children:
            child.start()
        started = 0
        start_deadline = time.monotonic() + CLIENT_START_SECONDS
        while started < len(children):
            if time.monotonic() > start_deadline:
                raise RuntimeError("the load client processes did not start in time")
            try:
                status = ready.get(timeout=0.5)
            except queue.Empty:
                if any(child.exitcode is not None for child in children):
                    raise RuntimeError("a load client process died while starting") from None
                continue
            if status != "ready":
                raise RuntimeError("a load client process failed to start")
            started += 1
        go.set()
        time.sleep(warmup)
        recorded = records() if records is not None else 0
        server.begin()
        time.sleep(duration)
        server.end()
        if records is not None:
            recorded = records() - recorded
        reports: list[ClientReport] = []
        for _ in children:
            status, payload = results.get(timeout=deadline + CLIENT_MARGIN_SECONDS)
            if status != "ok":
                raise RuntimeError(f"a load client process failed: {payload}")
            reports.append(payload)
    finally:
        for child in children:
            child.join(timeout=5)
            if child.is_alive():
                child.terminate()
                child.join(timeout=5)
            if child.is_alive():
                child.kill()
                child.join(timeout=5)
    errors: Counter[str] = Counter()
    latencies: list[float] = []
    for report in reports:
        errors.update(report.errors)
        latencies.extend(report.latencies)
    wall = statistics_mean([report.wall_seconds for report in reports])
    return LoadResult(
        client=f"python x{processes}",
        calls=len(latencies),
        errors=dict(errors),
        duration=wall,
        latencies=latencies,
        client_cpu=sum(report.cpu_seconds for report in reports),
        client_processes=processes,
        server=server,
        audited_per_second=recorded / server.wall if records is not None else None,
    )


def statistics_mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else float("nan")
