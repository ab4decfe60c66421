"""``verifier recheck``: re-verify a whole caseload from a file into a file.

    verifier recheck --item social_assistance_recheck \\
        --input caseload.csv --output results.csv [--rejects bad.csv] [--resume]

Every row goes through ``Verifier.decide_many`` (batched department reads, one audit record
per application); the results land in the output with the people who no longer qualify
first, bad rows in the rejects file (row number and field, never a value), and a summary
is printed. ``--resume`` after kill -9 or Ctrl-C carries on where the last durable
checkpoint left off (``_recheck_files``).

Exit status, for a scheduler: 0 every row has a result; 4 done, but some rows were rejected;
1 the run failed (e.g. the audit log could not be written); 2 bad arguments or
configuration; 130 interrupted (run again with ``--resume``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import sys
from collections import deque
from collections.abc import Iterator
from pathlib import Path

from verifier._errors import ConfigurationError, InvalidApplication, VerifierError
from verifier.caseload import Rejected, application_of, outcome_row
from verifier.cli._arguments import seconds, whole_number
from verifier.cli._local import add_config_arguments, config_from
from verifier.cli._recheck_files import RecheckFiles, Summary
from verifier.cli._recheck_progress import progress_reporter
from verifier.cli._recheck_rows import count_rows, file_format, read_rows
from verifier.config import build_verifier, ensure_demo_city
from verifier.engine._bulk import DEFAULT_BATCH_SIZE
from verifier.model import Application, CallerIdentity

EXIT_DONE = 0
EXIT_FAILED = 1
EXIT_DONE_WITH_REJECTS = 4
EXIT_INTERRUPTED = 130
BULK_GC_THRESHOLDS = (20_000, 20, 20)
"""The collector's thresholds during a run (Python's defaults: 700, 10, 10)."""


def add_recheck_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    recheck = commands.add_parser(
        "recheck", help="re-verify a caseload file (bulk, resumable) into a results file"
    )
    add_config_arguments(recheck)
    recheck.add_argument("--item", required=True, help="the re-check service item")
    recheck.add_argument(
        "--input", required=True, type=Path, help="caseload (.csv, .jsonl, .parquet)"
    )
    recheck.add_argument(
        "--output", required=True, type=Path, help="results (.csv, .jsonl, .parquet)"
    )
    recheck.add_argument(
        "--rejects", type=Path, help="bad rows (default: <output>.rejects.<format>)"
    )
    recheck.add_argument(
        "--resume", action="store_true", help="carry on an interrupted run of the same input"
    )
    recheck.add_argument(
        "--batch-size", type=whole_number(1), default=DEFAULT_BATCH_SIZE, help="rows per batch"
    )
    recheck.add_argument("--timeout", type=seconds, default=None, help="seconds per batch")
    recheck.add_argument("--caller", help="the calling system recorded (default: embedded)")
    recheck.set_defaults(run=run_recheck)


def run_recheck(args: argparse.Namespace) -> int:
    for path in (args.input, args.output, args.rejects):
        if path is not None:
            try:
                file_format(path)
            except ValueError as error:
                raise ConfigurationError(str(error)) from None
    if not args.input.is_file():
        raise ConfigurationError(f"{args.input}: no such caseload file")
    suffix = ".csv" if args.output.suffix.lower() == ".parquet" else args.output.suffix
    rejects = args.rejects or args.output.with_name(f"{args.output.stem}.rejects{suffix}")
    files = RecheckFiles(args.input, args.output, rejects, args.item)
    if args.resume and not files.marker.exists() and args.output.exists():
        print(f"nothing to resume: {args.output} is complete")
        return EXIT_DONE
    try:
        summary = asyncio.run(_recheck(args, files))
    except KeyboardInterrupt:
        print(
            f"\ninterrupted after {files.rows_done} rows: run again with --resume", file=sys.stderr
        )
        return EXIT_INTERRUPTED
    except VerifierError as error:
        if isinstance(error, ConfigurationError | InvalidApplication):
            raise  # bad arguments (an unknown item…): the command's usual status 2
        print(f"re-check failed after {files.rows_done} rows: {error}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as error:  # a file that cannot be written (output, rejects, audit log)
        failure = f"{type(error).__name__}: {error.strerror or error}"
        print(f"re-check failed after {files.rows_done} rows: {failure}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        files.close()
    _print_summary(summary, files)
    return EXIT_DONE_WITH_REJECTS if summary.rejected else EXIT_DONE


async def _recheck(args: argparse.Namespace, files: RecheckFiles) -> Summary:
    config = config_from(args)
    ensure_demo_city(config.data_dir)
    total = count_rows(args.input)
    caller = CallerIdentity(system=args.caller) if args.caller else None
    async with build_verifier(config) as engine:
        item = engine.items.get(args.item)
        files.open(resume=args.resume)
        skipped = files.rows_done
        # Input rows in order, each with its reject or None (it went to the engine): the
        # outcomes come back in input order, so the rows are written in input order too.
        order: deque[tuple[int, Rejected | None]] = deque()

        def applications() -> Iterator[Application]:
            for number, row in read_rows(args.input):
                if number <= skipped:
                    continue
                parsed = application_of(number, row, item)
                if isinstance(parsed, Rejected):
                    order.append((number, parsed))
                    continue
                order.append((number, None))
                yield parsed

        with progress_reporter(total, skipped) as report, _collector_for_bulk():
            stream = engine.decide_many(
                applications(), caller=caller, batch_size=args.batch_size, timeout=args.timeout
            )
            async for outcome in stream:
                _write_rejects_before(order, files, args.batch_size)
                number, _ = order.popleft()
                row = outcome_row(number, outcome)
                if isinstance(row, Rejected):
                    files.reject(row)
                else:
                    files.result(row)
                files.done(number, every=args.batch_size)
                report(files.rows_done)
            _write_rejects_before(order, files, args.batch_size)
            report(files.rows_done)
    return files.finish()


@contextlib.contextmanager
def _collector_for_bulk() -> Iterator[None]:
    """Fewer garbage collections while a caseload runs: each application makes hundreds of
    short-lived objects, so the default thresholds collect every few applications, and each
    collection of the older generations walks the whole verifier (catalogue, items,
    compiled plans). Those are frozen out of the collector's sight, and the youngest
    generation is collected less often: measured on the bulk path, a fifth less CPU per
    application (docs/benchmarks.md, issue 12). Memory stays bounded: only cyclic garbage
    waits longer, and little of it is cyclic."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*BULK_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _write_rejects_before(
    order: deque[tuple[int, Rejected | None]], files: RecheckFiles, every: int
) -> None:
    """Write the rejected rows that come before the next row sent to the engine."""
    while order and order[0][1] is not None:
        number, rejected = order.popleft()
        assert rejected is not None
        files.reject(rejected)
        files.done(number, every=every)


def _print_summary(summary: Summary, files: RecheckFiles) -> None:
    print(f"\nre-checked {summary.rows} rows into {files.output}", end="")
    print(f"; {summary.rejected} rejected into {files.rejects}" if summary.rejected else "")
    sections = summary.to_json()
    titles = {
        "decisions": "decisions",
        "failed_clauses": "failed clauses",
        "unknown_reasons": "UNKNOWN facts by reason",
        "unknown_facts_by_department": "UNKNOWN facts by department",
        "failed_calls_by_department": "failed department calls by department",
    }
    for key, title in titles.items():
        counts = sections[key]
        if not counts:
            continue
        print(f"{title}:")
        for name, count in counts.items():
            print(f"  {name:<40} {count:>9}")
