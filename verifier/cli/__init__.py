"""The ``verifier`` command: demo, serve, verify, recheck, items, demo-city, simulate, audit,
console."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from verifier._errors import (
    AccessDenied,
    ConfigurationError,
    InvalidApplication,
    VerifierError,
)
from verifier.cli import _local, _service
from verifier.cli._arguments import pair, port, seconds, whole_number, workers


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="verifier",
        description="Verify public-service applications across departments in one call.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo_city = commands.add_parser("demo-city", help="generate the synthetic demo city")
    _local.add_config_arguments(demo_city)
    demo_city.add_argument("--people", type=whole_number(1), default=10_000)
    demo_city.add_argument("--seed", type=whole_number(0), default=20260831)
    demo_city.add_argument(
        "--caseload-rows",
        type=whole_number(1),
        help="each re-check caseload exactly this many rows (cases repeated if need be)",
    )
    demo_city.add_argument("--force", action="store_true", help="regenerate if present")
    demo_city.set_defaults(run=_local.run_demo_city)

    items = commands.add_parser("items", help="list service items and the facts they need")
    _local.add_config_arguments(items)
    items.set_defaults(run=_local.run_items)
    from verifier.cli._items_test import add_items_test_command

    add_items_test_command(items)

    verify = commands.add_parser("verify", help="verify one application")
    _local.add_config_arguments(verify)
    verify.add_argument("--item", required=True, help="service item id, e.g. school_place")
    verify.add_argument(
        "--subject", action="append", type=pair("ROLE=ID"), metavar="ROLE=ID", help="repeatable"
    )
    verify.add_argument(
        "--param", action="append", type=pair("KEY=VALUE"), metavar="KEY=VALUE", help="repeatable"
    )
    verify.add_argument("--reference-date", help="YYYY-MM-DD; today if omitted")
    verify.add_argument("--purpose")
    verify.add_argument("--legal-basis")
    verify.add_argument("--consent-reference", help="the subject's authorisation, where needed")
    verify.add_argument("--case-number")
    verify.add_argument("--operator")
    verify.add_argument("--timeout", type=seconds, default=None, help="seconds")
    verify.add_argument("--json", action="store_true", help="print the result as JSON")
    verify.add_argument("--address", help="server address (default: server.address)")
    verify.add_argument("--local", action="store_true", help="verify in-process, no server")
    tls = verify.add_argument_group("calling a server with TLS / mutual TLS")
    tls.add_argument("--ca", help="PEM bundle the server's certificate must chain to")
    tls.add_argument("--cert", help="PEM client certificate (mutual TLS)")
    tls.add_argument("--key", help="PEM key of the client certificate")
    tls.add_argument("--server-name", help="name to check the server certificate against")
    tls.add_argument(
        "--token-env",
        default="VERIFIER_TOKEN",
        help="environment variable holding a development bearer token (default: %(default)s)",
    )
    verify.set_defaults(run=_service.run_verify)

    serve = commands.add_parser("serve", help="serve the gRPC API (embedded default if no config)")
    _local.add_config_arguments(serve)
    serve.add_argument("--port", type=port, help="listen port (0: any free port)")
    serve.add_argument(
        "--workers", type=workers, metavar="N",
        help="server processes sharing the port, supervised, one audit chain each under "
        "<audit dir>/worker-<k> (0 or auto: one per core; default: server.workers, 1: a "
        "single process)",
    )  # fmt: skip
    # Set by the supervisor on the processes it starts (verifier.cli._workers).
    serve.add_argument("--worker-slot", type=whole_number(1), help=argparse.SUPPRESS)
    serve.set_defaults(run=_service.run_serve)

    demo = commands.add_parser(
        "demo", help="the main job: serve, verify the samples over gRPC, stop"
    )
    _local.add_config_arguments(demo)
    demo.set_defaults(run=_service.run_demo)

    from verifier.cli._simulate import add_simulate_command

    add_simulate_command(commands)

    from verifier.cli._certs import add_certs_command

    add_certs_command(commands)

    from verifier.cli._recheck import add_recheck_command

    add_recheck_command(commands)

    from verifier.cli._audit import add_audit_commands

    add_audit_commands(commands)

    from verifier.cli._console import add_console_command

    add_console_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if hasattr(args, "config"):
            # Every command that takes a configuration refuses a bad one before doing
            # anything, even one that would not otherwise read it (verify --address).
            _local.config_from(args)
        code: int = args.run(args)
    except InvalidApplication as exc:
        print("invalid application:", file=sys.stderr)
        for violation in exc.violations:
            print(f"  {violation.field}: {violation.description}", file=sys.stderr)
        return 2
    except AccessDenied as exc:
        print("permission denied (no department was asked):", file=sys.stderr)
        for refusal in exc.refusals:
            fact = f"{refusal.fact}: " if refusal.fact else ""
            print(f"  {fact}{refusal.rule}: {refusal.description}", file=sys.stderr)
        return 3
    except ConfigurationError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except VerifierError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
