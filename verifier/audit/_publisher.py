"""Publishing checkpoints to a witness from a background thread, never holding up the log.

The writer hands each checkpoint over once it is durable in the log (``submit`` only queues
it); this thread publishes them in order. A witness that is down, slow or refusing costs
nothing but the witnessing: the failure is logged once per outage, the checkpoint retried with
a growing pause, and records go on being written and answered. Should the backlog grow past
``max_pending`` the oldest are dropped (the newest seals everything before it, and the
latest witnessed checkpoint is what catches a cut-back log). On close, what is pending gets a
bounded time; the next start publishes the log's last checkpoint if the witness lacks it.
"""

from __future__ import annotations

import logging
import threading
from collections import deque

from verifier.audit._checkpoint import SignedCheckpoint
from verifier.audit._witness import Witness, WitnessError

logger = logging.getLogger("verifier.audit")


class WitnessPublisher:
    def __init__(
        self,
        witness: Witness,
        *,
        retry_seconds: float = 1.0,
        max_retry_seconds: float = 60.0,
        max_pending: int = 1000,
    ) -> None:
        self.witness = witness
        self._retry = retry_seconds
        self._max_retry = max_retry_seconds
        self._pending: deque[tuple[SignedCheckpoint, bool]] = deque()
        self._max_pending = max_pending
        self._changed = threading.Condition()
        self._closing = False
        self._failing = False
        self.published = 0
        """Checkpoints the witness accepted (or already held)."""
        self._thread = threading.Thread(target=self._run, name="audit-witness", daemon=True)
        self._thread.start()

    def submit(self, checkpoint: SignedCheckpoint, *, unless_witnessed: bool = False) -> None:
        """Queue ``checkpoint`` (returns at once). ``unless_witnessed``: skip it if the witness
        already holds it or a later one (the log's last checkpoint, on opening it again)."""
        with self._changed:
            self._pending.append((checkpoint, unless_witnessed))
            if len(self._pending) > self._max_pending:
                self._pending.popleft()
                logger.warning(
                    "audit witness %r: more than %d checkpoints waiting; dropped the oldest",
                    self.witness,
                    self._max_pending,
                )
            self._changed.notify()

    @property
    def pending(self) -> int:
        with self._changed:
            return len(self._pending)

    def close(self, timeout: float) -> int:
        """Give what is pending up to ``timeout`` seconds, then stop; returns how many
        checkpoints were left unwitnessed."""
        with self._changed:
            self._closing = True
            self._changed.notify()
        self._thread.join(timeout)
        left = self.pending
        if left:
            logger.warning(
                "audit witness %r: %d checkpoint(s) not witnessed at close; the next start "
                "publishes the log's last checkpoint",
                self.witness,
                left,
            )
        self.witness.close()
        return left

    def _run(self) -> None:
        pause = self._retry
        while True:
            with self._changed:
                while not self._pending and not self._closing:
                    self._changed.wait()
                if not self._pending:
                    return
                checkpoint, unless_witnessed = self._pending[0]
            try:
                self._publish(checkpoint, unless_witnessed)
            except WitnessError as exc:
                self._failed(exc)
                with self._changed:
                    if self._closing:
                        return  # close() reports what is left
                    self._changed.wait(pause)
                pause = min(pause * 2, self._max_retry)
                continue
            pause = self._retry
            self._recovered()
            with self._changed:
                if self._pending and self._pending[0][0] is checkpoint:
                    self._pending.popleft()
                self.published += 1

    def _publish(self, checkpoint: SignedCheckpoint, unless_witnessed: bool) -> None:
        if unless_witnessed:
            held = self.witness.latest(checkpoint.log_id)
            if held is not None and held.through_seq >= checkpoint.through_seq:
                return
        self.witness.publish(checkpoint)

    def _failed(self, exc: WitnessError) -> None:
        if not self._failing:
            # Once per outage: the log goes on, and a flood of lines would help no one.
            logger.error("audit witness: %s; records are still written, retrying", exc)
            self._failing = True

    def _recovered(self) -> None:
        if self._failing:
            self._failing = False
            logger.warning("audit witness %r: publishing again", self.witness)
