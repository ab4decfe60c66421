"""Every unknown name is refused, naming its key, by the one loading path every command takes.

Before this path, ``departments: {houzing: …}`` was ignored (the default housing database
was used), ``VERIFIER_TIMEOUT_SECONDZ=3`` was ignored, and ``verifier items`` accepted an
unknown ``resilience.departments`` entry that ``verify`` and ``serve`` refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from verifier import ConfigurationError, load_config
from verifier.cli import main
from verifier.config._loading import refuse_unknown_environment


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "verifier.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("departments:\n  houzing: {url: 'sqlite:///x.db'}\n", "departments.houzing"),
        ("resilience:\n  departments:\n    taxes: {}\n", "resilience.departments.taxes"),
        ("departments:\n  housing: {urll: 'sqlite:///x.db'}\n", "urll"),
        ("departments:\n  housing: {adapter: nope}\n", "departments.housing.adapter"),
        ("access:\n  callers:\n    hall: {items: [no_such_item]}\n", "access.callers"),
    ],
)
def test_unknown_reference_is_named_by_load_config(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigurationError, match=key.replace(".", r"\.")):
        load_config(write(tmp_path, text))


def test_every_problem_is_named_at_once(tmp_path: Path) -> None:
    text = (
        "departments:\n  houzing: {url: 'sqlite:///x.db'}\n"
        "resilience:\n  departments:\n    taxes: {}\n"
    )
    with pytest.raises(ConfigurationError) as raised:
        load_config(write(tmp_path, text))
    assert "departments.houzing" in str(raised.value)
    assert "resilience.departments.taxes" in str(raised.value)


@pytest.mark.parametrize("command", ["items", "verify", "serve", "demo-city", "demo", "simulate"])
def test_every_command_refuses_an_unknown_department(
    tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path, "departments:\n  houzing: {url: 'sqlite:///x.db'}\n")
    extra = ["--item", "school_place", "--address", "127.0.0.1:1"] if command == "verify" else []
    assert main([command, "--config", str(config), *extra]) == 2
    assert "departments.houzing: unknown department" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("variable", "hint"),
    [
        ("VERIFIER_TIMEOUT_SECONDZ", "names no setting"),
        ("VERIFIER_AUDIT_FSYNC", "VERIFIER_AUDIT__FSYNC"),
        ("verifier_telemetry_exporter", "VERIFIER_TELEMETRY__EXPORTER"),
    ],
)
def test_unknown_environment_variable_is_refused(
    monkeypatch: pytest.MonkeyPatch, variable: str, hint: str
) -> None:
    monkeypatch.setenv(variable, "3")
    with pytest.raises(ConfigurationError, match=variable) as raised:
        load_config()
    assert hint in str(raised.value)


def test_unknown_nested_environment_variable_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIFIER_AUDIT__FSINK", "true")
    with pytest.raises(ConfigurationError, match="fsink"):
        load_config()


def test_known_and_reserved_variables_pass() -> None:
    refuse_unknown_environment(
        {
            "VERIFIER_TIMEOUT_SECONDS": "3",
            "VERIFIER_AUDIT__FSYNC": "false",
            "VERIFIER_TOKEN": "development-token",
            "VERIFIER_REQUIRE_SERVICES": "1",
            "VERIFIER_TEST_POSTGRES_URL": "postgresql://x",
            "PATH": "/usr/bin",
        }
    )


def test_a_typo_in_the_environment_fails_the_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VERIFIER_TIMEOUT_SECONDZ", "3")
    assert main(["items"]) == 2
    assert "VERIFIER_TIMEOUT_SECONDZ" in capsys.readouterr().err
