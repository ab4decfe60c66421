"""The ``verifier`` command: local commands, and serve + remote verify on a real port."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.demo_city import DemoCityManifest
from verifier.cli import main


def sample_args(city: DemoCityManifest, name: str) -> list[str]:
    application = next(s for s in city.samples if s.name == name).application
    args = ["--item", application["service_item"], "--reference-date", "2026-08-31"]
    for subject in application["subjects"]:
        args += ["--subject", f"{subject['role']}={subject['id']}"]
    for key, value in application.get("parameters", {}).items():
        args += ["--param", f"{key}={value}"]
    # What the catalogue's sharing rules require (legal basis; consent for first homes).
    for field in ("purpose", "legal_basis", "consent_reference"):
        if application.get(field):
            args += ["--" + field.replace("_", "-"), application[field]]
    return args


def test_items_lists_both_items_with_their_facts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["items"]) == 0
    out = capsys.readouterr().out
    assert "school_place" in out
    assert "first_home_purchase" in out
    assert "guardian_is_parent" in out
    assert "conditional" in out


def test_verify_local_prints_a_readable_result(
    demo_city: DemoCityManifest, capsys: pytest.CaptureFixture[str]
) -> None:
    args = sample_args(demo_city, "school_place_rental_11_months")
    assert main(["verify", "--local", "--data-dir", str(demo_city.data_dir), *args]) == 0
    out = capsys.readouterr().out
    assert "decision: NOT_ELIGIBLE" in out
    assert "guardian_rental_months" in out
    assert ">= 12" in out


def test_verify_local_json(demo_city: DemoCityManifest, capsys: pytest.CaptureFixture[str]) -> None:
    args = sample_args(demo_city, "first_home_migrant_tax_24")
    assert main(["verify", "--local", "--json", "--data-dir", str(demo_city.data_dir), *args]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["decision"]["outcome"] == "ELIGIBLE"


def test_bad_input_is_reported_by_field(
    demo_city: DemoCityManifest, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["verify", "--local", "--data-dir", str(demo_city.data_dir), "--item", "school_place",
         "--subject", "guardian=440305198503122011", "--param", "district=440305"]
    )  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "subjects[0].id" in err
    assert "440305198503122011" not in err


def test_bad_configuration_names_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "verifier.yaml"
    config.write_text("timeout_secondz: 3\n", encoding="utf-8")
    assert main(["items", "--config", str(config)]) == 2
    assert "timeout_secondz" in capsys.readouterr().err


def test_demo_city_generates_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo-city", "--data-dir", str(tmp_path), "--people", "300"]) == 0
    assert (tmp_path / "samples.json").exists()
    assert main(["demo-city", "--data-dir", str(tmp_path), "--people", "300"]) == 0
    assert "already" in capsys.readouterr().out


READY = "verifier listening on "


@contextlib.contextmanager
def verifier_serve(*args: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``verifier serve`` with ``args`` as a process: the address it listens on, and it.
    Stopped by SIGTERM on the way out, which must end it cleanly."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "verifier.cli", "serve", *args],
        stdout=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        line = ""
        for line in server.stdout:
            if line.startswith(READY):
                break
        yield line.removeprefix(READY).strip(), server
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=30)
        if server.stdout is not None:
            server.stdout.close()
    assert code == 0


def test_serve_then_verify_over_grpc_then_sigterm(demo_city: DemoCityManifest) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with verifier_serve("--port", "0", "--data-dir", str(demo_city.data_dir)) as (address, _):
        assert address.startswith("127.0.0.1:")
        args = sample_args(demo_city, "school_place_pending_transfer")
        verify = subprocess.run(
            [sys.executable, "-m", "verifier.cli", "verify", "--address", address, *args],
            capture_output=True, text=True, timeout=60, env=env,
        )  # fmt: skip
        assert verify.returncode == 0, verify.stderr
        assert "decision: NEEDS_REVIEW" in verify.stdout
        assert "RECORD_PENDING" in verify.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["verify", "--item", "school_place", "--param", "district"], "no '='"),
        (["verify", "--item", "school_place", "--param", "=x"], "KEY is empty"),
        (["verify", "--item", "school_place", "--subject", "child="], "nothing after '='"),
        (["verify", "--item", "school_place", "--timeout", "-1"], "positive number of seconds"),
        (["verify", "--item", "school_place", "--timeout", "nan"], "finite"),
        (["serve", "--port", "70000"], "port 0-65535"),
        (["serve", "--workers", "-1"], "number of processes, or 0 or auto"),
        (["serve", "--workers", "many"], "number of processes, or 0 or auto"),
        (["demo-city", "--people", "0"], "at least 1"),
        (["simulate", "--error-rate", "1.5"], "between 0 and 1"),
        (["simulate", "--latency-ms", "-5"], "0 or more milliseconds"),
    ],
)
def test_bad_argument_values_are_refused_naming_the_option(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: --param district became {"district": ""} and --timeout -1 reached the engine.
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "argument --" in err
