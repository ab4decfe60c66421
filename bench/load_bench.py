"""Verify throughput and latency over gRPC, against a bare echo server, same client, same run.

    python bench/load_bench.py [--concurrency 1,16,64] [--duration 8] [--warmup 1]
                               [--client-processes 2] [--server-processes 1]
                               [--data-dir DIR] [--no-nofsync] [--no-h2load] [--smoke]

Servers, each its own OS processes on 127.0.0.1 (``--server-processes`` of them sharing one
port through SO_REUSEPORT), all started before the first measurement and stopped at the end:

- verify (fsync):    ``python -m verifier.cli serve``, audit fsync on (the default);
- verify (no fsync): the same with ``VERIFIER_AUDIT__FSYNC=false`` (what fsync costs);
- echo:              ``bench/echo_server.py``, a bare grpc.aio server answering every Verify
                     with one real, pre-built VerifyResponse: the ceiling for Python gRPC.

Each verify process writes its own audit file in a scratch directory (several processes
appending to one file is not a supported set-up), on the same disk as the data.

Clients, for each concurrency level, one server after another:

- python: ``--client-processes`` spawned processes, each with grpc.aio channels and
  concurrency/processes workers sending the 14 sample applications (serialized once)
  with a 5 s deadline, answers left as bytes; calls that start and end inside the measured
  window count;
- h2load (nghttp2-client, if installed): a native HTTP/2 client sending one pre-encoded
  gRPC frame (a first-home application: all four departments). It cannot read gRPC
  trailers, so its errors column says "n/a"; for the verify servers the audit records
  written in the window are the check.

CPU is read from /proc: the servers' utime+stime over the window, the clients' own process
time, and the whole machine's busy share (2 cores: client and server compete for them).
The ratio is verify req/s ÷ echo req/s with the same client at the same concurrency.
Timings drift on a shared 2-core machine: compare within one run.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import _load_client as lc

# verifier and echo_server are imported in main(): the spawned client processes import this
# module again and need neither.

BENCH_DIR = Path(__file__).resolve().parent
DEADLINE_SECONDS = 5.0
GOAL_RATIO = 0.7
H2LOAD_SAMPLE = "first_home_local_buyer"


@dataclass
class Target:
    label: str
    group: lc.ServerGroup
    audit_dirs: list[Path] = field(default_factory=list)
    """One audit directory per server process (verify servers only)."""

    def audit_records(self) -> int:
        return sum(lc.count_lines(directory) for directory in self.audit_dirs)


def verify_target(
    label: str, data_dir: Path, scratch: Path, processes: int, *, fsync: bool
) -> Target:
    port = lc.free_port()
    audit_dir = scratch / f"audit-{'fsync' if fsync else 'nofsync'}"
    audit_dir.mkdir()
    argv = [
        sys.executable,
        "-m",
        "verifier.cli",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
    ]
    group = lc.ServerGroup(label=label, argv=argv, port=port, count=processes, log_dir=scratch)
    return Target(label, group, [audit_dir / f"process-{index}" for index in range(processes)])


def start_verify(target: Target, fsync: bool) -> None:
    """Start the group's processes one by one, each with its own audit file."""
    group = target.group
    for index in range(group.count):
        member = lc.ServerGroup(
            label=f"{group.label} {index}",
            argv=group.argv,
            port=group.port,
            env={
                "VERIFIER_AUDIT__FSYNC": "true" if fsync else "false",
                **lc.audit_settings(target.audit_dirs[index])[1],
            },
            log_dir=group.log_dir,
        )
        try:
            member.start()
        finally:
            group.processes.extend(member.processes)


def sanity_check(target: Target, requests: list[bytes], samples: list[dict[str, object]]) -> str:
    """One call per sample before the load: the answers parse, and the real service decides
    each sample as the demo city says it should."""
    import grpc

    from verifier.service._generated.v1 import verification_pb2 as pb

    mismatches = []
    with grpc.insecure_channel(target.group.address) as channel:
        grpc.channel_ready_future(channel).result(timeout=lc.STARTUP_SECONDS)
        call = channel.unary_unary(lc.VERIFY_METHOD)
        sizes = []
        for request, sample in zip(requests, samples, strict=True):
            answer = pb.VerifyResponse.FromString(call(request, timeout=DEADLINE_SECONDS))
            sizes.append(len(answer.SerializeToString()))
            outcome = pb.DecisionOutcome.Name(answer.decision.outcome).removeprefix(
                "DECISION_OUTCOME_"
            )
            if target.label.startswith("verify") and outcome != sample["expected"]:
                mismatches.append(f"{sample['name']}: {outcome} != {sample['expected']}")
    if mismatches:
        raise RuntimeError(f"{target.label} decided samples wrongly: {mismatches}")
    return f"answers {min(sizes)}-{max(sizes)} B"


# ---- h2load ----------------------------------------------------------------------------------

H2LOAD_DONE = re.compile(
    r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
    r"(\d+) failed, (\d+) errored, (\d+) timeout"
)


def h2load_shape(concurrency: int, server_processes: int) -> tuple[int, int]:
    """(connections, streams per connection): several connections so that every server
    process sharing the port gets some, concurrency = connections x streams."""
    connections = min(concurrency, 4 * server_processes)
    streams = math.ceil(concurrency / connections)
    return max(1, concurrency // streams), streams


def run_h2load(
    h2load: str,
    target: Target,
    frame_file: Path,
    log_file: Path,
    *,
    concurrency: int,
    server_processes: int,
    warmup: float,
    duration: float,
) -> lc.LoadResult:
    connections, streams = h2load_shape(concurrency, server_processes)
    shape = ["-t", "1", "-c", str(connections), "-m", str(streams)]
    timing = ["-D", f"{round(duration * 1000)}ms"]
    if warmup > 0:
        timing += ["--warm-up-time", f"{round(warmup * 1000)}ms"]
    headers = ["content-type: application/grpc", "te: trailers"]
    headers.append(f"grpc-timeout: {int(DEADLINE_SECONDS)}S")
    argv = [h2load, *shape, *timing, "-d", str(frame_file), "--log-file", str(log_file)]
    for header in headers:
        argv += ["-H", header]
    argv.append(f"http://{target.group.address}{lc.VERIFY_METHOD}")
    log_file.unlink(missing_ok=True)
    server = lc.CpuWindow(target.group.pids)
    process = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        time.sleep(warmup + 0.05)
        client_before = lc.process_cpu_seconds(process.pid)
        audited_before = target.audit_records()
        server.begin()
        time.sleep(duration - 0.1)
        server.end()
        audited = target.audit_records() - audited_before
        client_cpu = lc.process_cpu_seconds(process.pid) - client_before
        output, _ = process.communicate(timeout=duration + warmup + lc.CLIENT_MARGIN_SECONDS)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, 9)
            process.wait(timeout=5)
    text = output.decode(errors="replace")
    done = H2LOAD_DONE.search(text)
    if process.returncode != 0 or done is None:
        raise RuntimeError(f"h2load failed ({process.returncode}):\n{text[-2000:]}")
    failed = int(done.group(5)) + int(done.group(6)) + int(done.group(7))
    latencies = []
    for line in log_file.read_text().splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[1] == "200":
            latencies.append(int(parts[2]) / 1e6)
    result = lc.LoadResult(
        client=f"h2load c{connections}xm{streams}",
        calls=len(latencies),
        errors={"HTTP": failed} if failed else {},
        duration=duration,
        latencies=latencies,
        client_cpu=client_cpu / (duration - 0.1) * duration,
        client_processes=1,
        server=server,
    )
    result.audited_per_second = audited / server.wall if target.audit_dirs else None
    return result


# ---- the report ------------------------------------------------------------------------------


def cpu_text(seconds: float, wall: float, processes: int) -> str:
    return f"{100 * seconds / wall:4.0f}% /{processes}p"


def row(label: str, result: lc.LoadResult, echo_rate: float | None, errors: str | None) -> str:
    from _common import percentile

    server = result.server
    per_process = "+".join(f"{100 * s / server.wall:.0f}" for s in server.per_pid)
    server_text = f"{100 * server.seconds / server.wall:4.0f}%"
    if len(server.per_pid) > 1:
        server_text += f" [{per_process}]"
    ratio = f"{result.rate / echo_rate:5.2f}" if echo_rate else "    -"
    server_us = 1e6 * server.seconds / result.calls if result.calls else float("nan")
    client_us = 1e6 * result.client_cpu / result.calls if result.calls else float("nan")
    per_core = result.calls / server.seconds if server.seconds else float("nan")
    others = (server.machine_busy - server.seconds - result.client_cpu) / server.wall
    return (
        f"{label:<19} {result.client:<15} {result.rate:8.0f} "
        f"{1000 * percentile(result.latencies, 0.5):7.2f} "
        f"{1000 * percentile(result.latencies, 0.99):7.2f} "
        f"{errors if errors is not None else result.error_count:>6} "
        f"{cpu_text(result.client_cpu, result.duration, result.client_processes):>10} "
        f"{server_text:>12} {ratio:>6} "
        f"{server_us:7.0f} {client_us:7.0f} {per_core:10.0f} "
        f"{100 * server.machine_fraction:6.0f}% {100 * max(0.0, others):6.0f}%"
    )


HEADER = (
    f"{'server':<19} {'client':<15} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} "
    f"{'client CPU':>10} {'server CPU':>12} {'ratio':>6} "
    f"{'srv µs':>7} {'cli µs':>7} {'req/s/core':>10} {'machine':>7} {'others':>7}"
)
LEGEND = """\
client CPU: % of one core summed over the client's processes (/Np: N processes)
server CPU: % of one core summed over the server processes [per process]
ratio: req/s ÷ echo req/s, same client, same concurrency
srv µs, cli µs: server / client CPU time per call; req/s/core: calls per server CPU-second
machine: busy share of both cores over the window (client, servers and anyone else)
others: CPU used by other processes on the machine, % of one core (noise from outside)"""


def bottleneck(result: lc.LoadResult) -> str:
    """Who ran out of CPU: a Python process is bound near one core (its event loop holds the
    GIL); a gRPC server process can show a little more (C-core and audit threads)."""
    client = result.client_cpu / result.duration / result.client_processes
    server = result.server
    busiest = max(server.per_pid) / server.wall if server.per_pid else 0.0
    machine = server.machine_fraction
    verdict = []
    if client >= 0.9:
        verdict.append("CLIENT")
    if busiest >= 0.9:
        verdict.append("SERVER")
    if machine >= 0.9:
        verdict.append("MACHINE")
    return (
        f"client {100 * client:.0f}%/process, busiest server process {100 * busiest:.0f}%, "
        f"machine {100 * machine:.0f}%: "
        + (" + ".join(verdict) + " saturated" if verdict else "none saturated (latency-bound)")
    )


def main() -> int:
    # Imported here: the spawned client processes import this module again and need neither.
    import _common

    made = _common.parser(__doc__)
    made.add_argument("--concurrency", default="1,16,64", help="comma-separated levels")
    made.add_argument("--duration", type=float, default=8.0, help="measured seconds")
    made.add_argument("--warmup", type=float, default=1.0, help="seconds before measuring")
    made.add_argument("--client-processes", type=int, default=2)
    made.add_argument(
        "--channels",
        type=int,
        default=0,
        help="channels per client process (0: 2 per server process)",
    )
    made.add_argument("--server-processes", type=int, default=1)
    made.add_argument("--no-nofsync", action="store_true", help="skip the fsync=false row")
    made.add_argument("--no-h2load", action="store_true", help="skip the native client")
    made.add_argument("--no-python", action="store_true", help="skip the Python client")
    smoke = {
        "concurrency": "4",
        "duration": 0.5,
        "warmup": 0.2,
        "client_processes": 1,
        "no_nofsync": True,
    }
    args = _common.parse_args(made, smoke)
    levels = [int(level) for level in args.concurrency.split(",")]
    if not (0 < args.duration <= 120 and 0 <= args.warmup <= 30 and levels):
        made.error("duration 0-120 s, warm-up 0-30 s, at least one concurrency level")
    if min(levels) < 1 or max(levels) > 512 or not 1 <= args.server_processes <= 8:
        made.error("concurrency 1-512, server processes 1-8")
    channels = args.channels or 2 * args.server_processes

    import echo_server

    print(
        f"python {sys.version.split()[0]}; grpcio {__import__('grpc').__version__}; "
        f"calls as {_common.CALLER.system}"
    )
    h2load = None if args.no_h2load else shutil.which("h2load")
    if h2load is None and not args.no_h2load:
        print("h2load not found (Debian: apt-get install nghttp2-client): native client skipped")

    with _common.demo_city(args) as (data_dir, scratch):
        samples = _common.load_samples(data_dir)
        requests = _common.serialized_requests(samples)
        responses = echo_server.capture_responses(data_dir)
        echo_response = echo_server.typical_response(responses)
        (scratch / "response.bin").write_bytes(echo_response)
        frame_file = scratch / "request.grpc"
        h2_index = next(i for i, s in enumerate(samples) if s["name"] == H2LOAD_SAMPLE)
        frame_file.write_bytes(lc.grpc_frame(requests[h2_index]))

        targets = [
            verify_target("verify (fsync)", data_dir, scratch, args.server_processes, fsync=True)
        ]
        if not args.no_nofsync:
            targets.append(
                verify_target(
                    "verify (no fsync)", data_dir, scratch, args.server_processes, fsync=False
                )
            )
        echo_port = lc.free_port()
        echo = Target(
            "echo",
            lc.ServerGroup(
                label="echo",
                argv=[
                    sys.executable,
                    str(BENCH_DIR / "echo_server.py"),
                    "--port",
                    str(echo_port),
                    "--response",
                    str(scratch / "response.bin"),
                ],
                port=echo_port,
                count=args.server_processes,
                ready_prefix=echo_server.READY_PREFIX,
                log_dir=scratch,
            ),
        )
        targets.append(echo)

        print(
            f"data: {data_dir}; {len(requests)} sample applications, requests "
            f"{min(map(len, requests))}-{max(map(len, requests))} B, real answers "
            f"{min(map(len, responses))}-{max(map(len, responses))} B, echo answer "
            f"{len(echo_response)} B"
        )
        if h2load is not None:
            print(f"h2load: one application every call ({H2LOAD_SAMPLE}, all four departments)")
        print(
            f"servers: {args.server_processes} process(es) each; python client: "
            f"{args.client_processes} process(es), {channels} channel(s) each; "
            f"{args.duration:g} s measured after {args.warmup:g} s warm-up; "
            f"deadline {DEADLINE_SECONDS:g} s"
        )

        try:
            for target in targets:
                if target.audit_dirs:
                    start_verify(target, fsync="no fsync" not in target.label)
                else:
                    target.group.start()
                print(
                    f"  {target.label}: pids {target.group.pids} on {target.group.address}; "
                    f"{sanity_check(target, requests, samples)}"
                )
            print()
            summary = run_levels(
                args, levels, targets, requests, channels, h2load, scratch, frame_file
            )
        finally:
            for target in targets:
                target.group.stop()
        syncs = audit_syncs(scratch)
    print(LEGEND)
    print()
    print("ratios (per server CPU-second divides calls by the server's CPU: robust to noise)")
    for line in summary:
        print(line)
    for line in syncs:
        print(line)
    return 0


AUDIT_SYNCS = re.compile(r"audit log (\S+): (\d+) records written in (\d+) fsyncs")


def audit_syncs(scratch: Path) -> list[str]:
    """Group commit's batches, from the line each verify server logs as its audit log
    closes (whole run: sanity calls and warm-up included)."""
    lines = []
    for log in sorted(scratch.glob("verify*.log")):
        for found in AUDIT_SYNCS.finditer(log.read_text(errors="replace")):
            records, syncs = int(found.group(2)), int(found.group(3))
            per_sync = f"{records / syncs:.1f} records per fsync" if syncs else "no fsync"
            lines.append(f"audit {log.stem}: {records} records in {syncs} fsyncs ({per_sync})")
    return lines


def run_levels(
    args: argparse.Namespace,
    levels: list[int],
    targets: list[Target],
    requests: list[bytes],
    channels: int,
    h2load: str | None,
    scratch: Path,
    frame_file: Path,
) -> list[str]:
    from _common import ratio_line

    summary = []
    clients = [] if args.no_python else ["python"]
    if h2load is not None:
        clients.append("h2load")
    for level in levels:
        print(f"concurrency {level}")
        print(HEADER)
        notes = []
        for client in clients:
            echo_rate = None
            results = {}
            # The echo server first, so that every verify row has its ratio.
            for target in [targets[-1], *targets[:-1]]:
                if client == "python":
                    result = lc.run_python_load(
                        target.group.address,
                        requests,
                        concurrency=level,
                        client_processes=args.client_processes,
                        channels_per_process=channels,
                        warmup=args.warmup,
                        duration=args.duration,
                        deadline=DEADLINE_SECONDS,
                        server_pids=target.group.pids,
                        records=target.audit_records if target.audit_dirs else None,
                    )
                    errors = None
                else:
                    assert h2load is not None
                    result = run_h2load(
                        h2load,
                        target,
                        frame_file,
                        scratch / "h2load.log",
                        concurrency=level,
                        server_processes=args.server_processes,
                        warmup=args.warmup,
                        duration=args.duration,
                    )
                    errors = f"{result.error_count}*" if result.error_count else "n/a"
                results[target.label] = result
                if target is targets[-1]:
                    echo_rate = result.rate
                print(row(target.label, result, echo_rate, errors), flush=True)
                note = f"  {target.label:<19} {result.client:<15} {bottleneck(result)}"
                if result.errors:
                    note += f"; errors {result.errors}"
                if result.audited_per_second is not None:
                    note += f"; audit records written {result.audited_per_second:.0f}/s"
                notes.append(note)
            echo_result = results.get("echo")
            for label, result in results.items():
                if label != "echo" and echo_result is not None and echo_result.calls:
                    verdict = "meets" if result.rate >= GOAL_RATIO * echo_result.rate else "misses"
                    against = f"echo, {client} client, concurrency {level}"
                    summary.append(
                        ratio_line(
                            f"{label} req/s, {client}, concurrency {level}",
                            result.rate,
                            f"{against}; {verdict} the {GOAL_RATIO} goal",
                            echo_result.rate,
                        )
                    )
                    summary.append(
                        ratio_line(
                            f"{label} calls per server CPU-second, {client}, concurrency {level}",
                            result.calls / result.server.seconds,
                            against,
                            echo_result.calls / echo_result.server.seconds,
                        )
                    )
        print("bottleneck:")
        for note in notes:
            print(note)
        print()
    return summary


if __name__ == "__main__":
    sys.exit(main())
