"""The README's configuration example is a configuration the service accepts."""

from __future__ import annotations

import re
from pathlib import Path

import verifier

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_configuration_example_loads(tmp_path: Path) -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks, "the README shows a configuration"
    path = tmp_path / "verifier.yaml"
    path.write_text(blocks[-1], encoding="utf-8")
    config = verifier.load_config(path)
    assert config.departments["housing"].adapter == "http"
    assert config.resilience.departments["housing"]["hedging"]["enabled"] is True


def test_every_readme_configuration_block_loads(tmp_path: Path) -> None:
    """The certificates section's snippet too: what an operator pastes must be accepted."""
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 2
    for index, block in enumerate(blocks):
        path = tmp_path / f"verifier-{index}.yaml"
        path.write_text(block, encoding="utf-8")
        config = verifier.load_config(path)
        assert config.access.mode.value == "mtls"
        assert config.access.callers["school-portal"].items == ("school_place",)
