"""The write operation: awaitable for the aggregate, or an async context manager for a stream.

How it is built, and why:

* One coroutine, ``_WriteRun.execute(emit)``, does the work: upload local
  media, send the write, decode the answer, hand each event to ``emit``, and
  return the aggregate. Awaiting the operation runs it with an ``emit`` that
  drops events; a stream runs it in a task that sends events into a memory
  object stream.
* The stream object owns its task group and is entered with ``async with``;
  its iterators are classes with ``__anext__`` reading the memory stream, not
  async generators (an async generator that holds a task group breaks
  cancellation, PEP 789). Leaving the block early (``break``, cancellation, an
  exception in the caller's body) cancels the work; responses and files are
  closed by the work's own ``finally`` blocks, shielded from that cancellation.
* The worker task never lets an exception escape into the task group: it
  stores it and closes the memory stream, and the reader raises it. So a
  caller's exception, and the write's own, surface as themselves, never
  wrapped in an ``ExceptionGroup``.
* A write is sent with ``Accept: text/event-stream``. When the stream breaks
  before ``done``, the write is sent again with the same ``Idempotency-Key``
  and ``Last-Event-ID``; the server replays what followed and nothing is
  published twice. A platform's result is never yielded twice.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio
import attrs
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._converter import (
    ResponseShapeError,
    dumps,
    encode_body,
    error_from_body,
    loads,
    structure_platform_result,
    structure_write_result,
)
from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
)
from ._logging import logger, redact_url
from ._models import PlatformResult, WriteResult
from ._retry import RetryPolicy, parse_retry_after
from ._sse import ServerSentEvent, SSEDecodeError, SSEDecoder
from ._transport import Timeout
from ._transport._base import _new_request
from .events import Event, PlatformStatus, WriteCompleted

if TYPE_CHECKING:
    from ._client import AsyncClient
    from ._transport import Response
    from ._validate import WriteRequest

__all__ = ["WriteOperation", "WriteStream"]

WRITE_PATH = "/v1/social/write"
# An error body is small; a success body holds one result per platform (at
# most 20). Anything far larger is not a protocol answer.
MAX_ERROR_BODY = 1024 * 1024
MAX_JSON_BODY = 8 * 1024 * 1024
# After ``done``: how long and how much to read to reach the stream's end.
DRAIN_SECONDS = 0.25
DRAIN_BYTES = 64 * 1024

# The status each error ``type`` stands for, to type an ``error`` event
# (which arrives inside a 200 stream).
_TYPE_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "conflict_error": 409,
    "rate_limit_error": 429,
    "api_error": 500,
}

Emit = Callable[[Event], Awaitable[None]]

# The events an awaited write decodes: the done event repeats every result
# sent one by one before it, so statuses and results are not even parsed.
_AGGREGATE_EVENTS = ("done", "error")
# The headers of every write besides those of every request (User-Agent, Authorization).
_WRITE_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "text/event-stream, application/json;q=0.9",
}


async def _drop(event: Event) -> None:
    """The ``emit`` of an awaited write: events are not wanted."""


@functools.lru_cache(maxsize=64)
def _stream_timeout(timeout: Timeout) -> Timeout:
    """A streamed write waits between events at most ``idle`` (pings reset it).

    Cached (``Timeout`` is frozen, so hashable): a client sends every write
    with one of very few timeouts, and building one costs more than the lookup.
    """
    if timeout.idle is None:
        return timeout
    return attrs.evolve(timeout, read=timeout.idle)


def new_idempotency_key() -> str:
    """A fresh idempotency key for one logical write: 128 random bits, in hex."""
    return "sw-" + os.urandom(16).hex()


class _FinalError(Exception):
    """Wraps an error that a retry cannot mend (an ``error`` event is replayed as is)."""

    def __init__(self, error: APIError) -> None:
        super().__init__(str(error))
        self.error = error


class _Progress:
    """What a write has seen so far, kept across retries of the same write."""

    __slots__ = ("emitted", "last_event_id")

    def __init__(self) -> None:
        self.emitted: set[int] = set()
        self.last_event_id: str | None = None


async def _drain(chunks: AsyncIterator[bytes]) -> None:
    """Read what follows the ``done`` event, so the connection can be reused.

    The server closes the stream right after ``done``; its end usually arrives
    with it. Leaving it unread would make the transport close the connection
    and the next write open a new one. A server that keeps talking gets a
    short grace and a byte budget, then the connection is closed after all.
    """
    budget = DRAIN_BYTES
    with anyio.move_on_after(DRAIN_SECONDS):
        async for rest in chunks:
            budget -= len(rest)
            if budget < 0:
                return


class _WriteRun:
    """One logical write: uploads, the write call with its retries, decoding."""

    __slots__ = (
        "client",
        "idempotency_key",
        "policy",
        "request",
        "request_timeout",
        "streamed",
        "timeout",
        "url",
    )

    def __init__(
        self,
        client: AsyncClient,
        request: WriteRequest,
        *,
        policy: RetryPolicy,
        timeout: Timeout,
    ) -> None:
        self.client = client
        self.request = request
        self.policy = policy
        self.timeout = timeout
        self.idempotency_key = request.idempotency_key or new_idempotency_key()
        self.url = client._url(WRITE_PATH)
        # The client remembers the last one made: its writes share one timeout.
        made_for, request_timeout = client._write_timeout
        if timeout is not made_for:
            request_timeout = _stream_timeout(timeout)
            client._write_timeout = (timeout, request_timeout)
        self.request_timeout = request_timeout
        # Set by ``execute``: whether anyone reads the events one by one.
        self.streamed = True

    async def execute(self, emit: Emit) -> WriteResult:
        """Upload media, send the write (retrying safely), emit events, return the aggregate.

        Raises:
            APIError: the write failed; its ``idempotency_key`` is the write's,
                so the caller can send it again without publishing twice.
        """
        try:
            # An awaited write wants the aggregate only: statuses and results sent
            # one by one are not decoded (the done event carries every result).
            self.streamed = emit is not _drop
            uploaded: dict[str, str] = {}
            local_files = self.request.local_files
            if local_files:
                from ._media import upload_all  # noqa: PLC0415 - only writes with local files

                uploaded = await upload_all(self.client, local_files, emit, self.policy)
            body = self.request.encoded_body
            if body is None:
                body = encode_body(self.request.body(uploaded))
            progress = _Progress()
            attempt = 0
            url = self.url
            while True:
                started = time.monotonic()
                try:
                    if self.timeout.total is None:
                        result = await self._attempt_once(body, emit, progress)
                    else:
                        result = await self._attempt_within_total(body, emit, progress)
                except _FinalError as final:
                    raise final.error from final.error.__cause__
                except (APIConnectionError, APIStatusError) as exc:
                    delay = self._retry_delay(exc, attempt, started, url)
                    if delay is None:
                        raise
                    await anyio.sleep(delay)
                    attempt += 1
                    continue
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug(
                        "POST %s -> %d results in %.1f ms, key %s, request id %s, %d retries",
                        redact_url(url),
                        len(result.results),
                        (time.monotonic() - started) * 1000,
                        self.idempotency_key,
                        result.request_id,
                        attempt,
                    )
                if attempt:
                    result = attrs.evolve(result, retries=attempt)
                if self.streamed:
                    await emit(WriteCompleted(result=result))
                return result
        except APIError as error:
            error.idempotency_key = self.idempotency_key
            raise

    def _retry_delay(
        self, exc: APIConnectionError | APIStatusError, attempt: int, started: float, url: str
    ) -> float | None:
        """Seconds to wait before retrying after ``exc``, or ``None`` to give up (logged)."""
        status = exc.status_code if isinstance(exc, APIStatusError) else None
        retry_after = exc.retry_after if isinstance(exc, APIStatusError) else None
        decision = self.policy.decide(
            attempt=attempt,
            status=status,
            error=None if status is not None else exc,
            retry_after=retry_after,
        )
        outcome = status if status is not None else type(exc).__name__
        if not decision.retry:
            logger.warning(
                "POST %s failed (%s) after %.1f ms, key %s: %s",
                redact_url(url),
                outcome,
                (time.monotonic() - started) * 1000,
                self.idempotency_key,
                decision.reason,
            )
            return None
        logger.info(
            "POST %s failed (%s), key %s: %s",
            redact_url(url),
            outcome,
            self.idempotency_key,
            decision.reason,
        )
        return decision.delay

    async def _attempt_within_total(
        self, body: bytes, emit: Emit, progress: _Progress
    ) -> WriteResult:
        total = self.timeout.total
        assert total is not None  # noqa: S101 - the caller checked
        try:
            with anyio.fail_after(total):
                return await self._attempt_once(body, emit, progress)
        except TimeoutError as exc:
            url = self.client._url(WRITE_PATH)
            msg = f"POST {url} took longer than its total timeout of {total:g} s"
            raise APITimeoutError(msg, method="POST", url=url) from exc

    async def _attempt_once(self, body: bytes, emit: Emit, progress: _Progress) -> WriteResult:
        client = self.client
        url = self.url
        headers = client._headers(url, _WRITE_HEADERS)
        headers["Idempotency-Key"] = self.idempotency_key
        if progress.last_event_id is not None:
            headers["Last-Event-ID"] = progress.last_event_id
        request = _new_request("POST", url, headers, body, self.request_timeout)
        response = await client._get_transport().send(request)
        try:
            # The common answer, a stream, is read without a detour.
            if 200 <= response.status_code < 400 and (
                response.headers.get("content-type") == "text/event-stream"
            ):
                return await self._read_stream(response, emit, progress, url)
            return await self._read_answer(response, emit, progress, url)
        finally:
            # A close that must await is shielded, so a cancellation cannot leave
            # the connection half-closed; one that needs no await skips the scope.
            if not response.close_now():
                with anyio.CancelScope(shield=True):
                    await response.aclose()

    async def _read_answer(
        self, response: Response, emit: Emit, progress: _Progress, url: str
    ) -> WriteResult:
        client = self.client
        request_id = response.headers.get("x-request-id")
        status = response.status_code
        if status >= 400 or status < 200:
            raw = client._redact(await response.aread(MAX_ERROR_BODY))
            raise error_from_body(
                status,
                raw,
                request_id=request_id,
                retry_after=parse_retry_after(response.headers.get("retry-after")),
                method="POST",
                url=url,
            )
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "text/event-stream":
            return await self._read_stream(response, emit, progress, url)
        if content_type == "application/json" or content_type.endswith("+json"):
            raw = client._redact(await response.aread(MAX_JSON_BODY))
            result = self._decode_json(raw, status, request_id, url)
            if self.streamed:
                # A server without streaming: every result at once, in request order.
                await self._emit_remaining(result, emit, progress)
            return result
        msg = f"the write's answer has an unexpected content type {content_type!r}"
        raise APIResponseValidationError(
            msg, status_code=status, request_id=request_id, method="POST", url=url
        )

    def _decode_json(
        self, raw: bytes, status: int, request_id: str | None, url: str
    ) -> WriteResult:
        try:
            data = loads(raw)
            result = structure_write_result(
                data, idempotency_key=self.idempotency_key, request_id=request_id
            )
        except (ValueError, ResponseShapeError) as exc:
            msg = f"the write's answer did not parse: {self.client._redact_text(str(exc))}"
            raise APIResponseValidationError(
                msg, status_code=status, request_id=request_id, method="POST", url=url
            ) from None
        self._check_platforms(result, status, request_id, url)
        return result

    def _check_platforms(
        self, result: WriteResult, status: int, request_id: str | None, url: str
    ) -> None:
        got = tuple([r.platform for r in result.results])
        if got != self.request.platforms:
            msg = (
                f"the answer's results are for {list(got)!r}, "
                f"not the requested {list(self.request.platforms)!r}"
            )
            raise APIResponseValidationError(
                msg, status_code=status, request_id=request_id, method="POST", url=url
            )

    async def _read_stream(
        self, response: Response, emit: Emit, progress: _Progress, url: str
    ) -> WriteResult:
        # An awaited write wants the aggregate only: the decoder skips the
        # statuses and results sent one by one (the done event carries every
        # result) without parsing them, and still tracks their ids.
        decoder = SSEDecoder() if self.streamed else SSEDecoder(only_types=_AGGREGATE_EVENTS)
        status = response.status_code
        request_id = response.headers.get("x-request-id")
        chunks = response.aiter_bytes()
        try:
            try:
                async for chunk in chunks:
                    for event in decoder.feed(chunk):
                        result = await self._handle_event(event, emit, progress, url, request_id)
                        if result is not None:
                            if not response.at_eof():
                                await _drain(chunks)
                            return result
                        if event.id is not None:
                            progress.last_event_id = event.id
                    if not self.streamed and decoder.last_event_id is not None:
                        # The ids of the skipped events: a resumed write starts after them.
                        progress.last_event_id = decoder.last_event_id
            finally:
                await chunks.aclose()
            for event in decoder.close():
                result = await self._handle_event(event, emit, progress, url, request_id)
                if result is not None:
                    return result
        except SSEDecodeError as exc:
            msg = f"the write's event stream did not parse: {exc}"
            raise APIResponseValidationError(
                msg, status_code=status, request_id=request_id, method="POST", url=url
            ) from None
        except APIConnectionError:
            if decoder.last_event_id is not None:
                progress.last_event_id = decoder.last_event_id
            raise
        msg = "the write's event stream ended before its 'done' event"
        raise APIConnectionError(msg, method="POST", url=url)

    async def _handle_event(
        self,
        event: ServerSentEvent,
        emit: Emit,
        progress: _Progress,
        url: str,
        request_id: str | None,
    ) -> WriteResult | None:
        name = event.event
        if name not in ("status", "result", "done", "error"):
            return None  # a newer server's event: ignore it, as the protocol says
        status = 200
        try:
            data = loads(event.data)
            if name == "status":
                await emit(self._status_event(data))
            elif name == "result":
                index, result = self._result_event(data)
                if index not in progress.emitted:
                    progress.emitted.add(index)
                    await emit(result)
            elif name == "done":
                final = structure_write_result(
                    data, idempotency_key=self.idempotency_key, request_id=request_id
                )
                self._check_platforms(final, status, request_id, url)
                if self.streamed:
                    await self._emit_remaining(final, emit, progress)
                return final
            else:
                raise _FinalError(self._error_event(data, url, request_id))
        except (ValueError, ResponseShapeError) as exc:
            msg = f"the write's {name!r} event did not parse: {self.client._redact_text(str(exc))}"
            raise APIResponseValidationError(
                msg, status_code=status, request_id=request_id, method="POST", url=url
            ) from None
        return None

    @staticmethod
    async def _emit_remaining(result: WriteResult, emit: Emit, progress: _Progress) -> None:
        """Emit the results not yet emitted one by one (never one twice)."""
        for index, item in enumerate(result.results):
            if index not in progress.emitted:
                progress.emitted.add(index)
                await emit(item)

    def _status_event(self, data: object) -> PlatformStatus:
        if not isinstance(data, dict):
            msg = "status data must be an object"
            raise ResponseShapeError(msg)
        index = self._index(data)
        state = data.get("state")
        if not isinstance(state, str):
            msg = "status.state must be a string"
            raise ResponseShapeError(msg)
        raw_progress = data.get("progress")
        progress_value: float | None = None
        if raw_progress is not None:
            if isinstance(raw_progress, bool) or not isinstance(
                raw_progress, (int, float, Decimal)
            ):
                msg = "status.progress must be a number or null"
                raise ResponseShapeError(msg)
            progress_value = float(raw_progress)
            if not math.isfinite(progress_value):
                msg = "status.progress must be a finite number"
                raise ResponseShapeError(msg)
        return PlatformStatus(
            platform=self.request.platforms[index],
            index=index,
            state=state,
            progress=progress_value,
        )

    def _index(self, data: dict[str, Any]) -> int:
        index = data.get("index")
        if isinstance(index, bool) or not isinstance(index, int):
            msg = "index must be an integer"
            raise ResponseShapeError(msg)
        if not 0 <= index < len(self.request.platforms):
            msg = f"index {index} is outside the write's {len(self.request.platforms)} platforms"
            raise ResponseShapeError(msg)
        platform = data.get("platform", self.request.platforms[index])
        if platform != self.request.platforms[index]:
            msg = f"index {index} is {self.request.platforms[index]!r}, not {platform!r}"
            raise ResponseShapeError(msg)
        return index

    def _result_event(self, data: object) -> tuple[int, PlatformResult]:
        if not isinstance(data, dict):
            msg = "result data must be an object"
            raise ResponseShapeError(msg)
        index = self._index(data)
        return index, structure_platform_result(data, "result")

    def _error_event(self, data: object, url: str, request_id: str | None) -> APIError:
        raw = dumps(data).encode()
        inner = data.get("error") if isinstance(data, dict) else None
        error_type = inner.get("type") if isinstance(inner, dict) else None
        status = _TYPE_STATUS.get(error_type, 500) if isinstance(error_type, str) else 500
        return error_from_body(
            status,
            self.client._redact(raw),
            request_id=request_id,
            retry_after=None,
            method="POST",
            url=url,
        )


class WriteOperation:
    """What ``AsyncClient.write()`` returns: await it, or enter it as a stream.

    ``await client.write(...)`` returns the ``WriteResult``.
    ``async with client.write(...) as stream`` gives a ``WriteStream``.
    Either way the write runs once: the operation cannot be reused.
    """

    __slots__ = ("_run", "_stream", "_used")

    def __init__(
        self,
        client: AsyncClient,
        request: WriteRequest,
        *,
        policy: RetryPolicy,
        timeout: Timeout,
    ) -> None:
        self._run = _WriteRun(client, request, policy=policy, timeout=timeout)
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
        return self._run.execute(_drop).__await__()

    async def __aenter__(self) -> WriteStream:
        self._claim()
        self._stream = WriteStream(self._run)
        await self._stream._open()
        return self._stream

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._stream is not None  # noqa: S101 - __aenter__ ran
        return await self._stream._close(exc_type, exc, tb)


class WriteStream:
    """A write in progress: iterate for each ``PlatformResult`` as it resolves.

    ``async for result in stream`` yields the platforms' results in completion
    order; ``stream.events()`` yields every event (uploads, statuses, results,
    and ``WriteCompleted`` last). Iterate one or the other. After the stream
    ends, ``stream.result`` is the ``WriteResult``.
    """

    def __init__(self, run: _WriteRun) -> None:
        self._run = run
        self._task_group: TaskGroup | None = None
        self._send: MemoryObjectSendStream[Event]
        self._receive: MemoryObjectReceiveStream[Event]
        self._send, self._receive = anyio.create_memory_object_stream[Event](math.inf)
        self._error: BaseException | None = None
        self._result: WriteResult | None = None
        self._finished = False

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
        if self._result is None:
            msg = (
                "the write is not done yet: iterate the stream, or await stream.get_final_result()"
            )
            raise RuntimeError(msg)
        return self._result

    async def _open(self) -> None:
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        self._task_group = task_group
        task_group.start_soon(self._work)

    async def _work(self) -> None:
        async with self._send:
            try:
                await self._run.execute(self._send.send)
            except anyio.BrokenResourceError:
                pass  # the reader left: nothing more to deliver
            except Exception as exc:  # noqa: BLE001 - handed to the reader, raised there
                self._error = exc

    async def _next_event(self) -> Event:
        if self._finished:
            raise StopAsyncIteration
        try:
            event = await self._receive.receive()
        except anyio.EndOfStream:
            self._finished = True
            error, self._error = self._error, None
            if error is not None:
                raise error from error.__cause__
            raise StopAsyncIteration from None
        if isinstance(event, WriteCompleted):
            self._result = event.result
        return event

    def __aiter__(self) -> _ResultIterator:
        return _ResultIterator(self)

    def events(self) -> _EventIterator:
        """Iterate over every event of the write, ``WriteCompleted`` last."""
        return _EventIterator(self)

    async def get_final_result(self) -> WriteResult:
        """Wait for the write to finish (draining the events left) and return the aggregate."""
        async for _ in self.events():
            pass
        return self.result

    async def _close(
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
            self._receive.close()
        return None


class _ResultIterator:
    """``async for result in stream``: the platform results, in completion order."""

    def __init__(self, stream: WriteStream) -> None:
        self._stream = stream

    def __aiter__(self) -> _ResultIterator:
        return self

    async def __anext__(self) -> PlatformResult:
        while True:
            event = await self._stream._next_event()
            if isinstance(event, PlatformResult):
                return event


class _EventIterator:
    """``async for event in stream.events()``: every event, in order."""

    def __init__(self, stream: WriteStream) -> None:
        self._stream = stream

    def __aiter__(self) -> _EventIterator:
        return self

    async def __anext__(self) -> Event:
        return await self._stream._next_event()
