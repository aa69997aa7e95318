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
  bodies) after the requester removed any echo of the API key.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

import anyio
import attrs

from ._converter import (
    ResponseShapeError,
    decode_result_event,
    decode_status_event,
    error_event_status,
    error_from_body,
    structure_write_result,
)
from ._errors import APIConnectionError, APIError, APIResponseValidationError
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
        except APIError as error:
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

        async def attempt(retries: int) -> WriteResult:
            started = time.monotonic()
            with self.requester.within_total(self.timeout.total, "POST", self.url):
                result = await self._attempt_once(body, emit, progress)
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
            )
        except _FinalError as final:
            raise final.error from final.error.__cause__
        if self.streamed:
            await emit(WriteCompleted(result=result))
        return result

    async def _attempt_once(self, body: bytes, emit: Emit, progress: _Progress) -> WriteResult:
        requester = self.requester
        url = self.url
        headers = requester.headers(url, _WRITE_HEADERS)
        headers[HEADER_IDEMPOTENCY_KEY] = self.idempotency_key
        if progress.last_event_id is not None:
            headers[HEADER_LAST_EVENT_ID] = progress.last_event_id
        request = new_request("POST", url, headers, body, self.request_timeout)
        response = await requester.transport().send(request)
        try:
            # The common answer, a stream, is read without a detour.
            if 200 <= response.status_code < 300 and (
                response.headers.get("content-type") == ACCEPT_STREAM
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
        requester = self.requester
        status = response.status_code
        if not 200 <= status < 300:
            # A 3xx too, whatever its body: the SDK follows no redirect.
            raise await requester.read_error(response, method="POST", url=url)
        request_id = self._request_id(response)
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == ACCEPT_STREAM:
            return await self._read_stream(response, emit, progress, url)
        if content_type == "application/json" or content_type.endswith("+json"):
            raw = requester.redact(await response.aread(MAX_JSON_BODY))
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
            msg = f"the write's answer did not parse: {self.requester.redact_text(str(exc))}"
            raise APIResponseValidationError(
                msg, status_code=status, request_id=request_id, method="POST", url=url
            ) from None
        self._check_result_platforms(result, status, request_id, url)
        return result

    def _check_result_platforms(
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

    async def _read_stream(  # noqa: C901 - one frame for the hot loop of every streamed answer
        self, response: Response, emit: Emit, progress: _Progress, url: str
    ) -> WriteResult:
        # An awaited write wants the aggregate only: the decoder skips the
        # statuses and results sent one by one (the done event carries every
        # result) without parsing them, and still tracks their ids.
        decoder = SSEDecoder() if self.streamed else SSEDecoder(only_types=_AGGREGATE_EVENTS)
        status = response.status_code
        request_id = self._request_id(response)
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
        if name not in EVENT_NAMES:
            return None  # a newer server's event: ignore it, as the protocol says
        status = 200
        try:
            data = loads(event.data)
            if name == EVENT_STATUS:
                await emit(decode_status_event(data, self.request.platforms))
            elif name == EVENT_RESULT:
                index, result = decode_result_event(data, self.request.platforms)
                if index not in progress.emitted:
                    progress.emitted.add(index)
                    await emit(result)
            elif name == EVENT_DONE:
                final = structure_write_result(
                    data, idempotency_key=self.idempotency_key, request_id=request_id
                )
                self._check_result_platforms(final, status, request_id, url)
                if self.streamed:
                    await self._emit_remaining(final, emit, progress)
                return final
            else:
                raise _FinalError(self._error_event(data, url, request_id))
        except (ValueError, ResponseShapeError) as exc:
            msg = (
                f"the write's {name!r} event did not parse: {self.requester.redact_text(str(exc))}"
            )
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

    def _error_event(self, data: object, url: str, request_id: str | None) -> APIError:
        return error_from_body(
            error_event_status(data),
            self.requester.redact(dumps(data).encode()),
            request_id=request_id,
            retry_after=None,
            method="POST",
            url=url,
            redact=self.requester.redact_text,
        )

    def _request_id(self, response: Response) -> str | None:
        request_id = response.headers.get(_REQUEST_ID)
        return None if request_id is None else self.requester.redact_text(request_id)
