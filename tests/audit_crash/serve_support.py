"""``verifier serve`` in a child process, as an operator runs it (importable as
``serve_support``)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path

STARTUP_SECONDS = 30.0


class Server:
    """A ``verifier serve`` child process and the address it listens on."""

    def __init__(self, process: asyncio.subprocess.Process, address: str) -> None:
        self.process = process
        self.address = address

    @classmethod
    async def start(
        cls,
        args: list[str],
        log: Path,
        env: Mapping[str, str],
        startup_seconds: float = STARTUP_SECONDS,
    ) -> Server:
        """``verifier serve --port 0`` followed by ``args``; its stderr goes to ``log``."""
        with log.open("ab") as stderr:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "verifier.cli", "serve", "--port", "0", *args,
                stdout=asyncio.subprocess.PIPE, stderr=stderr, env={**os.environ, **env},
            )  # fmt: skip
        try:
            address = await asyncio.wait_for(_listening_address(process), startup_seconds)
        except BaseException:
            await cls(process, "").stop(signal.SIGKILL)
            raise
        return cls(process, address)

    async def stop(self, sig: signal.Signals) -> int:
        if self.process.returncode is None:
            self.process.send_signal(sig)
        assert self.process.stdout is not None
        await self.process.stdout.read()
        return await self.process.wait()


async def _listening_address(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    while line := await process.stdout.readline():
        text = line.decode().strip()
        if text.startswith("verifier listening on "):
            return text.removeprefix("verifier listening on ")
    raise AssertionError(f"the server exited with {await process.wait()} before listening")
