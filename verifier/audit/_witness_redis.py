"""A witness in a Redis stream: each checkpoint added with ``XADD``, never changed.

Give the service's Redis user only ``XADD`` and ``XRANGE`` on the witness keys (an ACL such as
``+xadd +xrange ~verifier:audit-witness:*``), on a Redis the log's host does not run, and a
published checkpoint cannot be taken back by whoever controls the log. One stream per log:
``<prefix><log id>``.
"""

from __future__ import annotations

from typing import Any

from verifier.audit._checkpoint import SignedCheckpoint
from verifier.audit._witness import WitnessError, latest_of, parse_checkpoint

DEFAULT_PREFIX = "verifier:audit-witness:"
_PAGE = 1000


class RedisWitness:
    def __init__(
        self, url: str, *, prefix: str = DEFAULT_PREFIX, timeout_seconds: float = 5.0
    ) -> None:
        try:
            import redis  # optional: only this witness needs it
        except ImportError:
            raise WitnessError(
                "a Redis witness needs the redis package (pip install 'onestop-verifier[redis]')"
            ) from None
        self._errors: tuple[type[Exception], ...] = (redis.RedisError, OSError)
        self._client: Any = redis.Redis.from_url(
            url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds
        )
        pool = self._client.connection_pool.connection_kwargs
        self._shown = f"redis {pool.get('host', pool.get('path', '?'))}:{pool.get('port', '')}"
        self.prefix = prefix

    def __repr__(self) -> str:
        return f"RedisWitness({self._shown!r}, prefix={self.prefix!r})"

    def publish(self, checkpoint: SignedCheckpoint) -> None:
        try:
            fields = {"checkpoint": checkpoint.to_json()}
            self._client.xadd(self.prefix + checkpoint.log_id, fields)
        except self._errors as error:
            raise WitnessError(f"witness {self._shown}: {error}") from None

    def latest(self, log_id: str) -> SignedCheckpoint | None:
        return latest_of(self._checkpoints(log_id), log_id)

    def _checkpoints(self, log_id: str) -> list[SignedCheckpoint]:
        # Every entry, not only the last added: the highest through_seq counts, whatever order
        # a misbehaving writer added them in. Checkpoints are few (one per 1000 records).
        key, start, found = self.prefix + log_id, "-", []
        try:
            while True:
                page = self._client.xrange(key, min=start, max="+", count=_PAGE)
                for entry_id, fields in page:
                    where = f"witness {self._shown} {key} {entry_id.decode()}"
                    found.append(parse_checkpoint(fields.get(b"checkpoint", b""), where))
                if len(page) < _PAGE:
                    return found
                start = "(" + page[-1][0].decode()
        except self._errors as error:
            raise WitnessError(f"witness {self._shown}: {error}") from None

    def close(self) -> None:
        self._client.close()
