"""The state of one sandbox: what its handlers share, in one object.

The app factory puts one :class:`SandboxState` in the application; handlers,
the in-process runner and the inspection endpoint all go through it. Later
features of the server (media uploads, fault injection) add their own parts
here rather than reaching into each other's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from ._config import SandboxConfig
from ._credits import CreditBalance
from ._idempotency import IdempotencyStore
from ._ledger import Ledger, PublishedPost, SandboxStats
from ._protocol import ProtocolError
from ._publisher import WriteJob, run_write
from ._runs import WriteRun
from ._validation import ReceivedWrite

__all__ = ["SandboxState"]


class SandboxState:
    """Everything a running sandbox knows.

    Attributes:
        config: the sandbox's behaviour.
        ledger: published posts and counters (thread-safe).
        idempotency: the ``Idempotency-Key`` store.
        credits: the account's credit balance (thread-safe).

    ``published()``, ``stats`` and ``clear()`` may be called from any thread;
    everything else belongs to the server's event loop.
    """

    def __init__(
        self, config: SandboxConfig, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Create the state of a fresh sandbox with ``config``."""
        self.config = config
        self.ledger = Ledger()
        self.idempotency = IdempotencyStore(ttl=config.idempotency_ttl, clock=clock)
        self.credits = CreditBalance(config.credits)
        self._writes_started = 0
        self._running: dict[asyncio.Task[None], WriteRun] = {}
        self._closing = False
        # What the sandbox knows of a media URL (its own uploads): content type and size.
        self.media_lookup: Callable[[str], tuple[str, int] | None] = lambda url: None

    def published(self) -> list[PublishedPost]:
        """Return every post published so far, oldest first."""
        return self.ledger.posts()

    @property
    def stats(self) -> SandboxStats:
        """A snapshot of the counters: writes received, executed, replayed, publishes."""
        return self.ledger.stats()

    def clear(self) -> int:
        """Forget the published posts and reset the counters; return how many posts went.

        Idempotency keys are kept: a replay after a clear still publishes nothing.
        """
        return self.ledger.clear()

    def begin_write(
        self, request: ReceivedWrite, *, idempotency_key: str | None, after_event: int = 0
    ) -> tuple[WriteRun, bool]:
        """Start ``request``, or join the write its ``Idempotency-Key`` already started.

        ``after_event`` is the request's ``Last-Event-ID`` (0 without one): a
        write it starts numbers its events past it, so that all are sent.

        Returns:
            The write and whether it is a replay.

        Raises:
            ProtocolError: 422 ``idempotency_key_reused`` (same key, other body),
                402 ``insufficient_credits`` (a new write the credits cannot
                cover; nothing is recorded under its key), or 503
                ``service_unavailable`` while the sandbox is stopping.
        """
        if self._closing:
            msg = "the sandbox is stopping; retry against a running one"
            raise ProtocolError(503, "service_unavailable", msg)
        if idempotency_key is None:
            return self._start(request, idempotency_key=None, first_id=after_event + 1), False
        run, replayed = self.idempotency.claim(
            account=self.config.api_key,
            key=idempotency_key,
            fingerprint=request.fingerprint,
            start=lambda: self._start(
                request, idempotency_key=idempotency_key, first_id=after_event + 1
            ),
        )
        if replayed:
            self.ledger.count_replayed()
        return run, replayed

    async def aclose(self) -> None:
        """Cancel the writes still running and wait until they have stopped."""
        self._closing = True
        running = dict(self._running)
        for task in running:
            task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)
        # A task cancelled before its first step never ran its own cleanup.
        for run in running.values():
            if not run.finished:
                run.abandon()

    def _start(
        self, request: ReceivedWrite, *, idempotency_key: str | None, first_id: int
    ) -> WriteRun:
        # Before anything is counted or recorded: a refused write never started.
        reserved = self.credits.reserve(len(request.platforms))
        self._writes_started += 1
        run = WriteRun(number=self._writes_started, platforms=request.platforms, first_id=first_id)
        # However the write ends, what it set aside and did not spend goes back.
        run.on_finish(lambda: self.credits.settle(reserved, run.credits_used))
        job = WriteJob(
            run=run,
            request=request,
            idempotency_key=idempotency_key,
            config=self.config,
            ledger=self.ledger,
            media_lookup=self.media_lookup,
        )
        self.ledger.count_executed()
        # The write belongs to the server, not to the request: a client that
        # disconnects must not cancel a publish already under way.
        task = asyncio.get_running_loop().create_task(run_write(job))
        self._running[task] = run
        task.add_done_callback(self._forget)
        return run

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._running.pop(task, None)
