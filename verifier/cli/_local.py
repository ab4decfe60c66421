"""Commands that work in-process on the embedded default: demo-city, items, verify --local."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from verifier.catalogue import load_catalogue
from verifier.cli._render import render_result
from verifier.config import VerifierConfig, build_verifier, ensure_demo_city, load_config
from verifier.model import Application, VerificationResult, parse_application
from verifier.rules import load_service_items


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="configuration file (YAML); embedded default if unset")
    parser.add_argument("--data-dir", help="where the embedded default keeps its data")


def config_from(args: argparse.Namespace) -> VerifierConfig:
    """The command's configuration, loaded (and checked) once per command."""
    loaded: VerifierConfig | None = getattr(args, "loaded_config", None)
    if loaded is None:
        loaded = load_config(args.config, data_dir=args.data_dir)
        args.loaded_config = loaded
    return loaded


def run_demo_city(args: argparse.Namespace) -> int:
    config = config_from(args)
    generated = ensure_demo_city(
        config.data_dir,
        people=args.people,
        seed=args.seed,
        force=args.force,
        progress=print,
        caseload_rows=args.caseload_rows,
    )
    if generated:
        print(f"demo city: {args.people} people written to {config.data_dir}")
    else:
        print(f"demo city already in {config.data_dir} (use --force to regenerate)")
    return 0


def run_items(args: argparse.Namespace) -> int:
    config = config_from(args)
    catalogue = load_catalogue(config.catalogue)
    items = load_service_items(catalogue, config.items_dir, config.parameters_dir)
    for item in items:
        print(f"{item.id}  v{item.version}  {item.title_zh or ''} {item.title}")
        for name, use in item.facts.items():
            fact = catalogue.facts[use.fact]
            print(f"    {name:<40} {fact.department:<17} {fact.sharing}")
    return 0


def application_from_args(args: argparse.Namespace) -> Application:
    subjects = []
    for role, subject_id in args.subject or []:
        subjects.append({"role": role, "id": subject_id})
    parameters: dict[str, Any] = dict(args.param or [])
    data: dict[str, Any] = {
        "service_item": args.item,
        "subjects": subjects,
        "parameters": parameters,
    }
    for field in (
        "reference_date",
        "purpose",
        "legal_basis",
        "consent_reference",
        "case_number",
        "operator",
    ):
        if getattr(args, field, None):
            data[field] = getattr(args, field)
    return parse_application(data)


async def verify_locally(args: argparse.Namespace, application: Application) -> VerificationResult:
    config = config_from(args)
    ensure_demo_city(config.data_dir)
    async with build_verifier(config) as engine:
        return await engine.verify(application, timeout=args.timeout)


def print_result(result: VerificationResult, as_json: bool) -> None:
    if as_json:
        json.dump(result.model_dump(mode="json"), sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        print(render_result(result))
