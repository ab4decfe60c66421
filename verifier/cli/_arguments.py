"""Argument types for the command line: a bad value is refused by argparse, naming the option.

argparse reports the option and the message (``argument --timeout: must be a positive
number of seconds, got '-1'``) and exits 2, before any configuration or server is touched.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def _whole(text: str) -> int:
    try:
        return int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def seconds(text: str) -> float:
    """A positive duration in seconds (``--timeout``)."""
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def milliseconds(text: str) -> float:
    """A duration in milliseconds, zero allowed (a simulator's latency)."""
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more milliseconds, got {text!r}")
    return value


def fraction(text: str) -> float:
    """A share of requests, 0 to 1 (a simulator's fault rate)."""
    value = _number(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text!r}")
    return value


def whole_number(minimum: int) -> Callable[[str], int]:
    """An integer of at least ``minimum`` (``--people``, ``--seed``)."""

    def parse(text: str) -> int:
        value = _whole(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {text!r}")
        return value

    return parse


def port(text: str) -> int:
    """A TCP port, 0 meaning any free one."""
    value = _whole(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port 0-65535, got {text!r}")
    return value


def workers(text: str) -> int:
    """``--workers``: how many server processes, ``0`` or ``auto`` meaning one per core."""
    if text.strip().lower() == "auto":
        return 0
    try:
        value = int(text, 10)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"expected a number of processes, or 0 or auto (one per core), got {text!r}"
        )
    return value


def pair(form: str) -> Callable[[str], tuple[str, str]]:
    """``KEY=VALUE`` (``--param district=…``, ``--subject child=…``): both sides non-empty."""
    left = form.partition("=")[0]

    def parse(text: str) -> tuple[str, str]:
        key, sign, value = text.partition("=")
        if not sign:
            raise argparse.ArgumentTypeError(f"expected {form}, got {text!r} (no '=')")
        if not key.strip():
            raise argparse.ArgumentTypeError(f"expected {form}: the {left} is empty in {text!r}")
        if not value.strip():
            raise argparse.ArgumentTypeError(f"expected {form}: nothing after '=' in {text!r}")
        return key.strip(), value.strip()

    return parse
