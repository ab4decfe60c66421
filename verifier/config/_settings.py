"""One configuration, from a YAML file and ``VERIFIER_*`` environment variables.

Environment variables win over the file (addresses and secrets belong in the environment):
``VERIFIER_DATA_DIR``, ``VERIFIER_SERVER__ADDRESS``, ``VERIFIER_AUDIT__PSEUDONYM_KEY``,
``VERIFIER_DEPARTMENTS__HOUSEHOLD__URL``, ``VERIFIER_TELEMETRY__EXPORTER``,
``VERIFIER_ALERTS__ENABLED`` … (nested keys joined by ``__``).
"""

from __future__ import annotations

import ipaddress
import re
from datetime import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from verifier.access import ALL_ITEMS, CallerGrant
from verifier.config._server_options import ServerOptions
from verifier.engine._resilience_policy import ResiliencePolicy
from verifier.telemetry._config import TelemetryConfig

DEFAULT_DATA_DIR = Path("var/demo-city")


class DepartmentConfig(BaseModel):
    """How to reach one department: which adapter (entry point) and its settings."""

    model_config = ConfigDict(extra="allow")

    adapter: str | None = None
    """Entry-point name in the ``verifier.adapters`` group; defaults to the department id."""
    url: str | None = None
    """The backend (SQLAlchemy URL); defaults to ``sqlite:///<data_dir>/<department>.db``."""


class WitnessConfig(BaseModel):
    """Where the audit log's signed checkpoints are published, so that a log cut back to an
    earlier checkpoint is caught (``verifier audit verify`` reports it TRUNCATED). Put it
    where whoever can rewrite the log cannot: another machine, another account."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["file", "postgres", "redis", "none"] = "file"
    """``file``: an append-only JSON Lines file (the default); ``postgres``: an insert-only
    table; ``redis``: a stream per log; ``none``: no witness (a cut-back log goes unseen)."""
    path: Path | None = None
    """The witness file; defaults to ``<data_dir>/audit-witness/witness.jsonl``. Never inside
    the audit directory: whoever copies or rewrites the log must not hold the witness too."""
    url: SecretStr | None = None
    """``postgres``: an SQLAlchemy URL (``postgresql+psycopg://…``); ``redis``: ``redis://…``
    (best given as ``VERIFIER_AUDIT__WITNESS__URL``)."""
    table: str = Field(default="audit_witness", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    stream_prefix: str = Field(default="verifier:audit-witness:", min_length=1, max_length=64)
    timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    """Connect and read timeout; publication never holds up records, whatever this is."""

    @model_validator(mode="after")
    def _kind_has_its_place(self) -> WitnessConfig:
        if self.kind in ("postgres", "redis") and self.url is None:
            raise ValueError(f"audit.witness kind {self.kind} needs audit.witness.url")
        if self.kind != "file" and self.path is not None:
            raise ValueError("audit.witness.path is for kind file")
        if self.kind in ("file", "none") and self.url is not None:
            raise ValueError(f"audit.witness.url is not used by kind {self.kind}")
        return self


class AuditConfig(BaseModel):
    """The tamper-evident audit log: where it goes and the key that signs its checkpoints."""

    model_config = ConfigDict(extra="forbid")

    directory: Path | None = None
    """Holds ``audit-000001.jsonl``, ``audit-000002.jsonl`` …; defaults to ``<data_dir>/audit``."""
    fsync: bool = True
    pseudonym_key: SecretStr | None = None
    """Hex HMAC key for subject pseudonyms (best given as ``VERIFIER_AUDIT__PSEUDONYM_KEY``);
    if unset, the key file ``pseudonym_key_file``."""
    pseudonym_key_file: Path | None = None
    """The file holding that key, created on first use; defaults to
    ``<data_dir>/keys/pseudonym.key`` (directory 0700, file 0600), apart from the log: the
    key is as secret as the IDs, since the ID space is small enough to hash whole."""
    signing_key: SecretStr | None = None
    """PEM text of the Ed25519 private key that signs checkpoints (best given as
    ``VERIFIER_AUDIT__SIGNING_KEY``). With neither this nor ``signing_key_file``, a key pair
    is generated in the audit directory on first use: fine on a laptop, but a real
    deployment keeps the private key away from the log it protects."""
    signing_key_file: Path | None = None
    """A PEM file holding that key, instead of ``signing_key``."""
    max_file_bytes: int = Field(default=64 << 20, ge=4096)
    """A file is sealed (rotation checkpoint) and the next begun before it would grow past this."""
    checkpoint_every: int = Field(default=1000, ge=1)
    """Records between signed checkpoints (also written at rotation and on a clean close)."""
    witness: WitnessConfig = Field(default_factory=WitnessConfig)
    """Where each signed checkpoint is published (see ``WitnessConfig``)."""
    backend: Literal["files", "postgres"] = "files"
    """``files``: hash-chained files in ``directory`` (the embedded default); ``postgres``:
    the PostgreSQL audit store at ``url``, one chain per replica (``replica_id``), shared by
    every replica of a deployment."""
    url: SecretStr | None = None
    """``postgres``: an SQLAlchemy URL, ``postgresql+psycopg://…`` (best given as
    ``VERIFIER_AUDIT__URL``)."""
    postgres_schema: str = Field(default="verifier_audit", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    """``postgres``: the schema holding the store's tables (created and migrated on start)."""
    replica_id: str | None = Field(
        default=None, min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:-]+$"
    )
    """``postgres``: the name of this replica's chain; defaults to the host name (a pod's
    name on Kubernetes). Two running replicas must never share one: the second is refused."""

    @model_validator(mode="after")
    def _backend_has_its_place(self) -> AuditConfig:
        if self.backend == "postgres" and self.url is None:
            raise ValueError("audit.backend postgres needs audit.url")
        if self.backend == "files" and self.url is not None:
            raise ValueError("audit.url is for audit.backend postgres")
        return self

    @model_validator(mode="after")
    def _one_signing_key(self) -> AuditConfig:
        if self.signing_key is not None and self.signing_key_file is not None:
            raise ValueError("give signing_key or signing_key_file, not both")
        if self.pseudonym_key is not None and self.pseudonym_key_file is not None:
            raise ValueError("give pseudonym_key or pseudonym_key_file, not both")
        return self


class TlsConfig(BaseModel):
    """The server's TLS: its certificate chain and key, and the CA bundle that client
    certificates must chain to (required for ``access.mode: mtls``)."""

    model_config = ConfigDict(extra="forbid")

    certificate: Path
    """PEM certificate chain the server presents."""
    private_key: Path
    """PEM private key of that certificate (keep it readable by the service only)."""
    client_ca: Path | None = None
    """PEM bundle of the CAs whose client certificates are accepted (mutual TLS)."""


class ServerConfig(ServerOptions):
    """The ``server`` section: where to listen, TLS, and the limits of ``ServerOptions``
    (their defaults are the library's: one set, so ``verifier serve`` and an embedding
    program's ``serve`` cannot drift apart)."""

    address: str = "127.0.0.1:50051"
    health_address: str | None = None
    """Also serve ``grpc.health.v1`` alone, in plaintext, here (e.g. ``0.0.0.0:8086``), for
    probes that speak no TLS (Kubernetes' gRPC probes). It carries the service's and each
    department's status only, so unlike ``address`` it may face the network without TLS.
    None (the default): health only on ``address``."""
    tls: TlsConfig | None = None
    """None: plaintext, which is only allowed on a loopback address (development)."""
    workers: Literal["auto"] | Annotated[int, Field(ge=0)] = 1
    """Processes ``verifier serve`` runs on the one port, supervised, each with its own audit
    chain (``<audit dir>/worker-<k>``); 0 or ``auto``: one per core; 1: one process, no
    supervisor. ``--workers`` overrides it."""


class AccessMode(StrEnum):
    """How the gRPC service identifies the calling system."""

    LOOPBACK = "loopback"
    """Development, the embedded default: the request's ``caller`` is taken at its word,
    from this machine only, if it is a registered system."""
    MTLS = "mtls"
    """Production: the client certificate (``server.tls.client_ca``) names the system."""
    TOKEN = "token"  # noqa: S105 - the mode's name, not a secret
    """Development: ``authorization: Bearer <token>`` whose SHA-256 a caller declares."""


_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class CallerConfig(CallerGrant):
    """One calling system: its rights (``items``, ``department``) and how it is recognised."""

    certificate_names: tuple[str, ...] = ()
    """mTLS: the certificate subject CNs, DNS or URI subjectAltNames that identify this
    system (``verifier certs issue`` puts the system name in the CN and a DNS SAN)."""
    token_sha256: str | None = None
    """Token mode: the hex SHA-256 of this system's bearer token (``verifier certs token``)."""

    @field_validator("token_sha256")
    @classmethod
    def _hex_digest(cls, value: str | None) -> str | None:
        if value is not None and _SHA256_HEX.fullmatch(value) is None:
            raise ValueError("must be 64 lower-case hex digits (a SHA-256, not the token)")
        return value


def _development_callers() -> dict[str, CallerConfig]:
    # The embedded default's callers: the in-process library, the demo's service hall and
    # the CLI. A deployment lists its own systems instead (this default is then gone).
    return {
        "embedded": CallerConfig(items=(ALL_ITEMS,)),
        "demo-service-hall": CallerConfig(items=(ALL_ITEMS,), department="district-service-centre"),
        "verifier-cli": CallerConfig(items=(ALL_ITEMS,)),
    }


class AccessConfig(BaseModel):
    """Who may call, and which service items each calling system may use.

    The catalogue's sharing rules (sharing class, purposes, legal basis, consent) apply to
    every caller on top of these rights.
    """

    model_config = ConfigDict(extra="forbid")

    mode: AccessMode = AccessMode.LOOPBACK
    callers: dict[str, CallerConfig] = Field(default_factory=_development_callers)
    """System name → rights. Each item may be ``"*"`` (every item: development only)."""


class CacheConfig(BaseModel):
    """The fact cache: established status facts reused within their catalogue freshness."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    ttl_seconds: float = Field(default=300.0, gt=0)
    """How long a fact is reused; each fact's catalogue freshness caps it further."""
    max_entries: int = Field(default=50_000, ge=1)
    """Facts held at most (least recently used forgotten first)."""
    max_staleness_seconds: float = Field(default=0.0, ge=0)
    """Stale-if-error: when a department fails, serve a fact retrieved less than its
    freshness plus this long ago, marked stale. 0 (the default) turns it off."""
    backend: Literal["memory", "redis"] = "memory"
    """``memory``: in this process (the embedded default). ``redis``: shared by every replica
    using the same ``redis_url``, ``redis_key_prefix`` and audit pseudonym key."""
    redis_url: SecretStr | None = None
    """e.g. ``redis://cache.internal:6379/0`` (best given as ``VERIFIER_CACHE__REDIS_URL``)."""
    redis_key_prefix: str = Field(default="verifier:fact:", min_length=1, max_length=64)
    redis_timeout_ms: int = Field(default=50, ge=1, le=5000)
    """Connect and read timeout: a slow cache costs its hits, never the caller's deadline."""

    @model_validator(mode="after")
    def _redis_has_a_url(self) -> CacheConfig:
        if self.backend == "redis" and self.redis_url is None:
            raise ValueError("cache.backend redis needs cache.redis_url")
        return self


class ResilienceConfig(ResiliencePolicy):
    """How hard the engine tries with each department (``VERIFIER_RESILIENCE__RETRY__
    MAX_ATTEMPTS=2`` …): deadline margin, retries and their budget, hedged reads, circuit
    breaker, bulkhead and request coalescing, with per-department overrides under
    ``departments``. Every key and its default: ``verifier.engine._resilience_policy``.
    """

    enabled: bool = True
    """False: each department is asked once per verification, with none of the above."""


class AlertsConfig(BaseModel):
    """High-risk behaviour alerts (高危行为预警), written to the audit log.

    Off by default: a deployment turns them on (``VERIFIER_ALERTS__ENABLED=true``); the
    embedded default also serves bulk in-process jobs that would trip them.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    distinct_subjects_per_hour: int = Field(default=200, ge=1)
    """Alert when one caller asks about more distinct subjects than this within an hour."""
    off_hours_start: time = time(22, 0)
    off_hours_end: time = time(6, 0)
    """Local times (in ``timezone``); a window that ends before it starts spans midnight."""
    off_hours_max_verifications: int = Field(default=50, ge=0)
    """Alert when one caller makes more verifications than this in one night's off hours."""
    timezone: str = "Asia/Shanghai"
    refusals_per_hour: int = Field(default=20, ge=1)
    """Alert when access control refuses more than this many of one caller's requests
    within an hour (probing for facts it may not see)."""
    max_tracked_callers: int = Field(default=1000, ge=1)
    """Bounds the monitor's memory: the least recently active callers are forgotten first."""

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("off_hours_start", "off_hours_end")
    @classmethod
    def _local_time(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("give a local time without an offset; the zone is alerts.timezone")
        return value

    @model_validator(mode="after")
    def _window_not_empty(self) -> AlertsConfig:
        if self.off_hours_start == self.off_hours_end:
            raise ValueError("off_hours_start and off_hours_end must differ")
        return self


_SCRYPT_HASH = re.compile(r"scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+")


class ConsoleAccount(BaseModel):
    """One auditor who may sign in to the console: never a calling system, never an operator."""

    model_config = ConfigDict(extra="forbid")

    password_hash: str
    """``scrypt$N$r$p$salt$hash`` (base64), as ``verifier console --hash-password`` prints it;
    never the password itself."""
    display_name: str | None = Field(default=None, max_length=100)

    @field_validator("password_hash")
    @classmethod
    def _scrypt_form(cls, value: str) -> str:
        if _SCRYPT_HASH.fullmatch(value) is None:
            raise ValueError(
                "must be scrypt$N$r$p$salt$hash (run `verifier console --hash-password`)"
            )
        return value


class ConsoleTlsConfig(BaseModel):
    """The console's HTTPS certificate chain and key (PEM)."""

    model_config = ConfigDict(extra="forbid")

    certificate: Path
    private_key: Path


class ConsoleConfig(BaseModel):
    """The ``console`` section: the auditors' read-only web console (``verifier console``).

    With no ``accounts`` it runs in development mode, like the gRPC service's embedded
    default: no sign-in, and only this machine may connect (loopback address and peer).
    With ``accounts``, every page needs an auditor's sign-in; without ``tls`` it still
    listens on a loopback address only.
    """

    model_config = ConfigDict(extra="forbid")

    address: str = "127.0.0.1:8450"
    tls: ConsoleTlsConfig | None = None
    accounts: dict[str, ConsoleAccount] = Field(default_factory=dict)
    """Auditor name → its hashed password. Empty: development mode (loopback, no sign-in)."""
    session_secret: SecretStr | None = None
    """Key that signs session cookies (best given as ``VERIFIER_CONSOLE__SESSION_SECRET``, at
    least 32 characters). Unset: a random key per start, so a restart signs everyone out."""
    session_minutes: int = Field(default=30, ge=1, le=24 * 60)
    """A session ends this long after sign-in."""
    login_failures_per_account: int = Field(default=5, ge=1)
    login_failures_per_address: int = Field(default=20, ge=1)
    """Failed sign-ins allowed within ``login_window_minutes``, per account name and per
    client address; past either, sign-in is refused (HTTP 429) until the window passes."""
    login_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    max_rows: int = Field(default=200, ge=1, le=10_000)
    """Rows one search page shows at most (the count of all matches is still given)."""

    @field_validator("session_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters")
        return value

    @model_validator(mode="after")
    def _network_needs_tls_and_accounts(self) -> ConsoleConfig:
        if not is_loopback_address(self.address) and (self.tls is None or not self.accounts):
            raise ValueError(
                f"console.address {self.address!r} is not a loopback address: serving a "
                "network needs console.tls and console.accounts (development mode and plain "
                "HTTP are for this machine only)"
            )
        return self

    @property
    def development(self) -> bool:
        """No accounts: no sign-in, this machine only."""
        return not self.accounts


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
    telemetry: TelemetryConfig = Field(default_factory=TelemetryConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    cache: CacheConfig = Field(default_factory=CacheConfig)
    resilience: ResilienceConfig = Field(default_factory=ResilienceConfig)
    access: AccessConfig = Field(default_factory=AccessConfig)
    console: ConsoleConfig = Field(default_factory=ConsoleConfig)

    @model_validator(mode="after")
    def _transport_fits_access_mode(self) -> VerifierConfig:
        tls, mode = self.server.tls, self.access.mode
        if mode is AccessMode.MTLS:
            if tls is None or tls.client_ca is None:
                raise ValueError(
                    "access.mode mtls needs server.tls with certificate, private_key and client_ca"
                )
            named = [
                name for name, caller in self.access.callers.items() if caller.certificate_names
            ]
            if not named:
                raise ValueError("access.mode mtls: no access.callers entry has certificate_names")
        if mode is AccessMode.TOKEN and not any(
            caller.token_sha256 for caller in self.access.callers.values()
        ):
            raise ValueError("access.mode token: no access.callers entry has a token_sha256")
        shared = sorted(set(self.console.accounts) & set(self.access.callers))
        if shared:
            raise ValueError(
                f"console.accounts {', '.join(shared)}: also a calling system in "
                "access.callers; an auditor's account is kept apart from the systems audited"
            )
        if tls is None and not is_loopback_address(self.server.address):
            raise ValueError(
                f"server.address {self.server.address!r} is not a loopback address: without "
                "server.tls the service listens on this machine only (configure server.tls "
                "and access.mode mtls to serve a network)"
            )
        return self

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

    def audit_directory(self) -> Path:
        return self.audit.directory or self.data_dir / "audit"

    def witness_file(self) -> Path:
        return self.audit.witness.path or self.data_dir / "audit-witness" / "witness.jsonl"

    def department_url(self, department: str) -> str:
        configured = self.departments.get(department)
        if configured is not None and configured.url:
            return configured.url
        return f"sqlite:///{(self.data_dir / f'{department}.db').as_posix()}"


def is_loopback_address(address: str) -> bool:
    """``127.0.0.1:50051``, ``[::1]:0``, ``localhost:50051`` or ``unix:…``."""
    if address.startswith("unix:"):
        return True
    host = address.rpartition(":")[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
