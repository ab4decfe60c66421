"""Exporters chosen by configuration: none, console, JSON Lines file, OTLP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, InMemoryMetricReader
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from support import SCHOOL_PLACE_ACCESS, resident_id
from telemetry_support import CapturingAuditSink, MakeTracedVerifier

import verifier
from adapters.demo_city import DemoCityManifest
from verifier import ConfigurationError, parse_application
from verifier.telemetry import (
    JsonLinesMetricExporter,
    JsonLinesSpanExporter,
    configure_telemetry,
)

GUARDIAN = resident_id("44030519850312201")
CHILD = resident_id("44030520170605102")
SCHOOL_PLACE = {
    "service_item": "school_place",
    "subjects": [{"role": "guardian", "id": GUARDIAN}, {"role": "child", "id": CHILD}],
    "parameters": {"district": "440305"},
    "reference_date": "2026-08-31",
    **SCHOOL_PLACE_ACCESS,
}


def telemetry_config(**values: Any) -> Any:
    return verifier.load_config(telemetry=values).telemetry


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="ascii").splitlines()]


async def test_jsonl_writes_one_parseable_line_per_span_and_metric_point(
    make_traced_verifier: MakeTracedVerifier, tmp_path: Path
) -> None:
    path = tmp_path / "telemetry" / "spans.jsonl"
    handle = configure_telemetry(telemetry_config(exporter="jsonl", jsonl_path=path))
    audit = CapturingAuditSink()
    async with make_traced_verifier(audit=audit, telemetry=handle) as engine:
        result = await engine.verify(parse_application(SCHOOL_PLACE))
    # Closing the verifier flushed both the batched spans and a last metrics export.

    lines = read_lines(path)
    spans = [line for line in lines if line["type"] == "span"]
    assert len(spans) == 1 + len(result.department_calls)
    [verify] = [span for span in spans if span["name"] == "verify school_place"]
    assert verify["trace_id"] == audit.records[0].trace_id
    assert verify["parent_span_id"] is None
    assert verify["attributes"]["verifier.decision"] == "ELIGIBLE"
    assert verify["status"] == {"code": "UNSET", "description": None}
    assert verify["end_time_unix_nano"] >= verify["start_time_unix_nano"]
    assert verify["service_name"] == "onestop-verifier"
    children = [span for span in spans if span is not verify]
    assert {span["parent_span_id"] for span in children} == {verify["span_id"]}
    assert all(isinstance(span["attributes"]["verifier.facts"], list) for span in children)

    metrics = {line["name"]: line for line in lines if line["type"] == "metric"}
    assert metrics["verifier.verifications"]["value"] == 1
    assert metrics["verifier.verification.duration"]["count"] == 1
    assert metrics["verifier.verification.duration"]["unit"] == "ms"
    assert path.stat().st_mode & 0o077 == 0, "spans name callers: owner-only file"


def test_jsonl_exporters_append_to_a_shared_file(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    first, second = JsonLinesSpanExporter(path), JsonLinesMetricExporter(path)
    first.shutdown()
    second.shutdown()
    assert first.force_flush()
    assert second.force_flush()
    assert path.exists()


def test_none_sets_up_nothing() -> None:
    handle = configure_telemetry(telemetry_config(exporter="none"))
    assert (handle.tracer_provider, handle.meter_provider, handle.span_exporter) == (None,) * 3
    handle.shutdown()
    handle.shutdown()  # idempotent


def test_console_prints_to_standard_output(capsys: pytest.CaptureFixture[str]) -> None:
    handle = configure_telemetry(telemetry_config(exporter="console"))
    assert isinstance(handle.span_exporter, ConsoleSpanExporter)
    assert isinstance(handle.metric_exporter, ConsoleMetricExporter)
    assert handle.tracer_provider is not None
    with handle.tracer_provider.get_tracer("test").start_as_current_span("printed"):
        pass
    handle.shutdown()
    assert '"name": "printed"' in capsys.readouterr().out


def test_jsonl_and_otlp_exporters_are_chosen_by_configuration(tmp_path: Path) -> None:
    jsonl = configure_telemetry(telemetry_config(exporter="jsonl", jsonl_path=tmp_path / "t.jl"))
    assert isinstance(jsonl.span_exporter, JsonLinesSpanExporter)
    assert jsonl.span_exporter.path == tmp_path / "t.jl"
    assert isinstance(jsonl.metric_exporter, JsonLinesMetricExporter)
    jsonl.shutdown()

    # Constructing sends nothing: no collector is needed for this test.
    otlp = configure_telemetry(
        telemetry_config(exporter="otlp", otlp_endpoint="http://collector.invalid:4318/")
    )
    assert isinstance(otlp.span_exporter, OTLPSpanExporter)
    assert isinstance(otlp.metric_exporter, OTLPMetricExporter)
    assert otlp.span_exporter._endpoint == "http://collector.invalid:4318/v1/traces"
    assert otlp.metric_exporter._endpoint == "http://collector.invalid:4318/v1/metrics"
    otlp.shutdown()


def test_environment_overrides_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config_file = tmp_path / "verifier.yaml"
    config_file.write_text("telemetry:\n  exporter: console\n", encoding="utf-8")
    monkeypatch.setenv("VERIFIER_TELEMETRY__EXPORTER", "otlp")
    monkeypatch.setenv("VERIFIER_TELEMETRY__OTLP_ENDPOINT", "http://collector:4318")
    monkeypatch.setenv("VERIFIER_ALERTS__ENABLED", "true")
    monkeypatch.setenv("VERIFIER_ALERTS__OFF_HOURS_START", "23:30")
    config = verifier.load_config(config_file)
    assert (config.telemetry.exporter, config.telemetry.otlp_endpoint) == (
        "otlp",
        "http://collector:4318",
    )
    assert config.alerts.enabled
    assert config.alerts.off_hours_start.isoformat() == "23:30:00"


@pytest.mark.parametrize(
    ("section", "values", "key"),
    [
        ("telemetry", {"exporter": "zipkin"}, "telemetry.exporter"),
        ("telemetry", {"sample_ratio": 2}, "telemetry.sample_ratio"),
        ("telemetry", {"exporters": "console"}, "telemetry.exporters"),
        ("alerts", {"timezone": "Mars/Olympus"}, "alerts.timezone"),
        ("alerts", {"off_hours_start": "06:00", "off_hours_end": "06:00"}, "alerts"),
        ("alerts", {"off_hours_start": "22:00+08:00"}, "alerts.off_hours_start"),
        ("alerts", {"distinct_subjects_per_hour": 0}, "alerts.distinct_subjects_per_hour"),
    ],
)
def test_bad_settings_are_named(section: str, values: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigurationError, match=key):
        verifier.load_config(**{section: values})


def test_jsonl_needs_a_path_outside_build_verifier() -> None:
    with pytest.raises(ConfigurationError, match=r"telemetry\.jsonl_path"):
        configure_telemetry(telemetry_config(exporter="jsonl"))


async def test_build_verifier_defaults_the_jsonl_file_into_the_data_dir(
    demo_city: DemoCityManifest, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    config = verifier.load_config(
        data_dir=data_dir,
        departments={
            department: {"url": f"sqlite:///{demo_city.data_dir / f'{department}.db'}"}
            for department in ("household", "social_insurance", "housing", "tax")
        },
        telemetry={"exporter": "jsonl"},
    )
    sample = demo_city.samples[0]
    async with verifier.build_verifier(config) as engine:
        await engine.verify(parse_application(sample.application))
    lines = read_lines(data_dir / "telemetry" / "telemetry.jsonl")
    assert any(line["type"] == "span" and line["name"].startswith("verify") for line in lines)


class CountingSpanProcessor(SimpleSpanProcessor):
    """Exports each span as it ends, into memory, and counts its own shutdowns."""

    def __init__(self) -> None:
        self.exported = InMemorySpanExporter()
        super().__init__(self.exported)
        self.shutdowns = 0

    def shutdown(self) -> None:
        self.shutdowns += 1
        super().shutdown()


class CountingMetricReader(InMemoryMetricReader):
    def __init__(self) -> None:
        super().__init__()
        self.shutdowns = 0

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self.shutdowns += 1
        super().shutdown(timeout_millis=timeout_millis, **kwargs)


def test_a_handle_is_shut_down_once(caplog: pytest.LogCaptureFixture) -> None:
    processor, reader = CountingSpanProcessor(), CountingMetricReader()
    handle = configure_telemetry(span_processor=processor, metric_reader=reader)
    assert handle.tracer_provider is not None
    handle.tracer_provider.get_tracer("test").start_span("before shutdown").end()

    handle.shutdown()
    handle.shutdown()  # a second close (an exit stack, then atexit) must do nothing

    assert (processor.shutdowns, reader.shutdowns) == (1, 1)
    assert [span.name for span in processor.exported.get_finished_spans()] == ["before shutdown"]
    assert "shutdown can only be called once" not in caplog.text
