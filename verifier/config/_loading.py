"""The one loading path every command and the library take: file, environment, checks.

A configuration is refused, naming the key, when any name in it is unknown — a file key, a
``VERIFIER_*`` environment variable, a department the catalogue does not have, a setting an
adapter does not take — so a typo never silently falls back to a default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from verifier._errors import ConfigurationError
from verifier.config._settings import VerifierConfig

ENV_PREFIX = "VERIFIER_"
RESERVED_ENVIRONMENT = frozenset({"VERIFIER_TOKEN", "VERIFIER_REQUIRE_SERVICES"})
"""Variables of the command line and the test suite, not settings: ``verify --token-env``'s
default and the switch that turns skipped service tests into failures."""
RESERVED_ENVIRONMENT_PREFIX = "VERIFIER_TEST_"
"""The test suite's own variables (service URLs, fuzzing depth)."""


def load_config(path: str | Path | None = None, **overrides: Any) -> VerifierConfig:
    """Read a configuration file (or none: the embedded default), naming any bad key.

    ``overrides`` (command-line options) win over the file; ``VERIFIER_*`` environment
    variables win over both. Every name is checked, including references to departments
    and the settings each department's adapter takes.
    """
    data = _read_file(path) if path is not None else {}
    data.update({key: value for key, value in overrides.items() if value is not None})
    refuse_unknown_environment(os.environ)
    try:
        config = VerifierConfig(**data)
    except ValidationError as exc:
        raise ConfigurationError(f"{path or 'configuration'}: {_describe(exc)}") from None
    # Late import: wiring imports the adapters' entry points, the settings module does not.
    from verifier.config._wiring import check_references

    check_references(config)
    return config


def refuse_unknown_environment(environment: Mapping[str, str]) -> None:
    """Refuse a ``VERIFIER_*`` variable that names no setting (pydantic-settings ignores it).

    Nested names below the first level are checked by the models themselves: they forbid
    unknown keys once the variable has reached them.
    """
    fields = set(VerifierConfig.model_fields)
    problems = []
    for name in sorted(environment):
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper in RESERVED_ENVIRONMENT:
            continue
        if upper.startswith(RESERVED_ENVIRONMENT_PREFIX):
            continue
        top = upper[len(ENV_PREFIX) :].split("__", 1)[0].lower()
        if top not in fields:
            problems.append(f"{name}: {_unknown_variable_hint(top, fields)}")
    if problems:
        raise ConfigurationError("environment: " + "; ".join(problems))


def _unknown_variable_hint(top: str, fields: set[str]) -> str:
    nested = [field for field in sorted(fields) if top.startswith(field + "_")]
    if nested:
        field = nested[0]
        rest = top[len(field) + 1 :].upper()
        return (
            f"names no setting (nested keys are joined by '__': "
            f"{ENV_PREFIX}{field.upper()}__{rest}?)"
        )
    return f"names no setting (top-level settings: {', '.join(sorted(fields))})"


def _read_file(path: str | Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"cannot read configuration {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{path}: not valid YAML: {exc}") from None
    if loaded is not None and not isinstance(loaded, dict):
        raise ConfigurationError(f"{path}: expected a mapping at the top level")
    return dict(loaded or {})


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        key = ".".join(str(part) for part in error["loc"]) or "configuration"
        problems.append(f"{key}: {error['msg']}")
    return "; ".join(problems)
