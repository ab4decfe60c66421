"""High-risk behaviour alerts (高危行为预警): callers that ask about too many people, at
night, or for what they may not see.

Three rules, all per calling system and all judged on what the audit record already says
(the caller and the subjects' pseudonyms — never an ID):

``distinct_subjects_per_hour``
    More distinct subjects than the threshold within a sliding hour. A clerk's window asks
    about a family at a time; a system working through the population is either a bulk job
    that should say so or a leak in progress.
``off_hours_bulk_access``
    More verifications than the threshold within one night's off-hours window (local time,
    e.g. 22:00–06:00 Asia/Shanghai, which spans midnight and counts as one night).
``refusals_per_hour``
    More requests refused by access control than the threshold within a sliding hour. A
    misconfigured system fails now and then; one that keeps asking for facts it may not
    see (other items, missing consent, the negative list) is probing.

Each rule alerts once when its threshold is crossed and then keeps quiet for that caller —
for an hour, or for the rest of the night — so sustained abuse yields one alert per window
rather than one per request. The monitor is pure (no I/O, time passed in or from an injected
clock) and its memory is bounded: at most ``max_tracked_callers`` callers, each holding at
most ``distinct_subjects_per_hour + 1`` recent pseudonyms (enough to tell "over the
threshold" exactly, which is all the rule needs).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from verifier.audit._record import AlertRecord

DISTINCT_SUBJECTS_PER_HOUR = "distinct_subjects_per_hour"
OFF_HOURS_BULK_ACCESS = "off_hours_bulk_access"
REFUSALS_PER_HOUR = "refusals_per_hour"
ALERT_RULES = (DISTINCT_SUBJECTS_PER_HOUR, OFF_HOURS_BULK_ACCESS, REFUSALS_PER_HOUR)

SUBJECT_WINDOW = timedelta(hours=1)
_DAY = timedelta(days=1)


class AlertThresholds(Protocol):
    """What the monitor reads from its configuration (``verifier.config.AlertsConfig``).

    A protocol rather than the config class itself: the audit layer must not import the
    configuration edge that sits above it.
    """

    @property
    def enabled(self) -> bool: ...
    @property
    def distinct_subjects_per_hour(self) -> int: ...
    @property
    def off_hours_start(self) -> time: ...
    @property
    def off_hours_end(self) -> time: ...
    @property
    def off_hours_max_verifications(self) -> int: ...
    @property
    def timezone(self) -> str: ...
    @property
    def max_tracked_callers(self) -> int: ...
    @property
    def refusals_per_hour(self) -> int: ...


@dataclass(slots=True)
class _CallerActivity:
    # Pseudonym → when last asked about, least recently asked first.
    recent_subjects: OrderedDict[str, datetime] = field(default_factory=OrderedDict)
    subjects_alerted_at: datetime | None = None
    night: date | None = None
    night_verifications: int = 0
    night_alerted: bool = False
    # When recent refusals happened, oldest first (at most threshold + 1 kept).
    recent_refusals: deque[datetime] = field(default_factory=deque)
    refusals_alerted_at: datetime | None = None


def _utc_now() -> datetime:
    return datetime.now(UTC)


class HighRiskMonitor:
    """Watches verifications per caller and returns the alerts they trigger."""

    def __init__(self, config: AlertThresholds, clock: Callable[[], datetime] = _utc_now) -> None:
        self._config = config
        self._clock = clock
        self._zone = ZoneInfo(config.timezone)
        self._callers: OrderedDict[str, _CallerActivity] = OrderedDict()
        self._off_hours_seconds = _window_seconds(config.off_hours_start, config.off_hours_end)

    @property
    def tracked_callers(self) -> int:
        return len(self._callers)

    @property
    def tracked_subjects(self) -> int:
        """Pseudonyms held across all callers (what the memory bound is about)."""
        return sum(len(activity.recent_subjects) for activity in self._callers.values())

    def observe(
        self,
        caller_system: str,
        subject_pseudonyms: Sequence[str],
        at: datetime | None = None,
    ) -> list[AlertRecord]:
        """Record one verification by ``caller_system`` at ``at`` (default: the clock);
        the alerts it triggers, if any. Pass timezone-aware times."""
        if not self._config.enabled:
            return []
        at = self._clock() if at is None else at
        activity = self._activity_of(caller_system)
        alerts = [
            self._distinct_subjects(activity, caller_system, subject_pseudonyms, at),
            self._off_hours(activity, caller_system, at),
        ]
        return [alert for alert in alerts if alert is not None]

    def observe_refusal(self, caller_system: str, at: datetime | None = None) -> list[AlertRecord]:
        """Record one request by ``caller_system`` that access control refused; the alert it
        triggers, if any (refusals are not verifications: the other rules ignore them)."""
        if not self._config.enabled:
            return []
        at = self._clock() if at is None else at
        activity = self._activity_of(caller_system)
        recent = activity.recent_refusals
        recent.append(at)
        while recent and recent[0] <= at - SUBJECT_WINDOW:
            recent.popleft()
        observed = len(recent)
        threshold = self._config.refusals_per_hour
        while len(recent) > threshold + 1:
            recent.popleft()
        if observed <= threshold:
            return []
        alerted_at = activity.refusals_alerted_at
        if alerted_at is not None and at - alerted_at < SUBJECT_WINDOW:
            return []
        activity.refusals_alerted_at = at
        return [
            AlertRecord(
                time=at,
                caller_system=caller_system,
                rule=REFUSALS_PER_HOUR,
                description=f"more than {threshold} requests refused by access control "
                "within one hour",
                observed=observed,
                threshold=threshold,
                window_seconds=int(SUBJECT_WINDOW.total_seconds()),
            )
        ]

    def _activity_of(self, caller_system: str) -> _CallerActivity:
        activity = self._callers.get(caller_system)
        if activity is None:
            activity = self._callers[caller_system] = _CallerActivity()
            while len(self._callers) > self._config.max_tracked_callers:
                self._callers.popitem(last=False)  # the least recently active caller
        else:
            self._callers.move_to_end(caller_system)
        return activity

    def _distinct_subjects(
        self,
        activity: _CallerActivity,
        caller_system: str,
        subject_pseudonyms: Sequence[str],
        at: datetime,
    ) -> AlertRecord | None:
        recent = activity.recent_subjects
        for pseudonym in subject_pseudonyms:
            recent[pseudonym] = at
            recent.move_to_end(pseudonym)
        horizon = at - SUBJECT_WINDOW
        while recent and next(iter(recent.values())) <= horizon:
            recent.popitem(last=False)
        observed = len(recent)
        threshold = self._config.distinct_subjects_per_hour
        # Only the most recent threshold + 1 subjects matter: they alone say "over it".
        while len(recent) > threshold + 1:
            recent.popitem(last=False)
        if observed <= threshold:
            return None
        alerted_at = activity.subjects_alerted_at
        if alerted_at is not None and at - alerted_at < SUBJECT_WINDOW:
            return None  # already reported; quiet until that hour has passed
        activity.subjects_alerted_at = at
        return AlertRecord(
            time=at,
            caller_system=caller_system,
            rule=DISTINCT_SUBJECTS_PER_HOUR,
            description=f"more than {threshold} distinct subjects within one hour",
            observed=observed,
            threshold=threshold,
            window_seconds=int(SUBJECT_WINDOW.total_seconds()),
        )

    def _off_hours(
        self, activity: _CallerActivity, caller_system: str, at: datetime
    ) -> AlertRecord | None:
        night = self._night_of(at)
        if night is None:
            return None
        if activity.night != night:
            activity.night, activity.night_verifications, activity.night_alerted = night, 0, False
        activity.night_verifications += 1
        threshold = self._config.off_hours_max_verifications
        if activity.night_verifications <= threshold or activity.night_alerted:
            return None
        activity.night_alerted = True
        start, end = self._config.off_hours_start, self._config.off_hours_end
        return AlertRecord(
            time=at,
            caller_system=caller_system,
            rule=OFF_HOURS_BULK_ACCESS,
            description=(
                f"more than {threshold} verifications between {start:%H:%M} and {end:%H:%M}"
                f" ({self._config.timezone})"
            ),
            observed=activity.night_verifications,
            threshold=threshold,
            window_seconds=self._off_hours_seconds,
        )

    def _night_of(self, at: datetime) -> date | None:
        """The local date the off-hours window containing ``at`` began on; None if ``at``
        is within working hours."""
        local = at.astimezone(self._zone)
        now = local.time().replace(tzinfo=None)
        start, end = self._config.off_hours_start, self._config.off_hours_end
        if start < end:
            return local.date() if start <= now < end else None
        if now >= start:
            return local.date()
        if now < end:
            return local.date() - _DAY  # after midnight: the night that began yesterday
        return None


def _window_seconds(start: time, end: time) -> int:
    seconds = (end.hour * 3600 + end.minute * 60 + end.second) - (
        start.hour * 3600 + start.minute * 60 + start.second
    )
    return seconds % int(_DAY.total_seconds())
