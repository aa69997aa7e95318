"""Local media uploads: hash, create, one streamed resumable ``PUT``, complete.

A write with local files uploads them first (protocol.md, "Media uploads")
and sends the media URLs they get. Why it is built this way:

* **Nothing is sent for a file we would refuse.** Every file's content type is
  settled (its name, else a sniff of its first bytes) before the first
  request, so a bad file is a ``ValidationError`` with zero requests made.
* **Streams, never slurps.** The SHA-256 is computed in a worker thread, in
  1 MiB blocks; the bytes go out in ONE ``PUT`` whose body reads the file
  about 1 MiB at a time, with ``Content-Length`` set, so memory stays flat
  whatever the file's size.
* **Resumable.** When the connection drops mid-body, the server keeps what
  arrived; a ``HEAD`` says where it stands and the next ``PUT`` starts there,
  so a resume never resends from zero. Each resume without progress counts
  against the retry policy's ``max_retries``; a resume that got further
  resets the count, so a long upload over a flaky link still finishes.
* **Uploaded once.** The same path given twice is one upload; two paths with
  the same bytes share one; the client's ``media_cache`` and the server's
  deduplication (a create answered ``complete``) skip the bytes entirely.
* **Structured concurrency.** Files upload in one anyio task group, at most
  ``upload_concurrency`` at once. The first failure cancels the others; every
  file and response is closed in a ``finally`` shielded from cancellation;
  the caller gets the ``MediaUploadError`` itself, never an ExceptionGroup.
* **The key stays home.** Headers are always built by the client for the URL
  at hand, so the ``Authorization`` header goes to the API's origin only,
  never to an ``upload_url`` on a storage host.

Only anyio is used above the transport, so this runs on asyncio and trio.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any, TypeAlias

import anyio
import anyio.from_thread
import anyio.to_thread
import attrs

from ._converter import (
    MAX_UPLOAD_ANSWER,
    UploadCreated,
    decode_upload_answer,
    decode_upload_completed,
    decode_upload_created,
    decode_upload_head,
    decode_upload_offset,
    upload_offset_of,
)
from ._errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    MediaUploadError,
)
from ._json import encode_body
from ._protocol import UPLOADS_PATH, complete_path
from ._retry import RetryPolicy
from ._sniff import content_type_for, detect_content_type
from ._transport import Request, Response, Timeout
from .events import Event, UploadCompleted, UploadProgress, UploadStarted

if TYPE_CHECKING:
    from ._request import LocalFile
    from ._requester import Requester

__all__ = ["CHUNK_SIZE", "upload_all"]

CHUNK_SIZE = 1024 * 1024
"""Bytes read from a file at a time, to hash it and to stream it."""

Emit: TypeAlias = Callable[[Event], Awaitable[None]]


def _hash_file(path: str) -> tuple[str, int]:
    """Return the SHA-256 and size of a file; runs in a worker thread."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as file:
        while block := file.read(CHUNK_SIZE):
            digest.update(block)
            size += len(block)
            # Ends the read early (file closed by the ``with``) when the
            # upload is cancelled.
            anyio.from_thread.check_cancelled()
    return digest.hexdigest(), size


# -- the streamed body ---------------------------------------------------------------------


class _FileChangedError(Exception):
    """The file got shorter while it was being sent."""


class _FileBody:
    """The body of one ``PUT``: the file from ``offset`` to its end, about 1 MiB at a time.

    A class with ``__anext__`` (not an async generator), so nothing is left to
    finalize when a transport stops iterating halfway; the file belongs to the
    caller, which closes it. A chunk counts as sent once the transport asks
    for the next one, or when the iteration ends: only then has the transport
    taken it. The transport may iterate from a task of its own (aiohttp
    does), so a failure here is also kept in ``error`` for the caller.
    """

    def __init__(
        self,
        file: IO[bytes],
        *,
        offset: int,
        size: int,
        on_sent: Callable[[int], Awaitable[None]],
    ) -> None:
        self._file = file
        self._position = offset
        self._size = size
        self._on_sent = on_sent
        self._pending = 0
        self.sent = offset
        self.error: Exception | None = None
        self.closed = False

    def __aiter__(self) -> _FileBody:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self._next()
        except StopAsyncIteration:
            raise
        except Exception as exc:
            if self.error is None:
                self.error = exc
            raise

    async def _next(self) -> bytes:
        if self._pending:
            self.sent += self._pending
            self._pending = 0
            await self._on_sent(self.sent)
        remaining = self._size - self._position
        if remaining <= 0:
            raise StopAsyncIteration
        if self.closed:
            msg = "the upload was closed"
            raise _FileChangedError(msg)
        chunk = await anyio.to_thread.run_sync(self._file.read, min(CHUNK_SIZE, remaining))
        if not chunk:
            msg = f"the file ended {remaining} bytes early: it changed while uploading"
            raise _FileChangedError(msg)
        self._position += len(chunk)
        self._pending = len(chunk)
        return chunk


# -- one upload ------------------------------------------------------------------------------


class _EmitError(Exception):
    """The caller's event sink failed; the original is re-raised as is."""

    def __init__(self, error: Exception) -> None:
        super().__init__(repr(error))
        self.error = error


class _RestartError(Exception):
    """The server discarded the upload (checksum mismatch, expiry): start again from create."""

    def __init__(self, error: APIStatusError) -> None:
        super().__init__(str(error))
        self.error = error


class _StalledError(APIConnectionError):
    """The server moved no further: a retry like any other, with the real cause kept.

    ``cause`` is the 409 that said where the server stands, or ``None`` when a
    PUT was answered but kept nothing.
    """

    def __init__(self, message: str, cause: APIStatusError | None, *, url: str) -> None:
        super().__init__(message, method="PUT", url=url)
        self.cause = cause


# A create answered so has no upload endpoint to talk to (404), or not for POST (405).
_NO_UPLOADS = frozenset({404, 405})


class _NoUploadsError(Exception):
    """The server has no upload endpoint: media must be given as URLs."""

    def __init__(self, error: APIStatusError) -> None:
        super().__init__(str(error))
        self.error = error


class _OffsetMismatchError(Exception):
    """The server is at another offset than the client thought (409 with ``offset``)."""

    def __init__(self, error: APIStatusError, offset: int) -> None:
        super().__init__(str(error))
        self.error = error
        self.offset = offset


@attrs.define
class _Shared:
    """One content (sha256, size) being uploaded, which other files of the write may wait for."""

    done: anyio.Event = attrs.field(factory=anyio.Event)
    url: str | None = None


@attrs.define
class _Resume:
    """Where one upload stands: the server's offset, and the furthest it has been."""

    offset: int
    best: int
    # Set when the server already said where it stands (a 409): no HEAD needed.
    known: bool = False

    def moved(self, offset: int) -> bool:
        """Record the server's offset; True when it is further than ever before."""
        self.offset = offset
        if offset > self.best:
            self.best = offset
            return True
        return False


def _shown(path: str) -> str:
    return path if len(path) <= 120 else "..." + path[-117:]


def _safe(url: str) -> str:
    """The URL without its query string, which may hold a storage host's token."""
    return url.split("?", 1)[0]


class _Uploader:
    """Uploads the local files of one write; see the module docstring."""

    def __init__(
        self,
        requester: Requester,
        emit: Emit,
        policy: RetryPolicy,
        *,
        timeout: Timeout,
        media_cache: dict[tuple[str, int], str],
        concurrency: int,
    ) -> None:
        self.requester = requester
        self.policy = policy
        self.media_cache = media_cache
        self._emit_to = emit
        self.urls: dict[str, str] = {}
        self.failure: Exception | None = None
        self._failed_file: LocalFile | None = None
        self._failure_from_emit = False
        self._shared: dict[tuple[str, int], _Shared] = {}
        self._limiter = anyio.CapacityLimiter(concurrency)
        self._cancel: anyio.CancelScope | None = None
        # A small call (create, HEAD, complete) is bound by the total timeout;
        # a PUT of a large file is not, only by the gaps between reads.
        self._timeout = timeout
        self._put_timeout = attrs.evolve(timeout, total=None)

    async def emit(self, event: Event) -> None:
        try:
            await self._emit_to(event)
        except Exception as exc:
            raise _EmitError(exc) from exc

    async def run(self, files: Sequence[tuple[LocalFile, str]]) -> None:
        """Upload every file, at most ``concurrency`` at once."""
        async with anyio.create_task_group() as task_group:
            self._cancel = task_group.cancel_scope
            for file, content_type in files:
                task_group.start_soon(self._run_file, file, content_type)

    async def _run_file(self, file: LocalFile, content_type: str) -> None:
        try:
            async with self._limiter:
                self.urls[file.path] = await self._upload_file(file, content_type)
        except _EmitError as exc:
            self._fail(exc.error, file, from_emit=True)
        except Exception as exc:  # noqa: BLE001 - handed to upload_all, raised there
            self._fail(exc, file, from_emit=False)

    def _fail(self, error: Exception, file: LocalFile, *, from_emit: bool) -> None:
        # Only the first failure counts: the others are the cancellation it caused.
        if self.failure is None:
            self.failure = error
            self._failed_file = file
            self._failure_from_emit = from_emit
        if self._cancel is not None:
            self._cancel.cancel()

    def raise_failure(self) -> None:
        """Raise the first failure: the event sink's own error as is, others as MediaUploadError."""
        error, file = self.failure, self._failed_file
        if error is None or file is None:
            return
        if self._failure_from_emit:
            raise error
        if isinstance(error, _NoUploadsError):
            cause = error.error
            msg = (
                f"could not upload {_shown(file.path)!r}; nothing was published: the server at "
                f"{self.requester.base_url} does not accept uploads (POST {UPLOADS_PATH} "
                f"answered {cause.status_code}); pass media as http(s) URLs instead of local files"
            )
            raise MediaUploadError(msg, source=file.source, cause=cause) from cause
        reason = self.requester.redact_text(str(error) or type(error).__name__)
        msg = f"could not upload {_shown(file.path)!r}; nothing was published: {reason}"
        raise MediaUploadError(msg, source=file.source, cause=error) from error

    # -- per file ------------------------------------------------------------------------

    async def _upload_file(self, file: LocalFile, content_type: str) -> str:
        await self.emit(UploadStarted(source=file.source, size=file.size))
        sha256, size = await self._hash(file)
        key = (sha256, size)
        url = self.media_cache.get(key)
        if url is not None:
            await self.emit(UploadCompleted(source=file.source, url=url, reused=True))
            return url
        shared = self._shared.get(key)
        if shared is not None:
            # Another path of this write holds the same bytes: share its upload.
            await shared.done.wait()
            if shared.url is None:
                msg = "the upload of the same content failed"
                raise APIConnectionError(msg)
            await self.emit(UploadCompleted(source=file.source, url=shared.url, reused=True))
            return shared.url
        shared = self._shared[key] = _Shared()
        try:
            url, reused = await self._transfer(file, content_type, sha256, size)
            shared.url = url
        finally:
            shared.done.set()
        self.media_cache[key] = url
        await self.emit(UploadCompleted(source=file.source, url=url, reused=reused))
        return url

    async def _hash(self, file: LocalFile) -> tuple[str, int]:
        sha256, size = await anyio.to_thread.run_sync(_hash_file, file.path)
        if size != file.size:
            msg = f"the file changed since it was checked: it is {size} bytes, not {file.size}"
            raise _FileChangedError(msg)
        return sha256, size

    async def _transfer(
        self, file: LocalFile, content_type: str, sha256: str, size: int
    ) -> tuple[str, bool]:
        """Create, send, complete; start again once if the server discards the upload."""
        try:
            return await self._transfer_once(file, content_type, sha256, size)
        except _RestartError:
            # The bytes that arrived were not the declared ones (or the upload
            # expired): hash again, in case the file changed, and start over once.
            sha256, size = await self._hash(file)
        try:
            return await self._transfer_once(file, content_type, sha256, size)
        except _RestartError as exc:
            raise exc.error from None

    async def _transfer_once(
        self, file: LocalFile, content_type: str, sha256: str, size: int
    ) -> tuple[str, bool]:
        created = await self._create(file, content_type, sha256, size)
        if created.upload_url is None:
            assert created.url is not None  # noqa: S101 - the converter checked
            return created.url, True
        upload_url = created.upload_url
        resume = _Resume(offset=created.offset, best=created.offset)

        async def step(_retries: int) -> str:
            return await self._send_rest(file, created.id, upload_url, size, resume)

        async def before_retry() -> bool:
            # Ask the server where it stands, unless it just said so; a retry
            # that got further than ever starts the count of retries again.
            if resume.known:
                resume.known = False
                return False
            return resume.moved(await self._head(upload_url, size))

        try:
            url = await self.requester.retrying(
                step,
                policy=self.policy,
                method="PUT",
                url=_safe(upload_url),
                before_retry=before_retry,
            )
        except _StalledError as stalled:
            if stalled.cause is not None:
                raise stalled.cause from None
            raise APIResponseValidationError(
                str(stalled), method="PUT", url=_safe(upload_url)
            ) from None
        return url, False

    async def _send_rest(
        self, file: LocalFile, upload_id: str, upload_url: str, size: int, resume: _Resume
    ) -> str:
        """PUT what the server lacks and complete; a step that moves the server on repeats."""
        while True:
            try:
                if resume.offset < size:
                    offset = await self._put(file, upload_url, resume.offset, size)
                else:
                    return await self._complete(upload_id, size)
                cause = None
            except _OffsetMismatchError as mismatch:
                offset, cause = mismatch.offset, mismatch.error
            if not resume.moved(offset):
                resume.known = True
                msg = f"the upload makes no progress: the server stays at byte {offset} of {size}"
                raise _StalledError(msg, cause, url=_safe(upload_url))

    # -- the protocol's calls ----------------------------------------------------------------

    async def _create(
        self, file: LocalFile, content_type: str, sha256: str, size: int
    ) -> UploadCreated:
        url = self.requester.url(UPLOADS_PATH)
        fields = {
            "filename": os.path.basename(file.path),
            "content_type": content_type,
            "size": size,
            "sha256": sha256,
        }
        try:
            response, data = await self._call("POST", url, fields)
        except APIStatusError as exc:
            if exc.status_code in _NO_UPLOADS:
                raise _NoUploadsError(exc) from exc
            raise
        return decode_upload_created(data, size, status=response.status_code, url=url)

    async def _head(self, upload_url: str, size: int) -> int:
        try:
            response, _ = await self._call("HEAD", upload_url, None)
        except APIStatusError as exc:
            if exc.status_code == 404:
                raise _RestartError(exc) from exc
            raise
        return decode_upload_head(response.headers, size, url=_safe(upload_url))

    async def _complete(self, upload_id: str, size: int) -> str:
        url = self.requester.url(complete_path(upload_id))
        try:
            _, data = await self._call("POST", url, None)
        except APIStatusError as exc:
            if (exc.status_code == 422 and exc.code == "checksum_mismatch") or (
                exc.status_code == 404
            ):
                raise _RestartError(exc) from exc
            if exc.status_code == 409 and exc.code == "incomplete_upload":
                offset = upload_offset_of(exc, size, method="POST", url=url)
                raise _OffsetMismatchError(exc, offset) from exc
            raise
        return decode_upload_completed(data, url=url)

    async def _call(
        self, method: str, url: str, fields: Mapping[str, Any] | None
    ) -> tuple[Response, Any]:
        """A small request (create, HEAD, complete), retried as the policy says.

        Returns:
            The answer (already closed) and its decoded JSON body (``None`` for HEAD).
        """

        async def attempt(_retries: int) -> tuple[Response, Any]:
            return await self._call_once(method, url, fields)

        return await self.requester.retrying(
            attempt, policy=self.policy, method=method, url=_safe(url)
        )

    async def _call_once(
        self, method: str, url: str, fields: Mapping[str, Any] | None
    ) -> tuple[Response, Any]:
        requester = self.requester
        extra = {"Accept": "application/json"}
        body: bytes | None = None
        if fields is not None:
            body = encode_body(fields)
            extra["Content-Type"] = "application/json"
        request = Request(
            method=method,
            url=url,
            headers=requester.headers(url, extra),
            body=body,
            timeout=self._timeout,
            auth=requester.auth(url),
        )
        with requester.within_total(self._timeout.total, method, _safe(url)):
            response = await requester.transport().send(request)
            try:
                return response, await self._answer(response, method, url)
            finally:
                with anyio.CancelScope(shield=True):
                    await response.aclose()

    async def _answer(self, response: Response, method: str, url: str) -> Any:
        """The decoded JSON of a small call's answer (``None`` for HEAD), or its error.

        Only a 2xx is a success: a 3xx is an error too (no redirect is followed).
        """
        if not 200 <= response.status_code < 300:
            raise await self.requester.read_error(response, method=method, url=_safe(url))
        if method == "HEAD":
            return None
        raw = self.requester.redact(await response.aread(MAX_UPLOAD_ANSWER))
        return decode_upload_answer(raw, response, method=method, url=_safe(url))

    async def _put(self, file: LocalFile, upload_url: str, offset: int, size: int) -> int:
        """Send the file from ``offset`` to its end in one streamed PUT; return the new offset."""
        requester = self.requester
        source = file.source

        async def on_sent(sent: int) -> None:
            await self.emit(UploadProgress(source=source, sent=sent, total=size))

        handle: IO[bytes] = await anyio.to_thread.run_sync(open, file.path, "rb")
        body = _FileBody(handle, offset=offset, size=size, on_sent=on_sent)
        try:
            handle.seek(offset)
            headers = requester.headers(
                upload_url,
                {
                    "Content-Type": "application/octet-stream",
                    "Content-Length": str(size - offset),
                    "Content-Range": f"bytes {offset}-{size - 1}/{size}",
                    "Accept": "application/json",
                },
            )
            request = Request(
                method="PUT",
                url=upload_url,
                headers=headers,
                body=body,
                timeout=self._put_timeout,
                auth=requester.auth(upload_url),
            )
            try:
                response = await requester.transport().send(request)
            except APIConnectionError:
                self._raise_body_error(body)
                raise
            try:
                data = await self._answer(response, "PUT", upload_url)
            except APIStatusError as exc:
                self._raise_body_error(body)
                if exc.status_code == 404:
                    raise _RestartError(exc) from exc
                if exc.status_code == 409 and exc.code == "offset_mismatch":
                    mismatch = upload_offset_of(exc, size, method="PUT", url=_safe(upload_url))
                    raise _OffsetMismatchError(exc, mismatch) from exc
                raise
            finally:
                with anyio.CancelScope(shield=True):
                    await response.aclose()
            self._raise_body_error(body)
        finally:
            body.closed = True
            handle.close()
        return decode_upload_offset(data, size, method="PUT", url=_safe(upload_url))

    def _raise_body_error(self, body: _FileBody) -> None:
        error = body.error
        if error is None:
            return
        if isinstance(error, _EmitError):
            raise error
        if isinstance(error, (_FileChangedError, OSError)):
            raise error


# -- the entry point --------------------------------------------------------------------------


async def upload_all(
    requester: Requester,
    files: Sequence[LocalFile],
    emit: Emit,
    policy: RetryPolicy,
    *,
    timeout: Timeout,  # noqa: ASYNC109 - the write's timeout settings, not a deadline
    media_cache: dict[tuple[str, int], str],
    concurrency: int,
) -> dict[str, str]:
    """Upload a write's local files, concurrently, and return their media URLs.

    Every file's content type is checked first, before any request. The same
    path given twice is uploaded once; content this client or the server
    already holds is not sent again.

    Args:
        requester: sends the requests (headers, the key for the API's origin only).
        files: the write's local files, in order (``WriteRequest.local_files``).
        emit: receives ``UploadStarted``, ``UploadProgress`` and
            ``UploadCompleted`` events.
        policy: the write's retry policy, for the small calls and the resumes.
        timeout: the write's timeout (a PUT is not bound by its ``total``).
        media_cache: media URLs of content uploaded before, by ``(sha256, size)``;
            read and filled in.
        concurrency: how many files upload at once.

    Returns:
        The media URL of each file, keyed by ``LocalFile.path``.

    Raises:
        ValidationError: a file is not an image or video (``param`` names it
            as ``content.media[i]``, ``i`` counting the local files), before
            any request was sent.
        MediaUploadError: a file could not be uploaded; ``source`` names it
            and ``cause`` says why. The other uploads were cancelled and
            nothing was published.
    """
    unique: dict[str, LocalFile] = {}
    checked: list[tuple[LocalFile, str]] = []
    for index, file in enumerate(files):
        if file.path in unique:
            continue
        unique[file.path] = file
        param = f"content.media[{index}]"
        # The write's validation already decided the type (with the item's real
        # index): checking it again needs no read; only a file without one does.
        if file.content_type is not None:
            content_type = content_type_for(file.path, b"", declared=file.content_type, param=param)
        else:
            content_type = await detect_content_type(file.path, param=param)
        checked.append((file, content_type))
    if not checked:
        return {}
    uploader = _Uploader(
        requester,
        emit,
        policy,
        timeout=timeout,
        media_cache=media_cache,
        concurrency=concurrency,
    )
    await uploader.run(checked)
    uploader.raise_failure()
    return {file.path: uploader.urls[file.path] for file in files}
