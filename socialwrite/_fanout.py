"""A fan-out write: one write request per platform, all at once, each streamed as it returns.

``FanOutRun`` has the interface of ``_run.WriteRun`` (``idempotency_key``,
``execute(emit)``), so the shell in ``_stream`` runs either. Why it exists and
how it is built:

* A server that answers JSON only (it ignores ``Accept: text/event-stream``,
  as protocol.md allows) gives every platform's result at once, when the
  slowest is done. Sending one write per platform gives each platform's
  result as soon as its own request returns, whatever the server speaks.
* Each platform's request is a plain ``WriteRun`` of that platform alone,
  with the key ``f"{key}:{platform}"``: its retries reuse that key, so a retry
  of one platform's request never publishes twice, and never touches the
  others. Local files are uploaded ONCE, before the fan-out; each platform's
  body then carries their URLs, encoded up front, so no ``WriteRun`` uploads.
* An error that only some requests got (after their retries) becomes those
  platforms' failed results; when every request got one, the write raises
  the first (in request order) as itself. So that a stream never yields a
  failure before the write is known to be partial, a failed platform is
  reported once some platform has answered.
* Structured concurrency, like ``_media``: the requests run in one anyio task
  group; no task lets an exception escape into it (an ``APIError`` is that
  platform's outcome; anything else is kept, the others are cancelled, and it
  is raised as itself), so nothing comes out wrapped in an ``ExceptionGroup``.
  A cancellation from outside cancels every request; each closes its own
  response in a shielded ``finally`` (``WriteRun``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import anyio
import attrs

from ._errors import APIError, APIStatusError, MediaUploadError
from ._json import encode_body
from ._models import PlatformResult, WriteResult
from ._request import LocalFile, WriteRequest, text_only_body, write_body
from ._run import Emit, WriteRun, drop_events, new_idempotency_key
from .events import Event, PlatformStatus, WriteCompleted

if TYPE_CHECKING:
    from ._requester import Requester
    from ._retry import RetryPolicy
    from ._transport import Timeout

__all__ = ["FanOutRun", "failed_result", "platform_key"]

_WORD_START = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def platform_key(key: str, platform: str) -> str:
    """The idempotency key of one platform's request in a fan-out write."""
    return f"{key}:{platform}"


def _snake_name(error_class: type[APIError]) -> str:
    """``APIConnectionError`` -> ``api_connection_error``: a stable code for an error class."""
    return _WORD_START.sub("_", error_class.__name__).lower()


def failed_result(platform: str, error: APIError) -> PlatformResult:
    """The failed result of a platform whose own request got ``error`` (after its retries).

    ``error_code`` is the error's ``code`` when the server gave one, else the
    error class's name in snake case (``api_connection_error``,
    ``internal_server_error``); ``error`` is its message.
    """
    code = error.code if isinstance(error, APIStatusError) else None
    return PlatformResult(
        platform=platform,
        success=False,
        error=error.message,
        error_code=code or _snake_name(type(error)),
    )


class FanOutRun:
    """One logical write sent as one write request per platform, all at once.

    The same interface as ``WriteRun``: ``idempotency_key`` (the write's key;
    each platform's request is sent with ``f"{key}:{platform}"``) and
    ``execute(emit)``.
    """

    __slots__ = (
        "idempotency_key",
        "media_cache",
        "policy",
        "request",
        "request_timeout",
        "requester",
        "timeout",
        "upload_concurrency",
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

    async def execute(self, emit: Emit) -> WriteResult:
        """Upload media once, send every platform's write at once, emit events, aggregate.

        Raises:
            MediaUploadError: a local file could not be uploaded; nothing was
                published (its ``idempotency_key`` is the write's).
            APIError: every platform's request failed: the first platform's
                error (in request order), with the write's ``idempotency_key``.
        """
        try:
            return await self._execute(emit)
        except (APIError, MediaUploadError) as error:
            error.idempotency_key = self.idempotency_key
            raise

    async def _execute(self, emit: Emit) -> WriteResult:
        request = self.request
        media: tuple[str | LocalFile, ...] = request.media
        if request.local_files:
            from ._media import upload_all  # noqa: PLC0415 - only writes with local files

            uploaded = await upload_all(
                self.requester,
                request.local_files,
                emit,
                self.policy,
                timeout=self.timeout,
                media_cache=self.media_cache,
                concurrency=self.upload_concurrency,
            )
            media = tuple([_media_url(item, uploaded) for item in media])
        runs = [self._platform_run(platform, media) for platform in request.platforms]
        requests = _Requests(request.platforms, runs, emit)
        await requests.run()
        result = requests.aggregate(self.idempotency_key)
        if emit is not drop_events:
            await emit(WriteCompleted(result=result))
        return result

    def _platform_run(self, platform: str, media: tuple[str | LocalFile, ...]) -> WriteRun:
        """The write of ``platform`` alone: its options only, the media's URLs, its own key."""
        request = self.request
        platforms = (platform,)
        own = request.options.get(platform)
        options: Mapping[str, Mapping[str, Any]] = {} if own is None else {platform: own}
        text = request.text
        if not media and not options and request.alt_text is None and text is not None:
            body = text_only_body(platforms, text)
        else:
            body = encode_body(
                write_body(platforms, text, media, request.alt_text, options=options, uploaded=None)
            )
        one = WriteRequest(
            platforms=platforms,
            text=text,
            media=media,
            alt_text=request.alt_text,
            options=options,
            idempotency_key=platform_key(self.idempotency_key, platform),
            encoded_body=body,
        )
        return WriteRun(
            self.requester,
            one,
            policy=self.policy,
            timeout=self.timeout,
            request_timeout=self.request_timeout,
            media_cache=self.media_cache,
            upload_concurrency=self.upload_concurrency,
        )


def _tidy(amount: Decimal) -> Decimal:
    """``0.0075 + 0.0075`` is ``0.0150``: shown as the server would, ``0.015``."""
    tidy = amount.normalize()
    exponent = tidy.as_tuple().exponent
    # normalize() writes a whole number of tens as 1E+1: keep it whole instead.
    return tidy.quantize(Decimal(1)) if isinstance(exponent, int) and exponent > 0 else tidy


def _media_url(item: str | LocalFile, uploaded: Mapping[str, str]) -> str:
    return uploaded[item.path] if isinstance(item, LocalFile) else item


class _Requests:
    """The platforms' requests of one fan-out write, run at once, and what each one got."""

    __slots__ = (
        "answered",
        "answers",
        "cancel",
        "emit",
        "emitted",
        "errors",
        "fatal",
        "held",
        "platforms",
        "runs",
        "streamed",
    )

    def __init__(self, platforms: tuple[str, ...], runs: Sequence[WriteRun], emit: Emit) -> None:
        self.platforms = platforms
        self.runs = runs
        self.emit = emit
        self.streamed = emit is not drop_events
        count = len(platforms)
        self.answers: list[WriteResult | None] = [None] * count
        self.errors: list[APIError | None] = [None] * count
        # The result each platform's run emitted (a streamed write only).
        self.emitted: list[PlatformResult | None] = [None] * count
        # Failed results not emitted yet: no platform has answered so far.
        self.held: list[PlatformResult] = []
        self.answered = False
        self.fatal: Exception | None = None
        self.cancel: anyio.CancelScope | None = None

    async def run(self) -> None:
        """Run every platform's request at once; raise what is not a platform's outcome."""
        async with anyio.create_task_group() as task_group:
            self.cancel = task_group.cancel_scope
            for index, run in enumerate(self.runs):
                task_group.start_soon(self._run_one, index, run)
        fatal, self.fatal = self.fatal, None
        if fatal is not None:
            raise fatal

    async def _run_one(self, index: int, run: WriteRun) -> None:
        try:
            await self._settle(index, run)
        except Exception as exc:  # noqa: BLE001 - kept, raised by run() once the others stop
            if self.fatal is None:
                self.fatal = exc
            assert self.cancel is not None  # noqa: S101 - set before any task starts
            self.cancel.cancel()

    async def _settle(self, index: int, run: WriteRun) -> None:
        emit = self._platform_emit(index) if self.streamed else drop_events
        try:
            answer = await run.execute(emit)
        except APIError as error:
            await self._failed(index, error)
            return
        self.answers[index] = answer
        await self._answered()

    def _platform_emit(self, index: int) -> Emit:
        """The ``emit`` of one platform's run: its events, as events of the whole write."""

        async def emit(event: Event) -> None:
            if isinstance(event, PlatformResult):
                self.emitted[index] = event
                await self._answered()
                await self.emit(event)
            elif isinstance(event, PlatformStatus):
                # The index in the whole write's platforms, not in the run's one.
                await self.emit(attrs.evolve(event, index=index))
            elif not isinstance(event, WriteCompleted):
                await self.emit(event)

        return emit

    async def _answered(self) -> None:
        """A platform answered: the write is not a total failure; emit the failures held."""
        if self.answered:
            return
        self.answered = True
        held, self.held = self.held, []
        for failure in held:
            await self.emit(failure)

    async def _failed(self, index: int, error: APIError) -> None:
        self.errors[index] = error
        if not self.streamed or self.emitted[index] is not None:
            return
        failure = failed_result(self.platforms[index], error)
        if self.answered:
            await self.emit(failure)
        else:
            self.held.append(failure)

    def aggregate(self, key: str) -> WriteResult:
        """The write's result, in request order; the first error when every request failed."""
        if not self.answered:
            error = next(error for error in self.errors if error is not None)
            raise error
        results: list[PlatformResult] = []
        credits_used = Decimal(0)
        retries = 0
        request_id: str | None = None
        for index, platform in enumerate(self.platforms):
            answer = self.answers[index]
            if answer is not None:
                results.extend(answer.results)
                credits_used += answer.credits_used
                retries += answer.retries
                if request_id is None:
                    request_id = answer.request_id
                continue
            # A platform whose result came, then whose request failed (its
            # stream broke after it): what it published is kept.
            emitted = self.emitted[index]
            if emitted is None:
                got = self.errors[index]
                assert got is not None  # noqa: S101 - every run settled one way or the other
                emitted = failed_result(platform, got)
            results.append(emitted)
        return WriteResult(
            results=tuple(results),
            credits_used=_tidy(credits_used),
            idempotency_key=key,
            request_id=request_id,
            retries=retries,
        )
