"""Privacy as a tested property of traces and metrics: no canary, no ID number, ever.

The demo city plants CANARY strings in every raw table; its samples cover every item and
outcome. Everything a verification leaves in telemetry — span names, attributes, events,
statuses, metric attributes — is scanned for them and for the subjects' full ID numbers.
"""

from __future__ import annotations

from pathlib import Path

from telemetry_support import Recorded, recorded_telemetry

import verifier
from adapters.demo_city import DemoCityManifest
from verifier import parse_application
from verifier.audit import Pseudonymiser


def telemetry_text(recorded: Recorded) -> str:
    """Every span in full (name, attributes, events, status, links) and every metric point."""
    parts = [span.to_json() for span in recorded.spans()]
    data = recorded.reader.get_metrics_data()
    assert data is not None
    parts.append(data.to_json())
    return "\n".join(parts)


async def test_no_canary_or_id_in_spans_or_metrics(
    demo_city: DemoCityManifest, tmp_path: Path
) -> None:
    assert demo_city.canaries
    recorded = recorded_telemetry()
    key = "ab" * 32
    broken = tmp_path / "tax.db"
    broken.write_bytes(b"CANARY-not-a-database " * 100)
    config = verifier.load_config(
        data_dir=tmp_path,
        audit={"pseudonym_key": key},
        departments={
            "household": {"url": f"sqlite:///{demo_city.data_dir / 'household.db'}"},
            "social_insurance": {"url": f"sqlite:///{demo_city.data_dir / 'social_insurance.db'}"},
            "housing": {"url": f"sqlite:///{demo_city.data_dir / 'housing.db'}"},
            "tax": {"url": f"sqlite:///{broken}"},
        },
    )
    applications = [parse_application(sample.application) for sample in demo_city.samples]
    async with verifier.build_verifier(config, telemetry=recorded.handle) as engine:
        for application in applications:
            await engine.verify(application)
        text = telemetry_text(recorded)

    verify_spans = [span for span in recorded.spans() if span.name.startswith("verify ")]
    assert len(verify_spans) == len(applications)
    assert any(span.status.description == "department call ERROR" for span in recorded.spans())
    leaked = [canary for canary in demo_city.canaries if canary in text]
    assert not leaked, f"{len(leaked)} canaries leaked into telemetry, e.g. {leaked[0]!r}"
    assert "CANARY" not in text
    ids = {subject.id for application in applications for subject in application.subjects}
    assert not [subject for subject in ids if subject in text], "full ID numbers in telemetry"

    # Subjects are there, but only as the verifier's keyed pseudonyms.
    pseudonymiser = Pseudonymiser(bytes.fromhex(key))
    for span, application in zip(verify_spans, applications, strict=True):
        assert span.attributes is not None
        assert span.attributes["verifier.subjects"] == tuple(
            pseudonymiser.pseudonym(subject.id) for subject in application.subjects
        )
