"""One logical write, run: upload local media, send it (retrying safely), decode its answer.

``WriteRun.execute(emit)`` does the work and returns the aggregate; the shell
in ``_stream`` decides what ``emit`` is (nothing for an awaited write, a memory
object stream for a streamed one). Why it is built this way:

* A write is sent with ``Accept: text/event-stream``. When the stream breaks
  before ``done``, the write is sent again with the same ``Idempotency-Key``
  and ``Last-Event-ID``; the server replays what followed and nothing is
  published twice. A platform's result is never yielded twice.
* The retries are the requester's one loop; an attempt carries what the write
  has seen so far (``_Progress``), which is how ``Last-Event-ID`` reaches the
  next attempt.
* What the server sent is decoded by the converter (answers, events, error
  bodies) after the requester removed any echo of the API key. Decoding is
  tolerant: results are matched to the platforms by name, a status or result
  event that matches no platform is skipped (the ``done`` event decides), and
  an answer that cannot be decoded at all is an ``APIResponseValidationError``
  whose ``body`` keeps it: what was published is never lost.
* Two limits keep a write from running without end (``Timeout.deadline`` for
  the whole write, retries included, and ``Timeout.progress`` for the time
  between events that move it forward). Both are checked as each chunk of the
  answer arrives, with a clock read and no timer (a cancel scope per write
  costs more than the rest of the stream's bookkeeping); a server that sends
  nothing at all meets the transport's read timeout, cut short near the
  deadline. An awaited write does not decode statuses and results until it has
  waited ``progress`` seconds: only a slow write pays for watching them.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, NoReturn

import anyio
import attrs

from ._converter import (
    ResponseShapeError,
    decode_result_event,
    decode_status_event,
    error_event_status,
    error_from_body,
    redact_json,
    structure_write_result,
)
from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APITimeoutError,
    MediaUploadError,
    format_seconds,
)
from ._json import dumps, encode_body, loads
from ._logging import logger, redact_url
from ._models import WriteResult
from ._protocol import (
    ACCEPT_STREAM,
    EVENT_DONE,
    EVENT_NAMES,
    EVENT_RESULT,
    EVENT_STATUS,
    FINAL_EVENTS,
    HEADER_IDEMPOTENCY_KEY,
    HEADER_LAST_EVENT_ID,
    HEADER_REQUEST_ID,
    WRITE_PATH,
)
from ._requester import Deadline
from ._sse import ServerSentEvent, SSEDecodeError, SSEDecoder
from ._transport import Timeout, new_request
from .events import Event, WriteCompleted

if TYPE_CHECKING:
    from ._request import WriteRequest
    from ._requester import Requester
    from ._retry import RetryPolicy
    from ._transport import Response

__all__ = ["Emit", "WriteRun", "drop_events", "new_idempotency_key", "stream_timeout"]

# A success body holds one result per platform (at most 20). Anything far
# larger is not a protocol answer.
MAX_JSON_BODY = 8 * 1024 * 1024
# After ``done``: how long and how much to read to reach the stream's end.
DRAIN_SECONDS = 0.25
DRAIN_BYTES = 64 * 1024

Emit = Callable[[Event], Awaitable[None]]

# The events an awaited write decodes: the done event repeats every result
# sent one by one before it, so statuses and results are not even parsed.
_AGGREGATE_EVENTS = tuple(FINAL_EVENTS)
# The events that may move a write forward before its end.
_PROGRESS_EVENTS = (EVENT_STATUS, EVENT_RESULT)
# An awaited write watches them too once it has waited ``Timeout.progress``.
_WATCHED_EVENTS = (*_AGGREGATE_EVENTS, *_PROGRESS_EVENTS)
# Distinct statuses and results remembered per attempt (then forgotten, and
# remembered again): whether an event is new, so moves the write forward.
_SEEN_LIMIT = 1024

_DEADLINE_MESSAGE = (
    "the write did not finish within {seconds} s (Timeout.deadline) and was stopped; it may "
    "have been published: send it again with the same idempotency key (this error's "
    "idempotency_key) to get its answer without posting twice, or allow it more time with "
    "timeout=Timeout(deadline=...)"
)
_PROGRESS_MESSAGE = (
    "the write's event stream made no progress for {seconds} s (Timeout.progress): only "
    "keep-alives or repeated statuses came. Like a dropped connection, it is retried with "
    "the same idempotency key, resuming after the last event; to wait longer, pass "
    "timeout=Timeout(progress=...)"
)
# The headers of every write besides those of every request (User-Agent, Authorization).
_WRITE_HEADERS = {
    "Content-Type": "application/json",
    "Accept": f"{ACCEPT_STREAM}, application/json;q=0.9",
}
_REQUEST_ID = HEADER_REQUEST_ID.lower()


async def drop_events(event: Event) -> None:
    """The ``emit`` of an awaited write: events are not wanted."""


@functools.lru_cache(maxsize=64)
def stream_timeout(timeout: Timeout) -> Timeout:
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


def _within(timeout: Timeout, deadline: Deadline, url: str) -> Timeout:
    """An attempt's timeout, its waits (to connect, for a byte) cut to what is left of the deadline.

    Raises:
        _FinalError: the deadline has passed.
    """
    left = deadline.remaining()
    if left <= 0:
        raise _FinalError(deadline.error("POST", url))
    connect, read = timeout.connect, timeout.read
    if connect is not None and read is not None and connect <= left and read <= left:
        return timeout  # the common case: far from the deadline
    return attrs.evolve(
        timeout,
        connect=left if connect is None else min(connect, left),
        read=left if read is None else min(read, left),
    )


class _Watch:
    """What a streamed answer's limits need beyond one number: made only when needed.

    The reader keeps ``check_at``, the first moment the write's deadline or the
    time without progress may have passed, in a local variable, and compares it
    with the clock as each chunk arrives. This object is made on the first
    status or result, or once ``check_at`` is reached: it remembers the events
    seen (a repeated one is no progress) and decides what a passed limit means.
    """

    __slots__ = ("check_at", "deadline_at", "limit", "seen", "watching")

    def __init__(self, limit: float | None, deadline_at: float, *, watching: bool) -> None:
        self.limit = limit
        self.deadline_at = deadline_at
        self.check_at = deadline_at
        # Whether the reader gets statuses and results (else the decoder skips them).
        self.watching = watching
        self.seen: set[str] = set()

    def moves(self, data: str) -> bool:
        """Whether a status or result (its data) moves the write forward: one not seen before.

        When it does, the time without progress starts again (``check_at``).
        """
        seen = self.seen
        if data in seen:
            return False
        if len(seen) >= _SEEN_LIMIT:
            seen.clear()
        seen.add(data)
        if self.limit is not None:
            self.check_at = min(time.monotonic() + self.limit, self.deadline_at)
        return True

    def check(self, deadline: Deadline | None, decoder: SSEDecoder, url: str) -> float:
        """Once ``check_at`` is reached: raise the error of the limit that passed, or watch closer.

        An awaited write that has not watched its statuses and results yet
        cannot tell whether the events it skipped moved it forward: it watches
        them from now on, and the time starts again (so it stops a stream that
        makes no progress after at most twice ``limit``).

        Returns:
            The new ``check_at``.

        Raises:
            _FinalError: the write's deadline passed (not retried).
            APITimeoutError: no progress for ``limit`` seconds (retried).
        """
        now = time.monotonic()
        if deadline is not None and now >= self.deadline_at:
            raise _FinalError(deadline.error("POST", url))
        limit = self.limit or 0.0
        if not self.watching:
            self.watching = True
            decoder.select(_WATCHED_EVENTS)
            self.check_at = min(now + limit, self.deadline_at)
            return self.check_at
        message = _PROGRESS_MESSAGE.format(seconds=format_seconds(limit))
        raise APITimeoutError(message, method="POST", url=url)


class WriteRun:
    """One logical write: uploads, the write call with its retries, decoding."""

    __slots__ = (
        "idempotency_key",
        "media_cache",
        "policy",
        "request",
        "request_timeout",
        "requester",
        "streamed",
        "timeout",
        "upload_concurrency",
        "url",
    )

    def __init__(
        self,
        requester: Requester,
        request: WriteRequest,
        *,
        policy: RetryPolicy,
        timeout: Timeout,
        request_timeout: Timeout,
        media_cache: dict[tuple[str, int], str],
        upload_concurrency: int,
    ) -> None:
        self.requester = requester
        self.request = request
        self.policy = policy
        self.timeout = timeout
        self.request_timeout = request_timeout
        self.media_cache = media_cache
        self.upload_concurrency = upload_concurrency
        self.idempotency_key = request.idempotency_key or new_idempotency_key()
        self.url = requester.url(WRITE_PATH)
        # Set by ``execute``: whether anyone reads the events one by one.
        self.streamed = True

    async def execute(self, emit: Emit) -> WriteResult:
        """Upload media, send the write (retrying safely), emit events, return the aggregate.

        Raises:
            APIError: the write failed; its ``idempotency_key`` is the write's,
                so the caller can send it again without publishing twice.
        """
        try:
            return await self._execute(emit)
        except (APIError, MediaUploadError) as error:
            error.idempotency_key = self.idempotency_key
            raise

    async def _execute(self, emit: Emit) -> WriteResult:
        # An awaited write wants the aggregate only: statuses and results sent
        # one by one are not decoded (the done event carries every result).
        self.streamed = emit is not drop_events
        uploaded: dict[str, str] = {}
        local_files = self.request.local_files
        if local_files:
            from ._media import upload_all  # noqa: PLC0415 - only writes with local files

            uploaded = await upload_all(
                self.requester,
                local_files,
                emit,
                self.policy,
                timeout=self.timeout,
                media_cache=self.media_cache,
                concurrency=self.upload_concurrency,
            )
        body = self.request.encoded_body
        if body is None:
            body = encode_body(self.request.body(uploaded))
        progress = _Progress()
        seconds = self.timeout.deadline
        deadline = None if seconds is None else Deadline(seconds, _DEADLINE_MESSAGE)

        total = self.timeout.total

        async def attempt(retries: int) -> WriteResult:
            started = time.monotonic()
            if total is None:  # the common case, without a context manager
                result = await self._attempt_once(body, emit, progress, deadline)
            else:
                with self.requester.within_total(total, "POST", self.url):
                    result = await self._attempt_once(body, emit, progress, deadline)
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "POST %s -> %d results in %.1f ms, key %s, request id %s, %d retries",
                    redact_url(self.url),
                    len(result.results),
                    (time.monotonic() - started) * 1000,
                    self.idempotency_key,
                    result.request_id,
                    retries,
                )
            return attrs.evolve(result, retries=retries) if retries else result

        try:
            result = await self.requester.retrying(
                attempt,
                policy=self.policy,
                method="POST",
                url=self.url,
                key=self.idempotency_key,
                deadline=deadline,
            )
        except _FinalError as final:
            raise final.error from final.error.__cause__
        if self.streamed:
            await emit(WriteCompleted(result=result))
        return result

    async def _attempt_once(
        self, body: bytes, emit: Emit, progress: _Progress, deadline: Deadline | None
    ) -> WriteResult:
        requester = self.requester
        url = self.url
        headers = requester.headers(url, _WRITE_HEADERS)
        headers[HEADER_IDEMPOTENCY_KEY] = self.idempotency_key
        if progress.last_event_id is not None:
            headers[HEADER_LAST_EVENT_ID] = progress.last_event_id
        timeout = self.request_timeout
        if deadline is not None:
            timeout = _within(timeout, deadline, url)
        request = new_request("POST", url, headers, body, timeout, auth=requester.auth(url))
        response = await requester.transport().send(request)
        try:
            # The common answer, a stream, is read without a detour.
            if 200 <= response.status_code < 300 and (
                response.headers.get("content-type") == ACCEPT_STREAM
            ):
                return await self._read_stream(response, emit, progress, deadline)
            return await self._read_answer(response, emit, progress, deadline)
        finally:
            # A close that must await is shielded, so a cancellation cannot leave
            # the connection half-closed; one that needs no await skips the scope.
            if not response.close_now():
                with anyio.CancelScope(shield=True):
                    await response.aclose()

    async def _read_answer(
        self, response: Response, emit: Emit, progress: _Progress, deadline: Deadline | None
    ) -> WriteResult:
        requester = self.requester
        url = self.url
        status = response.status_code
        if not 200 <= status < 300:
            # A 3xx too, whatever its body: the SDK follows no redirect.
            raise await requester.read_error(response, method="POST", url=url)
        request_id = self._request_id(response)
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == ACCEPT_STREAM:
            return await self._read_stream(response, emit, progress, deadline)
        if content_type == "application/json" or content_type.endswith("+json"):
            raw = requester.redact(await self._read_body(response, deadline))
            result = self._decode_json(raw, status, request_id)
            if self.streamed:
                # A server without streaming: every result at once, in request order.
                await self._emit_remaining(result, emit, progress)
            return result
        msg = f"the write's answer has an unexpected content type {content_type!r}"
        raise APIResponseValidationError(
            msg, status_code=status, request_id=request_id, method="POST", url=url
        )

    async def _read_body(self, response: Response, deadline: Deadline | None) -> bytes:
        """Read a JSON answer, at most ``MAX_JSON_BODY`` bytes, stopping at the deadline."""
        parts: list[bytes] = []
        size = 0
        async with aclosing(response.aiter_bytes()) as chunks:
            async for chunk in chunks:
                size += len(chunk)
                if size > MAX_JSON_BODY:
                    msg = (
                        f"the answer to POST {self.url} is larger than {MAX_JSON_BODY} bytes; "
                        "refusing to read more"
                    )
                    raise APIResponseValidationError(
                        msg, status_code=response.status_code, method="POST", url=self.url
                    )
                parts.append(chunk)
                if deadline is not None and time.monotonic() >= deadline.at:
                    raise _FinalError(deadline.error("POST", self.url))
        return b"".join(parts)

    def _decode_json(self, raw: bytes, status: int, request_id: str | None) -> WriteResult:
        try:
            data = loads(raw)
        except ValueError as exc:
            self._undecodable("answer", exc, raw, status, request_id)
        try:
            return structure_write_result(
                data,
                idempotency_key=self.idempotency_key,
                request_id=request_id,
                platforms=self.request.platforms,
            )
        except (ValueError, ResponseShapeError) as exc:
            self._undecodable("answer", exc, data, status, request_id)

    def _undecodable(
        self, what: str, exc: Exception, body: Any, status: int, request_id: str | None
    ) -> NoReturn:
        """Raise the error of an answer that does not decode, kept (without the key) in ``body``."""
        redact = self.requester.redact_text
        if isinstance(body, (bytes, bytearray)):
            body = redact(bytes(body).decode("utf-8", "replace"))
        elif isinstance(body, str):
            body = redact(body)
        else:
            body = redact_json(body, redact)
        msg = (
            f"the write's {what} did not parse: {redact(str(exc))}; the write may have been "
            "published: what the server sent is kept in this error's body"
        )
        raise APIResponseValidationError(
            msg, status_code=status, request_id=request_id, method="POST", url=self.url, body=body
        ) from None

    async def _read_stream(  # noqa: C901 - one frame for the hot loop of every streamed answer
        self, response: Response, emit: Emit, progress: _Progress, deadline: Deadline | None
    ) -> WriteResult:
        # An awaited write wants the aggregate only: the decoder skips the
        # statuses and results sent one by one (the done event carries every
        # result) without parsing them, and still tracks their ids.
        streamed = self.streamed
        decoder = SSEDecoder() if streamed else SSEDecoder(only_types=_AGGREGATE_EVENTS)
        limit = self.timeout.progress
        deadline_at = math.inf if deadline is None else deadline.at
        check_at = deadline_at if limit is None else min(time.monotonic() + limit, deadline_at)
        watch: _Watch | None = None
        url = self.url
        request_id = self._request_id(response)
        chunks = response.aiter_bytes()
        try:
            try:
                async for chunk in chunks:
                    for event in decoder.feed(chunk):
                        if event.event in _PROGRESS_EVENTS:
                            if watch is None:
                                watch = _Watch(limit, deadline_at, watching=True)
                            if watch.moves(event.data):
                                check_at = watch.check_at
                            if not streamed:
                                continue  # watched for progress only (see _Watch.check)
                        result = await self._handle_event(event, emit, progress, request_id)
                        if result is not None:
                            if not response.at_eof():
                                await _drain(chunks)
                            return result
                        if event.id is not None:
                            progress.last_event_id = event.id
                    if not streamed and decoder.last_event_id is not None:
                        # The ids of the skipped events: a resumed write starts after them.
                        progress.last_event_id = decoder.last_event_id
                    if time.monotonic() >= check_at:
                        if watch is None:
                            watch = _Watch(limit, deadline_at, watching=streamed)
                        check_at = watch.check(deadline, decoder, url)
            finally:
                await chunks.aclose()
            for event in decoder.close():
                result = await self._handle_event(event, emit, progress, request_id)
                if result is not None:
                    return result
        except SSEDecodeError as exc:
            msg = f"the write's event stream did not parse: {exc}"
            raise APIResponseValidationError(
                msg, status_code=response.status_code, request_id=request_id, method="POST", url=url
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
        request_id: str | None,
    ) -> WriteResult | None:
        name = event.event
        if name not in EVENT_NAMES:
            return None  # a newer server's event: ignore it, as the protocol says
        # A whole event, never a chunk: a key the server echoes is found even
        # when it arrived split across two chunks.
        text = self.requester.redact_text(event.data)
        if name in _PROGRESS_EVENTS:
            await self._handle_progress(name, text, emit, progress)
            return None
        try:
            data = loads(text)
        except ValueError as exc:
            self._undecodable(f"{name!r} event", exc, text, 200, request_id)
        if name == EVENT_DONE:
            try:
                final = structure_write_result(
                    data,
                    idempotency_key=self.idempotency_key,
                    request_id=request_id,
                    platforms=self.request.platforms,
                )
            except ResponseShapeError as exc:
                self._undecodable("'done' event", exc, data, 200, request_id)
            if self.streamed:
                await self._emit_remaining(final, emit, progress)
            return final
        raise _FinalError(self._error_event(data, request_id))

    async def _handle_progress(self, name: str, text: str, emit: Emit, progress: _Progress) -> None:
        """Emit a status or a platform's result; one that matches no platform is skipped.

        The ``done`` event repeats every result: a result event that does not
        parse or names another platform costs nothing but its early delivery.
        """
        try:
            data = loads(text)
        except ValueError:
            data = None
        platforms = self.request.platforms
        if name == EVENT_STATUS:
            status = decode_status_event(data, platforms)
            if status is not None:
                await emit(status)
                return
        else:
            decoded = decode_result_event(data, platforms)
            if decoded is not None:
                index, result = decoded
                if index not in progress.emitted:
                    progress.emitted.add(index)
                    await emit(result)
                return
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "skipped a %r event that matches none of the write's platforms %s "
                "(the 'done' event decides): %.200s",
                name,
                list(platforms),
                text,
            )

    @staticmethod
    async def _emit_remaining(result: WriteResult, emit: Emit, progress: _Progress) -> None:
        """Emit the results not yet emitted one by one (never one twice)."""
        for index, item in enumerate(result.results):
            if index not in progress.emitted:
                progress.emitted.add(index)
                await emit(item)

    def _error_event(self, data: object, request_id: str | None) -> APIError:
        return error_from_body(
            error_event_status(data),
            self.requester.redact(dumps(data).encode()),
            request_id=request_id,
            retry_after=None,
            method="POST",
            url=self.url,
            redact=self.requester.redact_text,
        )

    def _request_id(self, response: Response) -> str | None:
        request_id = response.headers.get(_REQUEST_ID)
        return None if request_id is None else self.requester.redact_text(request_id)
