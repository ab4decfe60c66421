"""Progress of a re-check: a rich progress bar (rate, ETA) at a terminal, plain lines else.

A scheduler's log is not a terminal: there a line every few seconds says the same (rows
done of the total, the rate, the time left), with no cursor movement in it.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator

PLAIN_EVERY_SECONDS = 5.0

Report = Callable[[int], None]
"""Told the number of input rows done so far."""


@contextlib.contextmanager
def progress_reporter(total: int, already: int) -> Iterator[Report]:
    """Report progress over ``total`` rows, ``already`` of them done by an earlier run."""
    if sys.stdout.isatty():
        with _bar(total, already) as report:
            yield report
    else:
        yield _plain(total, already)


@contextlib.contextmanager
def _bar(total: int, already: int) -> Iterator[Report]:
    # Imported here: only a terminal run pays for rich.
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("re-check"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]} rows/s"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    started, first = time.monotonic(), already
    with Progress(*columns, refresh_per_second=4) as progress:
        task = progress.add_task("re-check", total=total, completed=already, rate="-")

        def report(done: int) -> None:
            elapsed = time.monotonic() - started
            rate = f"{(done - first) / elapsed:,.0f}" if elapsed > 0 else "-"
            progress.update(task, completed=done, rate=rate)

        yield report


def _plain(total: int, already: int) -> Report:
    started = time.monotonic()
    last = [started, already]  # when, and at how many rows, the last line was printed

    def report(done: int) -> None:
        now = time.monotonic()
        finished = done >= total and last[1] < total
        if (now - last[0] < PLAIN_EVERY_SECONDS and not finished) or done == last[1]:
            return
        last[0], last[1] = now, done
        elapsed = now - started
        rate = (done - already) / elapsed if elapsed > 0 else 0.0
        left = f"{(total - done) / rate:.0f} s" if rate > 0 else "?"
        print(f"re-check: {done}/{total} rows, {rate:,.0f} rows/s, ETA {left}", flush=True)

    return report
