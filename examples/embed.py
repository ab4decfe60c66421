"""Verify a school-place application in-process on the demo city.

Run it after the README's set-up:  python examples/embed.py
It generates the demo city on first use (into var/demo-city), then verifies the sample
application of a guardian who rents in the school's district, and prints the status facts,
where each came from, and the decision with its explanation — never a raw record.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import verifier


async def main(data_dir: Path, sample_name: str) -> None:
    config = verifier.load_config(data_dir=data_dir)
    if verifier.ensure_demo_city(config.data_dir, progress=print):
        print(f"generated the demo city in {config.data_dir}\n")

    samples = json.loads((config.data_dir / "samples.json").read_text(encoding="utf-8"))
    sample = next(s for s in samples["samples"] if s["name"] == sample_name)
    application = verifier.parse_application(sample["application"])

    async with verifier.build_verifier(config) as engine:
        result = await engine.verify(application)

    print(f"{sample['description']}\n")
    print(f"service item  {result.service_item} (rules v{result.item_version})")
    print(f"as of         {result.reference_date}")
    print(f"decision      {result.decision.outcome}   (expected {sample['expected']})\n")

    print("facts (status facts, not records):")
    for fact in result.facts:
        value = fact.value if fact.known else f"UNKNOWN: {fact.reason}"
        source = fact.provenance
        as_of = f" (data as of {source.source_as_of:%Y-%m-%d})" if source.source_as_of else ""
        print(f"  {fact.name:<38} {value!s:<8} from {source.department}{as_of}")

    print("\nwhy:")
    for clause in result.decision.explanation:
        print(
            f"  {'  ' * clause.depth}{clause.outcome:<7} {clause.label}"
            + (f"  [{clause.threshold}]" if clause.threshold else "")
        )

    print("\ndepartments asked (one call each, concurrently):")
    for call in result.department_calls:
        print(f"  {call.department:<18} {call.outcome:<6} {call.duration_ms:.2f} ms")
    print("\npaper proofs the family no longer needs to bring:")
    for document in result.documents_not_required:
        print(f"  - {document}")


if __name__ == "__main__":
    name = sys.argv[1] if len(sys.argv) > 1 else "school_place_rental_and_insurance"
    asyncio.run(main(Path("var/demo-city"), name))
