"""Wire a Verifier from configuration: catalogue, items, adapters (by entry point), audit,
telemetry and high-risk alerts.

This is the only place that finds department adapters, and it does so through the
``verifier.adapters`` entry-point group — the same way a department integrator's own
package plugs in — so the engine never imports a concrete department.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verifier._errors import ConfigurationError
from verifier.access import AccessPolicy
from verifier.adapter import DepartmentAdapter
from verifier.audit import (
    AuditSink,
    ChainedAuditLog,
    FileWitness,
    HighRiskMonitor,
    Pseudonymiser,
    RedisWitness,
    Witness,
    WitnessError,
    load_or_create_key,
    load_or_create_signing_key,
    load_signing_key,
)
from verifier.audit._pseudonym import move_key_file
from verifier.catalogue import Catalogue, SharingClass, load_catalogue
from verifier.config._security import access_policy
from verifier.config._settings import CacheConfig, VerifierConfig
from verifier.engine import Verifier
from verifier.engine._cache import CachePolicy
from verifier.engine._cache_redis import RedisFactCache
from verifier.rules import ItemRegistry, load_service_items
from verifier.telemetry import TelemetryHandle, configure_telemetry
from verifier.telemetry._config import TelemetryConfig

ADAPTER_GROUP = "verifier.adapters"
DEMO_DATA_GROUP = "verifier.demo_data"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def build_verifier(
    config: VerifierConfig,
    *,
    telemetry: TelemetryHandle | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Verifier:
    """A ready-to-start Verifier for this configuration (call ``start`` or use ``async with``).

    Telemetry is set up here from ``config.telemetry`` unless ``telemetry`` is given (tests,
    hosts with their own exporters); either way the Verifier shuts it down when it closes.
    ``clock``: the engine's time (audit records, cache ages), UTC; the system clock if unset.
    """
    deployment = _Deployment.of(config)
    alerts = HighRiskMonitor(config.alerts) if config.alerts.enabled else None
    pseudonymiser = pseudonymiser_for(config)
    # Last: from here on, exporter threads run until the Verifier is closed.
    telemetry = telemetry or configure_telemetry_for(config)
    try:
        return Verifier(
            catalogue=deployment.catalogue,
            items=deployment.items,
            adapters=deployment.adapters,
            audit=_audit_log(config),
            pseudonymiser=pseudonymiser,
            default_timeout=config.timeout_seconds,
            telemetry=telemetry,
            alerts=alerts,
            cache=cache_policy(config.cache, pseudonymiser),
            resilience=config.resilience if config.resilience.enabled else None,
            access=deployment.access,
            clock=clock or _utc_now,
        )
    except BaseException:
        telemetry.shutdown()
        raise


def check_references(config: VerifierConfig) -> None:
    """Refuse names the configuration's models cannot check alone: departments the catalogue
    does not have, adapters that are not installed or refuse their settings, callers' items.

    Every problem is named at once. Adapters are only constructed (no I/O), then dropped.
    """
    _Deployment.of(config)


@dataclass(frozen=True)
class _Deployment:
    """What a configuration names, resolved and checked: the one path for every command."""

    catalogue: Catalogue
    items: ItemRegistry
    adapters: dict[str, DepartmentAdapter]
    access: AccessPolicy

    @classmethod
    def of(cls, config: VerifierConfig) -> _Deployment:
        catalogue = load_catalogue(config.catalogue)
        items = load_service_items(catalogue, config.items_dir, config.parameters_dir)
        problems = _unknown_departments(config, catalogue)
        adapters: dict[str, DepartmentAdapter] = {}
        for department in catalogue.departments:
            try:
                adapters[department] = create_adapter(config, department, catalogue)
            except ConfigurationError as exc:
                problems.append(str(exc))
        try:
            access = access_policy(config, (item.id for item in items))
        except ConfigurationError as exc:
            problems.append(str(exc))
        if problems:
            raise ConfigurationError("; ".join(problems))
        return cls(catalogue, items, adapters, access)


def _unknown_departments(config: VerifierConfig, catalogue: Catalogue) -> list[str]:
    known = set(catalogue.departments)
    sections: dict[str, set[str]] = {
        "departments": set(config.departments),
        "resilience.departments": set(config.resilience.departments),
    }
    return [
        f"{section}.{name}: unknown department (the catalogue has {sorted(known)})"
        for section, named in sections.items()
        for name in sorted(named - known)
    ]


def configure_telemetry_for(config: VerifierConfig) -> TelemetryHandle:
    """Telemetry as ``config.telemetry`` says (the JSON Lines file defaults into data_dir)."""
    return configure_telemetry(_telemetry_config(config))


def cache_policy(
    config: CacheConfig, pseudonymiser: Pseudonymiser | None = None
) -> CachePolicy | None:
    """The engine's cache policy for ``cache`` config (None when the cache is disabled).

    A Redis store names its keys with ``pseudonymiser`` (the audit's key), so replicas that
    share the key share the cache and Redis never holds a subject ID.
    """
    if not config.enabled:
        return None
    store = None
    if config.backend == "redis":
        if pseudonymiser is None or config.redis_url is None:
            raise ConfigurationError("cache.backend redis needs cache.redis_url and a key")
        store = RedisFactCache.from_url(
            config.redis_url.get_secret_value(),
            pseudonymiser.pseudonym,
            prefix=config.redis_key_prefix,
            timeout_seconds=config.redis_timeout_ms / 1000,
        )
    return CachePolicy(
        ttl=timedelta(seconds=config.ttl_seconds),
        max_entries=config.max_entries,
        max_staleness=timedelta(seconds=config.max_staleness_seconds),
        store=store,
    )


def _telemetry_config(config: VerifierConfig) -> TelemetryConfig:
    if config.telemetry.exporter != "jsonl" or config.telemetry.jsonl_path is not None:
        return config.telemetry
    default = config.data_dir / "telemetry" / "telemetry.jsonl"
    return config.telemetry.model_copy(update={"jsonl_path": default})


def _audit_log(config: VerifierConfig) -> AuditSink:
    """The tamper-evident audit log in ``audit.directory`` (or the PostgreSQL audit store),
    its checkpoints signed with the configured key (or, by default, a key pair generated in
    the audit directory on first use)."""
    directory = config.audit_directory()
    if config.audit.backend == "postgres":
        return _postgres_audit_log(config, directory)
    return ChainedAuditLog(
        directory,
        _signing_key(config, directory),
        fsync=config.audit.fsync,
        max_file_bytes=config.audit.max_file_bytes,
        checkpoint_every=config.audit.checkpoint_every,
        witness=witness_for(config),
    )


def _postgres_audit_log(config: VerifierConfig, directory: Path) -> AuditSink:
    from verifier.audit import PostgresAuditLog  # psycopg only for this backend

    url = config.audit.url
    assert url is not None  # AuditConfig requires it for this backend
    return PostgresAuditLog(
        url.get_secret_value(),
        _signing_key(config, directory),
        replica_id=replica_id_for(config),
        schema=config.audit.postgres_schema,
        checkpoint_every=config.audit.checkpoint_every,
        witness=witness_for(config),
    )


def replica_id_for(config: VerifierConfig) -> str:
    """``audit.replica_id``, else the host name: the name of this process's audit chain."""
    return config.audit.replica_id or socket.gethostname()


def witness_for(config: VerifierConfig) -> Witness | None:
    """The witness ``audit.witness`` names (None for kind ``none``), not yet contacted."""
    settings = config.audit.witness
    url = settings.url.get_secret_value() if settings.url is not None else ""
    try:
        if settings.kind == "postgres":
            from verifier.audit import SqlWitness  # SQLAlchemy's engines only for this kind

            return SqlWitness(url, table=settings.table, timeout_seconds=settings.timeout_seconds)
        if settings.kind == "redis":
            return RedisWitness(
                url, prefix=settings.stream_prefix, timeout_seconds=settings.timeout_seconds
            )
    except (ValueError, WitnessError) as exc:
        # The URL holds a password: name the field and the kind of fault, never the URL.
        problem = str(exc) if isinstance(exc, WitnessError) else "not a valid URL"
        raise ConfigurationError(f"audit.witness.url: {problem}") from None
    if settings.kind == "none":
        return None
    path = config.witness_file()
    audit = config.audit_directory()
    if path.resolve().is_relative_to(audit.resolve()):
        raise ConfigurationError(
            f"audit.witness.path {path} is inside the audit directory {audit}: keep the "
            "witness apart from the log it witnesses"
        )
    return FileWitness(path)


def _signing_key(config: VerifierConfig, directory: Path) -> Ed25519PrivateKey:
    try:
        if config.audit.signing_key is not None:
            return load_signing_key(config.audit.signing_key.get_secret_value())
        if config.audit.signing_key_file is not None:
            return load_signing_key(config.audit.signing_key_file)
    except ConfigurationError as exc:
        option = "signing_key" if config.audit.signing_key is not None else "signing_key_file"
        raise ConfigurationError(f"audit.{option}: {exc}") from None
    return load_or_create_signing_key(directory)


def create_adapter(
    config: VerifierConfig, department: str, catalogue: Catalogue
) -> DepartmentAdapter:
    settings: dict[str, Any] = {}
    configured = config.departments.get(department)
    if configured is not None:
        settings.update(configured.model_extra or {})
    settings["url"] = config.department_url(department)
    # A generic adapter (HTTP) serves any department: tell it which one it is wired for.
    settings["department"] = department
    name = (configured.adapter if configured is not None else None) or department
    factory = _entry_point(ADAPTER_GROUP, name, f"departments.{department}.adapter")
    adapter = factory(settings)
    if not isinstance(adapter, DepartmentAdapter):
        raise ConfigurationError(f"departments.{department}.adapter: {name!r} is not an adapter")
    # Not-shared facts are never asked for, so an adapter need not derive them.
    needed = {
        fact.id
        for fact in catalogue.facts_of(department)
        if fact.sharing is not SharingClass.NOT_SHARED
    }
    unsupported = sorted(needed - adapter.supported_facts())
    if unsupported:
        # At wiring, not at run time: a catalogue fact with no derivation would otherwise
        # surface as a failed department call on the first application that needs it.
        raise ConfigurationError(
            f"departments.{department}: adapter {name!r} has no derivation for the "
            f"catalogue's fact{'s' if len(unsupported) > 1 else ''} {', '.join(unsupported)} "
            f"of department {department!r}"
        )
    return adapter


def ensure_demo_city(
    data_dir: Path,
    *,
    people: int = 10_000,
    seed: int | None = None,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
    caseload_rows: int | None = None,
) -> bool:
    """Generate the demo city into ``data_dir`` unless it is already there; True if generated.

    ``caseload_rows``: each re-check caseload exactly that many rows, whatever the city's
    size (cut, or its cases repeated with new case numbers). The generator is found through
    the ``verifier.demo_data`` entry point, as adapters are.
    """
    if (data_dir / "samples.json").exists() and not force:
        return False
    generate = _entry_point(DEMO_DATA_GROUP, "demo_city", "demo data generator")
    options: dict[str, Any] = {"people": people, "progress": progress}
    if seed is not None:
        options["seed"] = seed
    if caseload_rows is not None:
        options["caseload_rows"] = caseload_rows
    generate(data_dir, **options)
    return True


def _entry_point(group: str, name: str, key: str) -> Any:
    found = entry_points(group=group, name=name)
    if not found:
        available = sorted(point.name for point in entry_points(group=group))
        raise ConfigurationError(
            f"{key}: no {group!r} entry point named {name!r} (installed: {available})"
        )
    return next(iter(found)).load()


PSEUDONYM_KEY_FILE = "pseudonym.key"
KEYS_DIRECTORY = "keys"
"""``<data_dir>/keys``: the default home of the pseudonym key, apart from the audit log."""


def pseudonym_key_path(config: VerifierConfig) -> Path:
    """``audit.pseudonym_key_file``, else ``<data_dir>/keys/pseudonym.key``."""
    configured = config.audit.pseudonym_key_file
    return configured or config.data_dir / KEYS_DIRECTORY / PSEUDONYM_KEY_FILE


def pseudonymiser_for(config: VerifierConfig, *, create: bool = True) -> Pseudonymiser:
    """The keyed hash for subject pseudonyms: ``audit.pseudonym_key`` (hex), else the key file
    (``pseudonym_key_path``) — created on first use by the engine (``create``), only read by
    auditors, since a new key would silently match no record. A key file where older
    versions kept it, ``<data_dir>/audit/pseudonym.key`` beside the log, is moved first."""
    if config.audit.pseudonym_key is not None:
        try:
            return Pseudonymiser(bytes.fromhex(config.audit.pseudonym_key.get_secret_value()))
        except ValueError:
            raise ConfigurationError("audit.pseudonym_key: must be hex") from None
    path = move_key_file(config.data_dir / "audit" / PSEUDONYM_KEY_FILE, pseudonym_key_path(config))
    if not create and not path.is_file():
        raise ConfigurationError(
            f"no pseudonym key: {path} does not exist and audit.pseudonym_key is not set "
            "(the subject search needs the key the records were written with)"
        )
    return Pseudonymiser(load_or_create_key(path))
