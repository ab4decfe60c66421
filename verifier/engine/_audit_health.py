"""Whether the audit sink is writing, as its last write or probe found.

No audit, no answer: while the sink cannot write, every verification fails, so whoever
routes calls here (a load balancer reading health) must hear of it. The state follows the
outcomes of real writes and of ``AuditSink.probe``: a write that fails marks the sink
unwritable, the next write or probe that succeeds marks it writable again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

AuditWatcher = Callable[[bool], None]
"""Told ``writable`` each time the sink's state changes; see ``AuditHealth.watch``."""


class AuditHealth:
    """The audit sink's last known state, and who wants to hear when it changes."""

    def __init__(self) -> None:
        self.writable = True
        self._watchers: list[AuditWatcher] = []

    def observed(self, writable: bool) -> None:
        """A write or probe just succeeded (``True``) or failed (``False``)."""
        if writable == self.writable:
            return
        self.writable = writable
        for watcher in tuple(self._watchers):
            watcher(writable)

    def watch(self, watcher: AuditWatcher) -> Callable[[], None]:
        """Call ``watcher(writable)`` on every change until the returned function is called."""
        self._watchers.append(watcher)

        def unwatch() -> None:
            with contextlib.suppress(ValueError):
                self._watchers.remove(watcher)

        return unwatch
