"""Configuration: file plus environment, with errors naming the bad key."""

from __future__ import annotations

from pathlib import Path

import pytest

from verifier import ConfigurationError, load_config


def test_embedded_default_needs_no_file() -> None:
    config = load_config()
    assert config.department_url("housing").startswith("sqlite:///")
    assert config.audit_directory() == config.data_dir / "audit"


def test_file_values_and_environment_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "verifier.yaml"
    path.write_text(
        "timeout_seconds: 1.5\n"
        "departments:\n  housing: {url: 'postgresql+psycopg://h@db/housing'}\n"
        "server: {address: '0.0.0.0:6000'}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("VERIFIER_SERVER__ADDRESS", "127.0.0.1:7000")
    config = load_config(path)
    assert config.timeout_seconds == 1.5
    assert config.department_url("housing") == "postgresql+psycopg://h@db/housing"
    assert config.server.address == "127.0.0.1:7000"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("timeout_seconds: -1\n", "timeout_seconds"),
        ("timout_seconds: 1\n", "timout_seconds"),
        ("audit: {fsink: true}\n", "audit.fsink"),
        ("server: {max_concurrent_rpcs: zero}\n", "server.max_concurrent_rpcs"),
        ("audit: {witness: {kind: file, pth: w.jsonl}}\n", "audit.witness.pth"),
        ("audit: {witness: {kind: postgres}}\n", "audit.witness"),
        ("audit: {witness: {kind: s3}}\n", "audit.witness.kind"),
    ],
)
def test_bad_key_is_named(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "verifier.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigurationError) as raised:
        load_config(path)
    assert key in str(raised.value)


def test_unknown_adapter_entry_point_is_named(tmp_path: Path) -> None:
    from verifier import build_verifier

    path = tmp_path / "verifier.yaml"
    path.write_text(
        f"data_dir: {tmp_path}\ndepartments:\n  tax: {{adapter: no_such_adapter}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigurationError, match=r"departments\.tax\.adapter.*no_such_adapter"):
        build_verifier(load_config(path))
