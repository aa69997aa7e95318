"""The ``Idempotency-Key`` store: which write a key started, and with what body.

protocol.md: a key is kept per API key with a fingerprint of the body and the
write's events for 24 hours. The same key with the same body joins the write
it started (running or finished), so nothing is published twice; the same key
with another body is refused with ``idempotency_key_reused``.

Claiming a key is synchronous on purpose: the check and the registration
happen with no ``await`` between them, so two concurrent requests with one key
cannot both start a write.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import attrs

from ._protocol import ProtocolError
from ._runs import WriteRun

__all__ = ["IdempotencyStore"]


@attrs.define
class _Entry:
    fingerprint: str
    run: WriteRun
    created_at: float


class IdempotencyStore:
    """Keys per API key, each with its body's fingerprint and its write."""

    def __init__(self, *, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        """Keep keys for ``ttl`` seconds as measured by ``clock``."""
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[tuple[str, str], _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def claim(
        self,
        *,
        account: str,
        key: str,
        fingerprint: str,
        start: Callable[[], WriteRun],
    ) -> tuple[WriteRun, bool]:
        """Return the write for ``key``, starting it with ``start()`` if the key is new.

        Args:
            account: the API key the request authenticated with (keys are per account).
            key: the request's ``Idempotency-Key``.
            fingerprint: the fingerprint of the request's body.
            start: starts the write; called only when the key is new or expired.

        Returns:
            The write and whether it is a replay (True: started by an earlier request).

        Raises:
            ProtocolError: 422 ``idempotency_key_reused`` when the key was used with
                another body.
        """
        self._forget_expired()
        entry = self._entries.get((account, key))
        if entry is None:
            run = start()
            self._entries[account, key] = _Entry(fingerprint, run, self._clock())
            return run, False
        if entry.fingerprint != fingerprint:
            msg = (
                "this Idempotency-Key was already used with a different body; use a new key "
                "for a new write, or resend exactly the same body to get the same answer"
            )
            raise ProtocolError(422, "idempotency_key_reused", msg, param="Idempotency-Key")
        return entry.run, True

    def _forget_expired(self) -> None:
        deadline = self._clock() - self._ttl
        expired = [
            name
            for name, entry in self._entries.items()
            # A write still running keeps its key, however long it takes.
            if entry.created_at <= deadline and entry.run.finished
        ]
        for name in expired:
            del self._entries[name]
