"""The shell of a write: awaitable for the aggregate, or an async context manager for a stream.

How it is built, and why:

* The work is one coroutine, ``run.execute(emit)``: a ``WriteRun`` (``_run``),
  or a ``FanOutRun`` (``_fanout``) for a write sent per platform; both are a
  ``Run``. Awaiting the operation runs it with an ``emit`` that drops events;
  a stream runs it in a task that sends events into a memory object stream.
* The stream object owns its task group and is entered with ``async with``;
  its iterator is a class with ``__anext__`` reading the memory stream, not
  an async generator (an async generator that holds a task group breaks
  cancellation, PEP 789). Leaving the block early (``break``, cancellation, an
  exception in the caller's body) cancels the work; responses and files are
  closed by the work's own ``finally`` blocks, shielded from that cancellation.
* The worker task never lets an exception escape into the task group: it
  stores it and closes the memory stream, and the reader raises it. So a
  caller's exception, and the write's own, surface as themselves, never
  wrapped in an ``ExceptionGroup``.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._models import PlatformResult, WriteResult
from ._run import Emit, drop_events
from .events import Event, WriteCompleted

if TYPE_CHECKING:
    from ._request import WriteRequest

__all__ = ["Run", "WriteOperation", "WriteStream"]

E = TypeVar("E", PlatformResult, Event)


class Run(Protocol):
    """The work of one write, as the shell runs it (``WriteRun``, ``FanOutRun``)."""

    @property
    def idempotency_key(self) -> str:
        """The write's key (the same on every retry)."""
        ...

    @property
    def request(self) -> WriteRequest:
        """The checked write."""
        ...

    async def execute(self, emit: Emit) -> WriteResult:
        """Do the write, handing each event to ``emit``; return the aggregate."""
        ...


class WriteOperation:
    """What ``AsyncClient.write()`` returns: await it, or enter it as a stream.

    ``await client.write(...)`` returns the ``WriteResult``.
    ``async with client.write(...) as stream`` gives a ``WriteStream``.
    Either way the write runs once: the operation cannot be reused.
    """

    __slots__ = ("_run", "_stream", "_used")

    def __init__(self, run: Run) -> None:
        self._run = run
        self._used = False
        self._stream: WriteStream | None = None

    @property
    def idempotency_key(self) -> str:
        """The key this write is sent with (the same on every retry)."""
        return self._run.idempotency_key

    def _claim(self) -> None:
        if self._used:
            msg = "a write runs once: call client.write(...) again for another write"
            raise RuntimeError(msg)
        self._used = True

    def __await__(self) -> Generator[Any, None, WriteResult]:
        self._claim()
        return self._run.execute(drop_events).__await__()

    async def __aenter__(self) -> WriteStream:
        self._claim()
        self._stream = WriteStream(self._run)
        return await self._stream.__aenter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._stream is not None  # noqa: S101 - __aenter__ ran
        return await self._stream.__aexit__(exc_type, exc, tb)


class _Channel:
    """The events of one streamed write, from its worker task to its reader."""

    __slots__ = ("error", "finished", "receive", "result", "send")

    def __init__(self) -> None:
        self.send: MemoryObjectSendStream[Event]
        self.receive: MemoryObjectReceiveStream[Event]
        self.send, self.receive = anyio.create_memory_object_stream[Event](math.inf)
        self.error: BaseException | None = None
        self.result: WriteResult | None = None
        self.finished = False

    async def work(self, run: Run) -> None:
        """Run the write, sending its events; keep its error for the reader."""
        async with self.send:
            try:
                await run.execute(self.send.send)
            except anyio.BrokenResourceError:
                pass  # the reader left: nothing more to deliver
            except Exception as exc:  # noqa: BLE001 - handed to the reader, raised there
                self.error = exc

    async def next_event(self) -> Event:
        """The next event; the write's error once the events are over."""
        if self.finished:
            raise StopAsyncIteration
        try:
            event = await self.receive.receive()
        except anyio.EndOfStream:
            self.finished = True
            error, self.error = self.error, None
            if error is not None:
                raise error from error.__cause__
            raise StopAsyncIteration from None
        if isinstance(event, WriteCompleted):
            self.result = event.result
        return event


class WriteStream:
    """A write in progress: iterate for each ``PlatformResult`` as it resolves.

    ``async for result in stream`` yields the platforms' results in completion
    order; ``stream.events()`` yields every event (uploads, statuses, results,
    and ``WriteCompleted`` last). Iterate one or the other. After the stream
    ends, ``stream.result`` is the ``WriteResult``.
    """

    def __init__(self, run: Run) -> None:
        self._run = run
        self._task_group: TaskGroup | None = None
        self._channel = _Channel()

    @property
    def idempotency_key(self) -> str:
        """The key this write is sent with (the same on every retry)."""
        return self._run.idempotency_key

    @property
    def result(self) -> WriteResult:
        """The aggregate, once the stream is done.

        Raises:
            RuntimeError: the stream has not reached its end yet.
        """
        result = self._channel.result
        if result is None:
            msg = (
                "the write is not done yet: iterate the stream, or await stream.get_final_result()"
            )
            raise RuntimeError(msg)
        return result

    async def __aenter__(self) -> WriteStream:
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        self._task_group = task_group
        task_group.start_soon(self._channel.work, self._run)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        task_group = self._task_group
        self._task_group = None
        if task_group is None:
            return None
        # Leaving the block ends the write whether or not it is done: a break,
        # a cancellation or an error in the body must not leave work behind.
        # The caller's own exception is not handed to the task group: it would
        # come out wrapped in an ExceptionGroup. Returning None re-raises it as is.
        task_group.cancel_scope.cancel()
        try:
            await task_group.__aexit__(None, None, None)
        finally:
            self._channel.receive.close()
        return None

    def __aiter__(self) -> _Iterator[PlatformResult]:
        return _Iterator(self._channel, PlatformResult)

    def events(self) -> _Iterator[Event]:
        """Iterate over every event of the write, ``WriteCompleted`` last."""
        return _Iterator(self._channel, object)

    async def get_final_result(self) -> WriteResult:
        """Wait for the write to finish (draining the events left) and return the aggregate."""
        async for _ in self.events():
            pass
        return self.result


class _Iterator(Generic[E]):
    """``async for`` over a stream: the events that are instances of ``kind``, in order."""

    __slots__ = ("_channel", "_kind")

    def __init__(self, channel: _Channel, kind: type[object]) -> None:
        self._channel = channel
        self._kind = kind

    def __aiter__(self) -> _Iterator[E]:
        return self

    async def __anext__(self) -> E:
        while True:
            event = await self._channel.next_event()
            if isinstance(event, self._kind):
                return event  # type: ignore[return-value]
