"""The conformance checks, as plain coroutines: each returns the problems it found (none: pass).

They ask a real adapter over a real database, the way the engine does; nothing is mocked.
The pytest suite (``conformance_suite``) runs each as one test; other runners may call them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from pathlib import Path
from typing import TypeVar

from verifier._errors import DepartmentError, DepartmentUnavailable
from verifier.adapter._seam import DepartmentAnswer, DepartmentQuery, Unknown
from verifier.adapter.conformance._backends import broken_databases, planted_copies
from verifier.adapter.conformance._target import ConformanceTarget
from verifier.catalogue import FactDefinition
from verifier.model import FactValue, UnknownReason, ValueType

T = TypeVar("T")


async def check_facts_cover_the_catalogue(target: ConformanceTarget, url: str) -> list[str]:
    """The adapter derives every catalogue fact of its department, and no fact it does not have.

    The engine's wiring refuses an adapter that misses one; this says so before deployment.
    """
    adapter = target.adapter(url)
    supported = adapter.supported_facts()
    named = adapter.department
    await adapter.aclose()
    needed = {fact.id for fact in target.facts()}
    problems = []
    if named != target.department:
        # The engine refuses it at wiring ("adapter for X configured as Y"): say it here.
        problems.append(
            f"the adapter names its department {named!r}, the catalogue's is "
            f"{target.department!r}: set the class's department to the catalogue's id"
        )
    problems += [
        f"catalogue fact {fact!r} of department {target.department!r} has no derivation"
        for fact in sorted(needed - supported)
    ]
    known = {fact.id for fact in target.catalogue.facts_of(target.department)}
    problems += [
        f"derivation for {fact!r}, which is not a catalogue fact of {target.department!r}"
        for fact in sorted(supported - known)
    ]
    problems += [
        f"fact {fact.id!r} has parameters {sorted(fact.parameters)}: give values for them "
        "in ConformanceTarget.parameters"
        for fact in target.facts()
        if set(fact.parameters) - set(target.parameters.get(fact.id, {}))
    ]
    return problems


async def check_every_fact_answers_for_every_sample(
    target: ConformanceTarget, url: str
) -> list[str]:
    """Every fact is answered about every sample, with a value of the catalogue's type."""
    adapter = target.adapter(url)
    problems: list[str] = []
    try:
        for query in target.sample_queries():
            answer = await _asked(adapter.fetch(query), problems, "a sample")
            if answer is not None:
                problems += _shape_problems(target, query, answer)
    finally:
        await adapter.aclose()
    return _clean(problems, target)


async def check_unknown_subject_is_not_found(target: ConformanceTarget, url: str) -> list[str]:
    """About a subject the department does not hold, no fact is a KNOWN statement the engine
    would take as evidence.

    Each fact must answer either ``Unknown(SUBJECT_NOT_FOUND)`` or its catalogue
    ``absence_value`` (the engine then asks the register and reports the fact
    UNKNOWN(SUBJECT_NOT_FOUND) about anyone the register does not hold); the register fact
    itself answers False.
    """
    adapter = target.adapter(url)
    problems: list[str] = []
    register = target.register_fact()
    query = target.query_about(target.unknown_subject)
    try:
        answer = await _asked(adapter.fetch(query), problems, "the unknown subject")
    finally:
        await adapter.aclose()
    if answer is None:
        return problems
    problems += _shape_problems(target, query, answer)
    for fact in target.facts():
        value = answer.facts.get(fact.id)
        if value is None:
            continue
        if isinstance(value, Unknown):
            if value.reason is not UnknownReason.SUBJECT_NOT_FOUND:
                problems.append(
                    f"{fact.id}: about an unknown subject, Unknown({value.reason}) instead of "
                    "Unknown(SUBJECT_NOT_FOUND)"
                )
            continue
        expected: FactValue | None = False if fact.id == register else fact.absence_value
        if expected is None:
            problems.append(
                f"{fact.id}: answered a KNOWN value about a subject the department does not "
                "hold; answer Unknown(SUBJECT_NOT_FOUND), or declare the fact's absence_value "
                "in the catalogue"
            )
        elif type(value) is not type(expected) or value != expected:
            problems.append(
                f"{fact.id}: about an unknown subject, not the catalogue's absence_value "
                f"({expected!r})"
            )
    return problems


async def check_batch_equals_single(target: ConformanceTarget, url: str) -> list[str]:
    """``fetch_many`` answers exactly what ``fetch`` answers, query by query, in order."""
    queries = [*target.sample_queries(), target.query_about(target.unknown_subject)]
    adapter = target.adapter(url)
    problems: list[str] = []
    try:
        single = [await adapter.fetch(query) for query in queries]
        batch = await _asked(adapter.fetch_many(queries), problems, "a batch")
    finally:
        await adapter.aclose()
    if batch is None:
        return problems
    if len(batch) != len(queries):
        return [f"fetch_many answered {len(batch)} queries of {len(queries)}"]
    for index, (one, many) in enumerate(zip(single, batch, strict=True)):
        for key, value in one.facts.items():
            if many.facts.get(key) != value:
                problems.append(f"query #{index + 1}, {key}: the batch answer differs")
    return problems


async def check_no_raw_value_in_errors(
    target: ConformanceTarget, url: str, workdir: Path
) -> list[str]:
    """Canaries planted in every column of every table never reach an answer or an error,
    and every failure they cause is a ``DepartmentError`` (SQLite databases only: the
    canaries are planted in copies of the file)."""
    problems: list[str] = []
    queries = target.sample_queries()
    for planted in planted_copies(url, workdir):
        adapter = target.adapter(planted.url)
        try:
            single = adapter.fetch(queries[0])
            await _asked(single, problems, planted.where, secrets=[planted.canary])
            await _asked(adapter.fetch_many(queries), problems, planted.where, [planted.canary])
        finally:
            await adapter.aclose()
    return _clean(problems, target)


async def check_backend_errors_are_mapped(
    target: ConformanceTarget, url: str, workdir: Path
) -> list[str]:
    """An unreachable database is ``DepartmentUnavailable`` (retryable); missing tables, a
    file that is not a database and a closed adapter give a ``DepartmentError`` or answer;
    no failure escapes unmapped, none quotes a subject or the URL."""
    problems: list[str] = []
    query = target.sample_queries()[0]
    for broken in broken_databases(url, workdir):
        adapter = target.adapter(broken.url)
        try:
            await adapter.fetch(query)
        except DepartmentError as error:
            if broken.unavailable and not isinstance(error, DepartmentUnavailable):
                problems.append(f"{broken.what}: {type(error).__name__}, not DepartmentUnavailable")
            problems += _leaks(str(error), [broken.url, url], broken.what)
            if error.__cause__ is not None or error.__context__ is not None:
                problems.append(f"{broken.what}: the driver's exception is chained to the error")
        except Exception as error:
            problems.append(
                f"{broken.what}: unmapped {type(error).__module__}.{type(error).__name__}"
            )
        else:
            problems.append(f"{broken.what}: answered instead of raising a DepartmentError")
        finally:
            await adapter.aclose()
    problems += await _closed_adapter(target, url, query)
    return _clean(problems, target)


async def _closed_adapter(target: ConformanceTarget, url: str, query: DepartmentQuery) -> list[str]:
    """Asked after ``aclose`` (a late call at shutdown), an adapter answers or fails mapped."""
    adapter = target.adapter(url)
    problems: list[str] = []
    before = await adapter.fetch(query)
    await adapter.aclose()
    try:
        after = await adapter.fetch(query)
    except DepartmentError:
        return problems
    except Exception as error:
        return [f"closed adapter: unmapped {_kind(error)}"]
    finally:
        await adapter.aclose()
    if after.facts != before.facts:
        problems.append("closed adapter: answered differently after aclose()")
    return problems


async def _asked(
    call: Awaitable[T], problems: list[str], about: str, secrets: Sequence[str] = ()
) -> T | None:
    """Await ``call``; a failure becomes a problem unless it is a clean DepartmentError."""
    try:
        return await call
    except DepartmentError as error:
        problems += _leaks(str(error), secrets, about)
        if secrets:
            return None  # a planted value may make a record unreadable: that is allowed
        problems.append(f"{about}: {type(error).__name__}: {error}")
    except Exception as error:
        problems.append(f"{about}: unmapped {_kind(error)}")
    return None


def _shape_problems(
    target: ConformanceTarget, query: DepartmentQuery, answer: DepartmentAnswer
) -> list[str]:
    facts = {fact.id: fact for fact in target.facts()}
    problems = [
        f"{request.key}: no answer" for request in query.requests if request.key not in answer.facts
    ]
    for request in query.requests:
        value = answer.facts.get(request.key)
        if value is not None and not _of_type(value, facts[request.fact]):
            problems.append(f"{request.key}: not a {facts[request.fact].value_type} value")
    return problems


def _of_type(value: object, fact: FactDefinition) -> bool:
    if isinstance(value, Unknown):
        return isinstance(value.reason, UnknownReason)
    if fact.value_type is ValueType.BOOLEAN:
        return isinstance(value, bool)
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _leaks(message: str, secrets: Sequence[str], about: str) -> list[str]:
    return [f"{about}: an error message quotes a raw value" for s in secrets if s and s in message]


def _clean(problems: list[str], target: ConformanceTarget) -> list[str]:
    """The problems, with any subject identifier a message quoted reported (and masked)."""
    found = []
    for problem in problems:
        for secret in target.secrets():
            if secret in problem:
                problem = problem.replace(secret, "<subject id>") + " (quotes a subject id)"
        found.append(problem)
    return found


def _kind(error: Exception) -> str:
    return f"{type(error).__module__}.{type(error).__name__}"
