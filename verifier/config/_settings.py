"""One configuration, from a YAML file and ``VERIFIER_*`` environment variables.

Environment variables win over the file (addresses and secrets belong in the environment):
``VERIFIER_DATA_DIR``, ``VERIFIER_SERVER__ADDRESS``, ``VERIFIER_AUDIT__PSEUDONYM_KEY``,
``VERIFIER_DEPARTMENTS__HOUSEHOLD__URL`` … (nested keys joined by ``__``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from verifier._errors import ConfigurationError

DEFAULT_DATA_DIR = Path("var/demo-city")


class DepartmentConfig(BaseModel):
    """How to reach one department: which adapter (entry point) and its settings."""

    model_config = ConfigDict(extra="allow")

    adapter: str | None = None
    """Entry-point name in the ``verifier.adapters`` group; defaults to the department id."""
    url: str | None = None
    """The backend (SQLAlchemy URL); defaults to ``sqlite:///<data_dir>/<department>.db``."""


class AuditConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: Path | None = None
    """The JSON Lines audit file; defaults to ``<data_dir>/audit/audit.jsonl``."""
    fsync: bool = True
    pseudonym_key: SecretStr | None = None
    """Hex HMAC key for subject pseudonyms; if unset, a key file in ``<data_dir>/audit``."""


class ServerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str = "127.0.0.1:50051"
    max_message_bytes: int = Field(default=1 << 20, ge=1024)
    max_concurrent_rpcs: int = Field(default=512, ge=1)
    batch_in_flight: int = Field(default=32, ge=1)
    shutdown_grace_seconds: float = Field(default=10.0, ge=0)


class VerifierConfig(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="VERIFIER_", env_nested_delimiter="__", extra="forbid"
    )

    data_dir: Path = DEFAULT_DATA_DIR
    catalogue: Path | None = None
    """A catalogue file; the packaged demo catalogue if unset."""
    items_dir: Path | None = None
    parameters_dir: Path | None = None
    timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    departments: dict[str, DepartmentConfig] = Field(default_factory=dict)
    audit: AuditConfig = Field(default_factory=AuditConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment overrides the file's values (passed as init arguments).
        return env_settings, init_settings

    def audit_path(self) -> Path:
        return self.audit.path or self.data_dir / "audit" / "audit.jsonl"

    def department_url(self, department: str) -> str:
        configured = self.departments.get(department)
        if configured is not None and configured.url:
            return configured.url
        return f"sqlite:///{(self.data_dir / f'{department}.db').as_posix()}"


def load_config(path: str | Path | None = None, **overrides: Any) -> VerifierConfig:
    """Read a configuration file (or none: the embedded default), naming any bad key."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigurationError(f"cannot read configuration {path}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise ConfigurationError(f"{path}: not valid YAML: {exc}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigurationError(f"{path}: expected a mapping at the top level")
        data = loaded or {}
    data.update({key: value for key, value in overrides.items() if value is not None})
    try:
        return VerifierConfig(**data)
    except ValidationError as exc:
        raise ConfigurationError(f"{path or 'configuration'}: {_describe(exc)}") from None


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        key = ".".join(str(part) for part in error["loc"]) or "configuration"
        problems.append(f"{key}: {error['msg']}")
    return "; ".join(problems)
