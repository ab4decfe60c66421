"""``verifier certs``: a development CA and certificates for mutual TLS.

    init    a CA (ca.pem, ca-key.pem) and a server certificate it signs (server.pem, …)
    issue   a client certificate for one calling system (NAME.pem, NAME-key.pem)

For development, tests and demos only: in production the server's and the service halls'
certificates come from the organisation's PKI, and no CA key lies in a directory beside them.
Keys are ECDSA P-256; private keys are created readable by their owner only (0600), and no
existing file is overwritten without ``--force``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import ipaddress
import json
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from verifier._errors import ConfigurationError
from verifier.service import token_digest

CA_CERTIFICATE = "ca.pem"
CA_KEY = "ca-key.pem"
SERVER_CERTIFICATE = "server.pem"
SERVER_KEY = "server-key.pem"
DEFAULT_DAYS = 365
MAX_DAYS = 3650
# A system's files are NAME.pem and NAME-key.pem: these names would overwrite the CA's or server's.
RESERVED_SYSTEMS = frozenset({"ca", "server"})

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_SYSTEM_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_HOST_NAME = re.compile(_SYSTEM_NAME.pattern.replace("a-z", "a-zA-Z"))
_PLAIN_YAML = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
# Clocks of the machines that check a fresh certificate may lag a little behind ours.
_CLOCK_SKEW = datetime.timedelta(minutes=5)

_IssuerKey: TypeAlias = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True, slots=True)
class AuthorityFiles:
    """Where ``create_authority`` wrote the CA and the server's certificate and keys."""

    ca_certificate: Path
    ca_key: Path
    server_certificate: Path
    server_key: Path


@dataclass(frozen=True, slots=True)
class ClientFiles:
    """Where ``issue_client_certificate`` wrote one calling system's certificate and key."""

    system: str
    certificate: Path
    key: Path
    ca_certificate: Path


def create_authority(
    directory: Path,
    *,
    server_names: Sequence[str] = (),
    days: int = DEFAULT_DAYS,
    force: bool = False,
) -> AuthorityFiles:
    """Create a development CA and a server certificate it signs, in ``directory``.

    The server certificate names ``localhost``, 127.0.0.1 and ::1 and each of
    ``server_names`` (a host name or an IP address), so a client can check the name it dialled.
    Development only: production servers hold a certificate from the organisation's PKI.
    """
    _check_days(days)
    alt_names = _server_alt_names(server_names)
    files = AuthorityFiles(
        ca_certificate=directory / CA_CERTIFICATE,
        ca_key=directory / CA_KEY,
        server_certificate=directory / SERVER_CERTIFICATE,
        server_key=directory / SERVER_KEY,
    )
    _check_free(
        [files.ca_certificate, files.ca_key, files.server_certificate, files.server_key], force
    )

    now = _now()
    not_after = now + datetime.timedelta(days=days)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "onestop-verifier development"),
            # A random suffix tells one developer's CA from another's in an error message.
            x509.NameAttribute(
                NameOID.COMMON_NAME, f"onestop-verifier development CA {secrets.token_hex(4)}"
            ),
        ]
    )
    ca_public = ca_key.public_key()
    ca_certificate = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            _key_usage(digital_signature=True, key_cert_sign=True, crl_sign=True), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_public), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    server_key = ec.generate_private_key(ec.SECP256R1())
    server_certificate = _leaf(
        ca_certificate,
        ca_key,
        server_key,
        subject=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, _first_dns(alt_names))]),
        alt_names=alt_names,
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
        not_after=not_after,
    )

    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as failure:
        raise ConfigurationError(f"--dir: cannot create {directory}: {failure.strerror}") from None
    _write_key(files.ca_key, ca_key)
    _write_certificate(files.ca_certificate, ca_certificate)
    _write_key(files.server_key, server_key)
    _write_certificate(files.server_certificate, server_certificate)
    return files


def issue_client_certificate(
    directory: Path,
    system: str,
    *,
    department: str | None = None,
    days: int = DEFAULT_DAYS,
    force: bool = False,
) -> ClientFiles:
    """Issue a client certificate for the calling system ``system`` from the CA in ``directory``.

    Subject CN and the one SAN DNS name are ``system`` (what ``certificate_names`` matches);
    ``department``, if given, is the subject's O. The certificate ends no later than the CA.
    Development only: production callers hold a certificate from the organisation's PKI.
    """
    _check_system(system)
    _check_days(days)
    if department is not None:
        _check_department(department)
    ca_certificate, ca_key = _load_authority(directory)
    files = ClientFiles(
        system=system,
        certificate=directory / f"{system}.pem",
        key=directory / f"{system}-key.pem",
        ca_certificate=directory / CA_CERTIFICATE,
    )
    _check_free([files.certificate, files.key], force)

    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, system)]
    if department is not None:
        attributes.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, department))
    key = ec.generate_private_key(ec.SECP256R1())
    not_after = min(_now() + datetime.timedelta(days=days), ca_certificate.not_valid_after_utc)
    certificate = _leaf(
        ca_certificate,
        ca_key,
        key,
        subject=x509.Name(attributes),
        alt_names=[x509.DNSName(system)],
        usage=ExtendedKeyUsageOID.CLIENT_AUTH,
        not_after=not_after,
    )
    _write_key(files.key, key)
    _write_certificate(files.certificate, certificate)
    return files


def caller_config_snippet(system: str, department: str | None = None) -> str:
    """The ``access.callers`` entry an operator pastes into the verifier's configuration."""
    department_line = (
        f"department: {_yaml_scalar(department)}"
        if department is not None
        else "# department: ...       # the calling system's department"
    )
    return "\n".join(
        [
            "access:",
            "  callers:",
            f"    {_yaml_scalar(system)}:",
            f"      {department_line}",
            f"      certificate_names: [{_yaml_scalar(system)}]",
            "      items: [school_place]   # the service items this system may use",
        ]
    )


# --- the command ---------------------------------------------------------------------------


def add_certs_command(commands: Any) -> None:
    """Register ``certs init``, ``certs issue`` and ``certs token`` on the ``verifier``
    command's subparsers."""
    certs = commands.add_parser(
        "certs", help="development CA and mutual-TLS certificates (not for production)"
    )
    actions = certs.add_subparsers(dest="certs_command", required=True)

    init = actions.add_parser("init", help="create a development CA and a server certificate")
    init.add_argument("--dir", type=Path, required=True, help="where to write the files")
    init.add_argument(
        "--server-name",
        action="append",
        default=[],
        metavar="NAME",
        help="repeatable: a host name or IP the server is reached by (besides localhost)",
    )
    init.add_argument("--days", type=int, default=DEFAULT_DAYS, help="validity in days")
    init.add_argument("--force", action="store_true", help="overwrite existing files")
    init.set_defaults(run=run_init)

    issue = actions.add_parser("issue", help="issue a client certificate for a calling system")
    issue.add_argument("--dir", type=Path, required=True, help="the directory of certs init")
    issue.add_argument("--system", required=True, help="the calling system's name")
    issue.add_argument("--department", help="the calling system's department (subject O)")
    issue.add_argument("--days", type=int, default=DEFAULT_DAYS, help="validity in days")
    issue.add_argument("--force", action="store_true", help="overwrite existing files")
    issue.set_defaults(run=run_issue)

    token = actions.add_parser(
        "token", help="a development bearer token for a calling system (access.mode token)"
    )
    token.add_argument("--system", required=True, help="the calling system's name")
    token.set_defaults(run=run_token)


def run_token(args: argparse.Namespace) -> int:
    """A fresh random token: the caller keeps the token, the configuration only its hash."""
    _check_system(args.system)
    value = secrets.token_urlsafe(32)
    print(f"token for {args.system} (development only; give it to the caller, keep it secret):")
    print(f"  {value}")
    print("the caller sends it as `authorization: Bearer <token>` (verifier verify reads")
    print("VERIFIER_TOKEN); configuration (paste into your verifier config):")
    print("access:")
    print("  mode: token")
    print("  callers:")
    print(f"    {_yaml_scalar(args.system)}:")
    print(f"      token_sha256: {token_digest(value)}")
    print("      items: [school_place]   # the service items this system may use")
    return 0


def run_init(args: argparse.Namespace) -> int:
    files = create_authority(
        args.dir, server_names=args.server_name, days=args.days, force=args.force
    )
    print("development CA and server certificate (not for production):")
    for label, path in (
        ("CA certificate", files.ca_certificate),
        ("CA key", files.ca_key),
        ("server certificate", files.server_certificate),
        ("server key", files.server_key),
    ):
        print(f"  {label + ':':20} {path}")
    print(f"next: verifier certs issue --dir {args.dir} --system NAME")
    return 0


def run_issue(args: argparse.Namespace) -> int:
    files = issue_client_certificate(
        args.dir, args.system, department=args.department, days=args.days, force=args.force
    )
    print(f"client certificate for {files.system} (not for production):")
    print(f"  certificate:    {files.certificate}")
    print(f"  key:            {files.key}")
    print(f"  CA certificate: {files.ca_certificate}")
    print("configuration (paste into your verifier config):")
    print(caller_config_snippet(files.system, args.department))
    return 0


# --- helpers -------------------------------------------------------------------------------


def _leaf(
    ca_certificate: x509.Certificate,
    ca_key: _IssuerKey,
    key: ec.EllipticCurvePrivateKey,
    *,
    subject: x509.Name,
    alt_names: Sequence[x509.GeneralName],
    usage: x509.ObjectIdentifier,
    not_after: datetime.datetime,
) -> x509.Certificate:
    public = key.public_key()
    issuer_identifier = ca_certificate.extensions.get_extension_for_class(
        x509.SubjectKeyIdentifier
    ).value
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_certificate.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - _CLOCK_SKEW)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_identifier),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )


def _key_usage(
    *, digital_signature: bool = False, key_cert_sign: bool = False, crl_sign: bool = False
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _load_authority(directory: Path) -> tuple[x509.Certificate, _IssuerKey]:
    certificate_path, key_path = directory / CA_CERTIFICATE, directory / CA_KEY
    for path in (certificate_path, key_path):
        if not path.is_file():
            raise ConfigurationError(
                f"--dir: no development CA in {directory} ({path.name} is missing); "
                f"run `verifier certs init --dir {directory}` first"
            )
    try:
        certificate = x509.load_pem_x509_certificate(certificate_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as failure:
        raise ConfigurationError(f"--dir: cannot read the CA in {directory}: {failure}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ConfigurationError(f"{key_path}: the CA key must be an ECDSA or RSA key")
    public_format = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if key.public_key().public_bytes(*public_format) != certificate.public_key().public_bytes(
        *public_format
    ):
        raise ConfigurationError(f"{key_path} is not the key of {certificate_path}")
    try:
        certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    except x509.ExtensionNotFound:
        raise ConfigurationError(
            f"{certificate_path}: not a CA made by `verifier certs init`"
        ) from None
    return certificate, key


def _server_alt_names(server_names: Sequence[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    for raw in server_names:
        name: x509.GeneralName
        try:
            name = x509.IPAddress(ipaddress.ip_address(raw))
        except ValueError:
            if len(raw) > 253 or not _HOST_NAME.fullmatch(raw):
                raise ConfigurationError(
                    f"--server-name: {raw!r} is neither a host name nor an IP address"
                ) from None
            name = x509.DNSName(raw.lower())
        if name not in names:
            names.append(name)
    return names


def _first_dns(alt_names: Sequence[x509.GeneralName]) -> str:
    """The server's CN: its first configured host name, else ``localhost`` (clients read SANs)."""
    dns = [name.value for name in alt_names if isinstance(name, x509.DNSName)]
    return str(dns[1] if len(dns) > 1 else dns[0])


def _check_system(system: str) -> None:
    if len(system) > 253 or not _SYSTEM_NAME.fullmatch(system):
        raise ConfigurationError(
            f"--system: {system!r} is not a system name (lower-case letters, digits and "
            "hyphens, 1-63 characters per dot-separated label, e.g. school-portal)"
        )
    if system in RESERVED_SYSTEMS:
        raise ConfigurationError(
            f"--system: {system!r} is reserved (its files would replace the CA's or server's)"
        )


def _check_department(department: str) -> None:
    if not 1 <= len(department) <= 64 or not department.isprintable():
        raise ConfigurationError(f"--department: {department!r} must be 1-64 printable characters")


def _check_days(days: int) -> None:
    if not 1 <= days <= MAX_DAYS:
        raise ConfigurationError(f"--days: {days} is not between 1 and {MAX_DAYS}")


def _check_free(paths: Sequence[Path], force: bool) -> None:
    """Refuse before writing anything, so a refusal leaves no half-made set of files."""
    if force:
        return
    for path in paths:
        if path.exists() or path.is_symlink():
            raise ConfigurationError(f"{path} exists; pass --force to overwrite it")


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write(path, pem, 0o600)


def _write_certificate(path: Path, certificate: x509.Certificate) -> None:
    _write(path, certificate.public_bytes(serialization.Encoding.PEM), 0o644)


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write via a new file created with ``mode`` and renamed over ``path``.

    A key is never readable by others, not even for a moment, and ``--force`` replaces an
    existing file (whatever its mode) rather than writing through it.
    """
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except OSError as failure:
        raise ConfigurationError(f"{path}: cannot write: {failure.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException as failure:
        with contextlib.suppress(OSError):
            temporary.unlink()
        if isinstance(failure, OSError):
            raise ConfigurationError(f"{path}: cannot write: {failure.strerror}") from None
        raise


def _yaml_scalar(value: str) -> str:
    """``value`` as YAML reads it back as this string (``null``, ``yes`` or ``123`` are quoted)."""
    if _PLAIN_YAML.fullmatch(value) and yaml.safe_load(value) == value:
        return value
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a double-quoted YAML scalar


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
