"""``verifier console``: the auditors' read-only web console over the audit log.

Starlette and uvicorn are imported here, when the command runs, never by ``verifier`` or
the other commands (they come with the ``console`` extra).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import socket
import sys
from typing import Any

from verifier._errors import ConfigurationError
from verifier.cli._arguments import port
from verifier.cli._audit_stores import add_source_arguments, audit_source
from verifier.cli._local import add_config_arguments, config_from
from verifier.config import VerifierConfig


def add_console_command(commands: Any) -> None:
    console = commands.add_parser(
        "console", help="the auditors' read-only web console over the audit log"
    )
    add_config_arguments(console)
    add_source_arguments(console)
    console.add_argument("--port", type=port, help="listen port (0: any free port)")
    console.add_argument(
        "--hash-password", action="store_true",
        help="read a password (a prompt, or one line of standard input) and print its hash "
        "for console.accounts.<name>.password_hash; serve nothing",
    )  # fmt: skip
    console.set_defaults(run=run_console)


def run_console(args: argparse.Namespace) -> int:
    if args.hash_password:
        return _print_password_hash()
    try:
        import uvicorn  # noqa: F401 - present, or the extra is missing: say so before anything

        from verifier.console import create_app
    except ImportError as exc:
        raise ConfigurationError(
            f"the console needs the console extra (pip install 'onestop-verifier[console]'): "
            f"{exc.name} is missing"
        ) from None
    config = config_from(args)
    with audit_source(args, config) as source:
        return _serve(create_app(config, source=source), config, source.description, args.port)


def _serve(app: Any, config: VerifierConfig, shown_source: str, port_override: int | None) -> int:
    import uvicorn

    settings = config.console
    host, bound = _bind(settings.address, port_override)
    tls = settings.tls
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,  # a request line can carry a pseudonym: not for a log
            ssl_certfile=str(tls.certificate) if tls else None,
            ssl_keyfile=str(tls.private_key) if tls else None,
            server_header=False,
            proxy_headers=False,  # the peer address is the rate limit's and the guard's
        )
    )
    scheme = "https" if tls else "http"
    shown = f"[{host}]" if ":" in host else host
    # The first line is read by scripts and tests: keep it exactly so.
    print(f"verifier console listening on {scheme}://{shown}:{bound.getsockname()[1]}", flush=True)
    print(f"  {_mode(config)}; audit log {shown_source}", flush=True)
    asyncio.run(server.serve(sockets=[bound]))
    print("verifier console stopped", flush=True)
    return 0


def _bind(address: str, port_override: int | None) -> tuple[str, socket.socket]:
    host, _, port_text = address.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    port_number = port_override if port_override is not None else int(port_text)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    bound = socket.socket(family, socket.SOCK_STREAM)
    bound.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        bound.bind((host, port_number))
    except OSError as exc:
        bound.close()
        raise ConfigurationError(f"console.address {host}:{port_number}: {exc.strerror}") from None
    bound.listen(128)
    bound.set_inheritable(True)
    return host, bound


def _mode(config: VerifierConfig) -> str:
    settings = config.console
    if settings.development:
        return "development mode: no sign-in, this machine only (configure console.accounts)"
    transport = "HTTPS" if settings.tls else "plain HTTP, this machine only"
    return f"{transport}; auditor accounts: {', '.join(sorted(settings.accounts))}"


def _print_password_hash() -> int:
    from verifier.console._auth import hash_password

    if sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            print("the two passwords differ", file=sys.stderr)
            return 2
    else:
        password = sys.stdin.readline().rstrip("\n")
    try:
        print(hash_password(password))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
