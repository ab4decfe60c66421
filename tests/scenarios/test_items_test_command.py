"""``verifier items test FILES…`` and the pytest plugin decide with the deployment's own
items and dated parameters: the same scenario passes or fails with the rules deployed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from verifier.cli import main

PACKAGED_PARAMETERS = Path(__file__).resolve().parents[2] / "verifier/rules/data/parameters"
STRICTER = "\n".join(
    [
        "school_place.min_rental_months:",
        "  description: Months of registered rental (raised by this city in 2026).",
        "  reference: 本市2026年招生工作实施办法第八条",
        "  unit: month",
        "  values:",
        "    2015-01-01: 12",
        "    2026-01-01: 24",
        "",
    ]
)
SCENARIO = """
- name: 租赁18个月 (18 months of rental)
  item: school_place
  reference_date: 2026-08-31
  roles: [guardian, child]
  facts:
    guardian_is_parent: true
    child_registered_in_district: false
    guardian_rental_months: 18
    guardian_social_insurance_months: 36
  expect:
    decision: NOT_ELIGIBLE
    thresholds: {rental_months: ">= 24 (school_place.min_rental_months)"}
"""


@pytest.fixture
def deployment(tmp_path: Path) -> Path:
    """A deployment whose parameters raise the rental months to 24 from 2026."""
    parameters = tmp_path / "parameters"
    shutil.copytree(PACKAGED_PARAMETERS, parameters)
    text = (parameters / "school_place.yaml").read_text(encoding="utf-8")
    head, _, rest = text.partition("school_place.min_social_insurance_months:")
    kept = head.split("school_place.min_rental_months:")[0]
    (parameters / "school_place.yaml").write_text(
        kept + STRICTER + "\nschool_place.min_social_insurance_months:" + rest, encoding="utf-8"
    )
    (tmp_path / "verifier.yaml").write_text(f"parameters_dir: {parameters}\n", encoding="utf-8")
    (tmp_path / "cases.yaml").write_text(SCENARIO, encoding="utf-8")
    return tmp_path


def test_the_command_uses_the_deployment_s_parameters(
    deployment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(deployment / "verifier.yaml")
    scenarios = str(deployment / "cases.yaml")
    assert main(["items", "test", "--config", config, scenarios]) == 0
    out = capsys.readouterr().out
    assert "PASS  cases.yaml:2  租赁18个月 (18 months of rental)" in out
    assert "1 passed, 0 failed" in out

    # The packaged rules (12 months) decide otherwise, and the failure says how.
    assert main(["items", "test", "--data-dir", str(deployment / "data"), scenarios]) == 1
    out = capsys.readouterr().out
    assert "FAIL  cases.yaml:2" in out
    assert "decision: expected NOT_ELIGIBLE, got ELIGIBLE" in out
    assert "threshold of 'rental_months': expected '>= 24" in out
    assert "explanation:" in out


def test_an_unreadable_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.yaml").write_text("name: not a list\n", encoding="utf-8")
    assert main(["items", "test", "--data-dir", str(tmp_path), str(tmp_path / "bad.yaml")]) == 2
    assert "expected a list of scenarios" in capsys.readouterr().err


def test_items_without_a_subcommand_still_lists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["items", "--data-dir", str(tmp_path)]) == 0
    assert "school_place" in capsys.readouterr().out


def run_pytest(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """pytest in ``folder``, its scenarios collected by the package's plugin (``-p``)."""
    plugins = [
        "-p",
        "no:cacheprovider",
        "-p",
        "no:asyncio",
        "-p",
        "verifier.scenarios.pytest_plugin",
    ]
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *plugins, *args],
        cwd=folder,
        capture_output=True,
        text=True,
        # Only a hang guard: a loaded CI box takes tens of seconds to start an interpreter
        # that imports the engine.
        timeout=300,
        check=False,
    )


def test_the_plugin_uses_the_deployment_s_parameters(deployment: Path) -> None:
    ini = "[pytest]\nverifier_scenarios = cases.yaml\nverifier_parameters = parameters\n"
    (deployment / "pytest.ini").write_text(ini, encoding="utf-8")
    passed = run_pytest(deployment)
    assert passed.returncode == 0, passed.stdout
    assert "1 passed" in passed.stdout
    failed = run_pytest(deployment, f"--verifier-parameters={PACKAGED_PARAMETERS}")
    assert failed.returncode == 1, failed.stdout
    assert "decision: expected NOT_ELIGIBLE, got ELIGIBLE" in failed.stdout


def test_the_plugin_collects_nothing_unless_told(deployment: Path) -> None:
    (deployment / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    result = run_pytest(deployment)
    assert "no tests ran" in result.stdout
