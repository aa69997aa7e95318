"""One write as it runs on the server: its recorded events and its final answer.

A write runs as a server-side task, apart from the request that started it,
so a client that drops mid-stream does not cancel the publish. Every event is
recorded with its ``id``; any number of readers follow the same run: the
first request streaming it live, a replay from the start or from
``Last-Event-ID``, or a JSON-mode request waiting for the aggregate.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

from .._protocol import EVENT_DONE, EVENT_ERROR, FINAL_EVENTS
from ._protocol import ProtocolError

__all__ = ["PING", "RecordedEvent", "WriteRun"]

PING = b": ping\n\n"
"""An SSE comment, sent after a stretch of silence so that proxies keep a stream open."""


@attrs.frozen
class RecordedEvent:
    """One server-sent event of a write.

    Attributes:
        id: the event's ``id``: consecutive within its write, from 1 (or from
            one past the ``Last-Event-ID`` that started the write).
        name: the event name (``status``, ``result``, ``done``, ``error``).
        data: the event's JSON data, on one line.
    """

    id: int
    name: str
    data: str

    def encode(self) -> bytes:
        """Return the event in the SSE wire format, blank line included."""
        return f"id: {self.id}\nevent: {self.name}\ndata: {self.data}\n\n".encode()

    @property
    def is_final(self) -> bool:
        """Whether the stream ends with this event (``done`` or ``error``)."""
        return self.name in FINAL_EVENTS


class WriteRun:
    """The event log and outcome of one write, shared by everyone who follows it.

    Lives on the server's event loop; not thread-safe.
    """

    def __init__(self, *, number: int, platforms: Sequence[str], first_id: int = 1) -> None:
        """Start an empty log for write ``number`` of ``platforms``, its ids from ``first_id``."""
        self.number = number
        self.first_id = first_id
        self.platforms = tuple(platforms)
        self.events: list[RecordedEvent] = []
        self.answer_text: str | None = None
        self.failure: ProtocolError | None = None
        # What the write cost, once it finished with its answer (failures are free).
        self.credits_used = Decimal(0)
        self.finished = False
        self._changed = asyncio.Event()
        self._on_finish: list[Callable[[], None]] = []

    def emit(self, name: str, data: Mapping[str, Any]) -> None:
        """Record an event whose data is ``data`` as JSON."""
        self._append(name, json.dumps(data, ensure_ascii=False))

    def complete(self, answer_text: str) -> None:
        """Record the ``done`` event, whose data is exactly the JSON answer, and finish."""
        self.answer_text = answer_text
        self._append(EVENT_DONE, answer_text)
        self._finish()

    def fail(self, failure: ProtocolError) -> None:
        """Record an ``error`` event (the write failed as a whole) and finish."""
        self.failure = failure
        self._append(EVENT_ERROR, failure.body_text())
        self._finish()

    def abandon(self) -> None:
        """Finish without a last event: the server is stopping."""
        self._finish()

    def on_finish(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` the moment the run finishes, however it ends."""
        self._on_finish.append(callback)

    def events_after(self, last_event_id: int) -> list[RecordedEvent]:
        """Return the recorded events whose ``id`` is greater than ``last_event_id``.

        Never one at or below it (protocol.md): a write that a ``Last-Event-ID``
        started numbers its events past that id (``first_id``), so all of them,
        ``done`` included, are sent.
        """
        # ids are consecutive from first_id, so an id's position is id - first_id.
        start = max(last_event_id - self.first_id + 1, 0)
        return self.events[start:]

    async def wait_for_change(self, timeout: float | None = None) -> bool:
        """Wait until an event is recorded or the run finishes.

        Returns:
            True when something changed, False when ``timeout`` seconds passed first.
        """
        if self.finished:
            return True
        changed = self._changed
        try:
            await asyncio.wait_for(changed.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    async def wait_finished(self) -> None:
        """Wait until the run has finished, however it ended."""
        while not self.finished:
            await self.wait_for_change()

    def _append(self, name: str, data: str) -> None:
        if self.finished:
            msg = f"write {self.number} already finished; cannot record {name!r}"
            raise RuntimeError(msg)
        self.events.append(RecordedEvent(self.first_id + len(self.events), name, data))
        self._wake()

    def _finish(self) -> None:
        self.finished = True
        callbacks, self._on_finish = self._on_finish, []
        for callback in callbacks:
            callback()
        self._wake()

    def _wake(self) -> None:
        # Waking replaces the event: each waiter holds the one it waited on, so
        # a waiter that arrives later waits for the next change, not a past one.
        self._changed.set()
        self._changed = asyncio.Event()
