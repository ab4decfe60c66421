"""What access control costs a verification, measured against the verification itself.

    python bench/access_bench.py [--people 10000] [--iterations 5000] [--smoke]

In one run, over the demo city's sample applications (both items), one at a time:

- authorise: ``verifier.access.authorise`` alone — the caller's right to the item, then
  every fact against its sharing class, purposes, legal basis and consent;
- verify: the whole in-process verification (audit written without fsync, cache off), the
  baseline the first is a fraction of;
- refused: a verification access control refuses (first-home without consent): validation,
  authorisation and the refusal's audit record, with no department called.

Timings drift on a shared 2-core machine: compare the ratios within one run.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from _common import demo_city, median, parse_args, parser, print_ratio, sample_applications, timed

import verifier
from verifier.access import authorise
from verifier.model import EMBEDDED_CALLER, Application


def row(name: str, samples: list[float], baseline: float) -> str:
    middle = median(samples)
    return f"{name:<12} median {middle:8.1f} µs   ratio to verify {middle / baseline:5.3f}"


async def run(data_dir: Path, scratch: Path, iterations: int, warmup: int) -> None:
    applications = sample_applications(data_dir)
    refused = next(a for a in applications if a.service_item == "first_home_purchase")
    refused = refused.model_copy(update={"consent_reference": None})
    config = verifier.load_config(
        data_dir=data_dir,
        audit={"directory": scratch / "audit", "fsync": False},
        cache={"enabled": False},
        telemetry={"exporter": "none"},
    )
    async with verifier.build_verifier(config) as engine:

        def application(index: int) -> Application:
            return applications[index % len(applications)]

        async def authorise_one(index: int) -> None:
            item = engine.items.get(application(index).service_item)
            assert not authorise(
                item, application(index), EMBEDDED_CALLER, engine.catalogue, engine.access
            )

        async def verify_one(index: int) -> None:
            await engine.verify(application(index))

        async def refuse_one(index: int) -> None:
            try:
                await engine.verify(refused)
            except verifier.AccessDenied:
                return
            raise AssertionError("served without consent")

        verify = await timed(verify_one, iterations, warmup=warmup)
        baseline = median(verify)
        print(row("verify", verify, baseline))
        measured = {
            "authorise": await timed(authorise_one, iterations, warmup=warmup),
            "refused": await timed(refuse_one, iterations, warmup=warmup),
        }
        for name, samples in measured.items():
            print(row(name, samples, baseline))
        print()
        for name, samples in measured.items():
            print_ratio(f"{name} median", median(samples), "verify median", baseline)


def main() -> None:
    made = parser(__doc__)
    made.add_argument("--iterations", type=int, default=5000)
    made.add_argument("--warmup", type=int, default=200, help="untimed calls per row")
    args = parse_args(made, smoke={"iterations": 30, "warmup": 14})
    with demo_city(args) as (data_dir, scratch):
        print(f"{args.people} people, {args.iterations} calls per row, one at a time\n")
        asyncio.run(run(data_dir, scratch, args.iterations, args.warmup))


if __name__ == "__main__":
    main()
