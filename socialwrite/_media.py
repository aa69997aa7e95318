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
import json
import mimetypes
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any, TypeAlias
from urllib.parse import urlsplit

import anyio
import anyio.from_thread
import anyio.to_thread
import attrs

from ._converter import error_from_body
from ._errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    MediaUploadError,
    RateLimitError,
    ValidationError,
)
from ._retry import RetryDecision, RetryPolicy, parse_retry_after
from ._transport import Request, Response
from .events import Event, UploadCompleted, UploadProgress, UploadStarted

if TYPE_CHECKING:
    from ._client import AsyncClient
    from ._validate import LocalFile

__all__ = [
    "CHUNK_SIZE",
    "UPLOADS_PATH",
    "content_type_for",
    "detect_content_type",
    "sniff_content_type",
    "upload_all",
]

UPLOADS_PATH = "/v1/media/uploads"
"""Where uploads are created (``POST``) and completed (``{id}/complete``)."""

CHUNK_SIZE = 1024 * 1024
"""Bytes read from a file at a time, to hash it and to stream it."""

# Enough to recognize every signature ``sniff_content_type`` knows.
SNIFF_SIZE = 64
# An upload answer is a small JSON object.
_MAX_ANSWER = 1024 * 1024
# A create, a HEAD and a complete are small: their gaps between reads stay short.
_MEDIA_TYPES = ("image", "video")

Emit: TypeAlias = Callable[[Event], Awaitable[None]]


# -- content types (pure) ------------------------------------------------------------------


def sniff_content_type(head: bytes) -> str | None:
    r"""Recognize an image or video from its first bytes.

    Knows JPEG, PNG, GIF, WebP, MP4 and QuickTime (the ISO ``ftyp`` box) and
    WebM (EBML).

    Args:
        head: the file's first bytes (64 are enough).

    Returns:
        The MIME type, or ``None`` when the bytes are none of those.

    Example:
        >>> sniff_content_type(b"\x89PNG\r\n\x1a\n...")
        'image/png'
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        return "video/quicktime" if head[8:12] == b"qt  " else "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm" if b"webm" in head else "video/x-matroska"
    return None


def _is_media_type(content_type: str) -> bool:
    kind, slash, subtype = content_type.partition("/")
    return bool(slash and subtype) and kind in _MEDIA_TYPES


def content_type_for(
    filename: str, head: bytes, *, declared: str | None = None, param: str = "content.media"
) -> str:
    """Decide a local file's content type, or refuse the file. Pure.

    The type the caller declared wins; then the file name's (``mimetypes``);
    then a sniff of the first bytes, for names that say nothing useful.

    Args:
        filename: the file's name or path (only its extension matters).
        head: its first bytes (``SNIFF_SIZE`` are enough).
        declared: the type the caller gave (``Media(content_type=...)``), if any.
        param: the field to name in the error, e.g. ``content.media[2]``.

    Returns:
        An ``image/*`` or ``video/*`` MIME type, lowercase.

    Raises:
        ValidationError: the type is declared but not an image or a video, or
            neither the name nor the bytes say it is one.

    Example:
        >>> content_type_for("chart.png", b"")
        'image/png'
    """
    if declared is not None:
        content_type = declared.split(";", 1)[0].strip().lower()
        if not _is_media_type(content_type):
            msg = f"content_type {declared!r} is not an image or video type (image/*, video/*)"
            raise ValidationError(msg, param=param)
        return content_type
    guessed, _ = mimetypes.guess_type(filename, strict=False)
    if guessed is not None and _is_media_type(guessed.lower()):
        return guessed.lower()
    sniffed = sniff_content_type(head)
    if sniffed is not None:
        return sniffed
    name = os.path.basename(filename)
    shown = name if len(name) <= 80 else name[:77] + "..."
    if guessed is not None:
        msg = (
            f"{shown!r} is {guessed}, not an image or a video; only images and videos "
            "can be attached"
        )
    else:
        msg = (
            f"cannot tell what {shown!r} is from its name or its first bytes; give it an "
            "image or video extension (.jpg, .png, .gif, .webp, .mp4, .mov, .webm) or "
            "pass Media(source=path, content_type='image/...')"
        )
    raise ValidationError(msg, param=param)


def _read_head(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read(SNIFF_SIZE)


async def detect_content_type(
    path: str, *, declared: str | None = None, param: str = "content.media"
) -> str:
    """Read a file's first bytes (in a worker thread) and apply :func:`content_type_for`.

    Raises:
        ValidationError: the file is not an image or a video we can tell, or
            cannot be read.
    """
    try:
        head = await anyio.to_thread.run_sync(_read_head, path)
    except OSError as exc:
        msg = f"cannot read {os.path.basename(path)!r}: {exc.strerror or type(exc).__name__}"
        raise ValidationError(msg, param=param) from None
    return content_type_for(path, head, declared=declared, param=param)


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


@attrs.frozen(kw_only=True)
class _Created:
    """A create's answer."""

    id: str
    status: str
    upload_url: str | None
    offset: int
    url: str | None


@attrs.define
class _Shared:
    """One content (sha256, size) being uploaded, which other files of the write may wait for."""

    done: anyio.Event = attrs.field(factory=anyio.Event)
    url: str | None = None


def _shown(path: str) -> str:
    return path if len(path) <= 120 else "..." + path[-117:]


def _check_url(value: object, what: str, url: str) -> str:
    if not isinstance(value, str):
        msg = f"the upload answer's {what} is not a string"
        raise APIResponseValidationError(msg, method="POST", url=url)
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        msg = f"the upload answer's {what} is not an absolute http(s) URL"
        raise APIResponseValidationError(msg, method="POST", url=url)
    return value


def _check_offset(value: object, size: int, what: str, method: str, url: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= size:
        msg = f"{what} is {value!r}, not a byte offset between 0 and {size}"
        raise APIResponseValidationError(msg, method=method, url=url)
    return value


class _Uploader:
    """Uploads the local files of one write; see the module docstring."""

    def __init__(self, client: AsyncClient, emit: Emit, policy: RetryPolicy) -> None:
        self.client = client
        self.policy = policy
        self._emit_to = emit
        self.urls: dict[str, str] = {}
        self.failure: Exception | None = None
        self._failed_file: LocalFile | None = None
        self._failure_from_emit = False
        self._shared: dict[tuple[str, int], _Shared] = {}
        self._limiter = anyio.CapacityLimiter(client.upload_concurrency)
        self._cancel: anyio.CancelScope | None = None
        timeout = client.timeout
        self._timeout = attrs.evolve(timeout, total=None)

    async def emit(self, event: Event) -> None:
        try:
            await self._emit_to(event)
        except Exception as exc:
            raise _EmitError(exc) from exc

    async def run(self, files: Sequence[tuple[LocalFile, str]]) -> None:
        """Upload every file, at most ``upload_concurrency`` at once."""
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
        reason = self.client._redact_text(str(error) or type(error).__name__)
        msg = f"could not upload {_shown(file.path)!r}; nothing was published: {reason}"
        raise MediaUploadError(msg, source=file.source, cause=error) from error

    # -- per file ------------------------------------------------------------------------

    async def _upload_file(self, file: LocalFile, content_type: str) -> str:
        await self.emit(UploadStarted(source=file.source, size=file.size))
        sha256, size = await self._hash(file)
        key = (sha256, size)
        url = self.client.media_cache.get(key)
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
        self.client.media_cache[key] = url
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
        if created.status == "complete" and created.url is not None:
            return created.url, True
        if created.upload_url is None:
            msg = "the create answer has no upload_url"
            raise APIResponseValidationError(msg, method="POST", url=self.client._url(UPLOADS_PATH))
        upload_url = created.upload_url
        offset = best = created.offset
        # Failures in a row without progress; a resume that got further resets it.
        attempt = 0
        while True:
            error: APIStatusError | None = None
            if offset < size:
                try:
                    offset = await self._put(file, upload_url, offset, size)
                except _OffsetMismatchError as mismatch:
                    offset, error = mismatch.offset, mismatch.error
                except (APIConnectionError, APIStatusError) as exc:
                    if isinstance(exc, APIStatusError) and exc.status_code == 404:
                        raise _RestartError(exc) from exc
                    decision = self._decide(exc, attempt)
                    await anyio.sleep(decision.delay)
                    attempt += 1
                    offset = await self._head(upload_url, size)
                    if offset > best:
                        best, attempt = offset, 0
                    continue
            else:
                try:
                    return await self._complete(created.id, size), False
                except _OffsetMismatchError as mismatch:
                    offset, error = mismatch.offset, mismatch.error
            if offset > best:
                best, attempt = offset, 0
                continue
            # The server moved no further: a mismatch, or a PUT that kept nothing.
            if attempt >= self.policy.max_retries:
                if error is not None:
                    raise error
                msg = f"the upload makes no progress: the server stays at byte {offset} of {size}"
                raise APIResponseValidationError(msg, method="PUT", url=self._safe(upload_url))
            attempt += 1

    def _decide(self, error: APIConnectionError | APIStatusError, attempt: int) -> RetryDecision:
        """The policy's decision after a failed call; raise ``error`` when it says stop."""
        if isinstance(error, APIStatusError):
            retry_after = error.retry_after if isinstance(error, RateLimitError) else None
            decision = self.policy.decide(
                attempt=attempt, status=error.status_code, retry_after=retry_after
            )
        else:
            decision = self.policy.decide(attempt=attempt, error=error)
        if not decision.retry:
            raise error
        return decision

    # -- the protocol's calls ----------------------------------------------------------------

    async def _create(self, file: LocalFile, content_type: str, sha256: str, size: int) -> _Created:
        url = self.client._url(UPLOADS_PATH)
        fields = {
            "filename": os.path.basename(file.path),
            "content_type": content_type,
            "size": size,
            "sha256": sha256,
        }
        response, data = await self._call("POST", url, fields)
        status = response.status_code
        if not isinstance(data, dict):
            msg = "the create answer is not a JSON object"
            raise APIResponseValidationError(msg, status_code=status, method="POST", url=url)
        upload_id = data.get("id")
        state = data.get("status")
        if not isinstance(upload_id, str) or not isinstance(state, str):
            msg = "the create answer lacks its id or status"
            raise APIResponseValidationError(msg, status_code=status, method="POST", url=url)
        if state == "complete":
            return _Created(
                id=upload_id,
                status=state,
                upload_url=None,
                offset=size,
                url=_check_url(data.get("url"), "url", url),
            )
        offset = _check_offset(
            data.get("offset", 0), size, "the create answer's offset", "POST", url
        )
        return _Created(
            id=upload_id,
            status=state,
            upload_url=_check_url(data.get("upload_url"), "upload_url", url),
            offset=offset,
            url=None,
        )

    async def _head(self, upload_url: str, size: int) -> int:
        try:
            response, _ = await self._call("HEAD", upload_url, None)
        except APIStatusError as exc:
            if exc.status_code == 404:
                raise _RestartError(exc) from exc
            raise
        length = response.headers.get("upload-length")
        if length is not None and length.strip() != str(size):
            msg = f"the server holds an upload of {length} bytes, not {size}"
            raise APIResponseValidationError(msg, method="HEAD", url=self._safe(upload_url))
        raw = response.headers.get("upload-offset", "")
        offset = int(raw) if raw.strip().isdigit() else None
        return _check_offset(offset, size, "Upload-Offset", "HEAD", self._safe(upload_url))

    async def _complete(self, upload_id: str, size: int) -> str:
        url = self.client._url(f"{UPLOADS_PATH}/{upload_id}/complete")
        try:
            _, data = await self._call("POST", url, None)
        except APIStatusError as exc:
            if (exc.status_code == 422 and exc.code == "checksum_mismatch") or (
                exc.status_code == 404
            ):
                raise _RestartError(exc) from exc
            if exc.status_code == 409 and exc.code == "incomplete_upload":
                offset = exc.body.get("offset") if exc.body else None
                checked = _check_offset(offset, size, "the offset", "POST", url)
                raise _OffsetMismatchError(exc, checked) from exc
            raise
        if not isinstance(data, dict):
            msg = "the complete answer is not a JSON object"
            raise APIResponseValidationError(msg, method="POST", url=url)
        return _check_url(data.get("url"), "url", url)

    def _safe(self, url: str) -> str:
        """The URL without its query string, which may hold a storage host's token."""
        return url.split("?", 1)[0]

    async def _call(
        self, method: str, url: str, fields: Mapping[str, Any] | None
    ) -> tuple[Response, Any]:
        """A small request (create, HEAD, complete), retried as the policy says.

        Returns:
            The answer (already closed) and its decoded JSON body (``None`` for HEAD).
        """
        attempt = 0
        while True:
            try:
                return await self._call_once(method, url, fields)
            except (APIConnectionError, APIStatusError) as exc:
                decision = self._decide(exc, attempt)
            await anyio.sleep(decision.delay)
            attempt += 1

    async def _call_once(
        self, method: str, url: str, fields: Mapping[str, Any] | None
    ) -> tuple[Response, Any]:
        client = self.client
        extra = {"Accept": "application/json"}
        body: bytes | None = None
        if fields is not None:
            body = json.dumps(fields).encode()
            extra["Content-Type"] = "application/json"
        request = Request(
            method=method,
            url=url,
            headers=client._headers(url, extra),
            body=body,
            timeout=client.timeout,
        )
        total = client.timeout.total
        with anyio.move_on_after(total if total is not None else float("inf")) as scope:
            response = await client._get_transport().send(request)
            try:
                raw = b"" if method == "HEAD" else await response.aread(_MAX_ANSWER)
            finally:
                with anyio.CancelScope(shield=True):
                    await response.aclose()
        if scope.cancelled_caught:
            msg = f"timed out after {total} s: {method} {self._safe(url)}"
            raise APITimeoutError(msg, method=method, url=self._safe(url))
        return response, self._decode(response, raw, method, url)

    def _decode(self, response: Response, raw: bytes, method: str, url: str) -> Any:
        status = response.status_code
        raw = self.client._redact(raw)
        if status >= 300:
            raise error_from_body(
                status,
                raw,
                request_id=response.headers.get("x-request-id"),
                retry_after=parse_retry_after(response.headers.get("retry-after")),
                method=method,
                url=self._safe(url),
            )
        if method == "HEAD":
            return None
        try:
            return json.loads(raw)
        except ValueError:
            msg = f"the answer to {method} {self._safe(url)} is not JSON"
            raise APIResponseValidationError(
                msg,
                status_code=status,
                request_id=response.headers.get("x-request-id"),
                method=method,
                url=self._safe(url),
            ) from None

    async def _put(self, file: LocalFile, upload_url: str, offset: int, size: int) -> int:
        """Send the file from ``offset`` to its end in one streamed PUT; return the new offset."""
        client = self.client
        source = file.source

        async def on_sent(sent: int) -> None:
            await self.emit(UploadProgress(source=source, sent=sent, total=size))

        handle: IO[bytes] = await anyio.to_thread.run_sync(open, file.path, "rb")
        body = _FileBody(handle, offset=offset, size=size, on_sent=on_sent)
        try:
            handle.seek(offset)
            headers = client._headers(
                upload_url,
                {
                    "Content-Type": "application/octet-stream",
                    "Content-Length": str(size - offset),
                    "Content-Range": f"bytes {offset}-{size - 1}/{size}",
                    "Accept": "application/json",
                },
            )
            request = Request(
                method="PUT", url=upload_url, headers=headers, body=body, timeout=self._timeout
            )
            try:
                response = await client._get_transport().send(request)
            except APIConnectionError:
                self._raise_body_error(body)
                raise
            try:
                raw = await response.aread(_MAX_ANSWER)
            finally:
                with anyio.CancelScope(shield=True):
                    await response.aclose()
            self._raise_body_error(body)
            try:
                data = self._decode(response, raw, "PUT", upload_url)
            except APIStatusError as exc:
                if exc.status_code == 409 and exc.code == "offset_mismatch":
                    mismatch = exc.body.get("offset") if exc.body else None
                    checked = _check_offset(
                        mismatch, size, "the offset", "PUT", self._safe(upload_url)
                    )
                    raise _OffsetMismatchError(exc, checked) from exc
                raise
        finally:
            body.closed = True
            handle.close()
        if not isinstance(data, dict):
            msg = "the PUT answer is not a JSON object"
            raise APIResponseValidationError(msg, method="PUT", url=self._safe(upload_url))
        return _check_offset(
            data.get("offset"), size, "the PUT answer's offset", "PUT", self._safe(upload_url)
        )

    def _raise_body_error(self, body: _FileBody) -> None:
        error = body.error
        if error is None:
            return
        if isinstance(error, _EmitError):
            raise error
        if isinstance(error, (_FileChangedError, OSError)):
            raise error


class _OffsetMismatchError(Exception):
    """The server is at another offset than the client thought (409 with ``offset``)."""

    def __init__(self, error: APIStatusError, offset: int) -> None:
        super().__init__(str(error))
        self.error = error
        self.offset = offset


# -- the entry point --------------------------------------------------------------------------


async def upload_all(
    client: AsyncClient,
    files: Sequence[LocalFile],
    emit: Emit,
    policy: RetryPolicy,
) -> dict[str, str]:
    """Upload a write's local files, concurrently, and return their media URLs.

    Every file's content type is checked first, before any request. The same
    path given twice is uploaded once; content the client or the server
    already holds is not sent again.

    Args:
        client: the client whose transport, headers and ``media_cache`` to use.
        files: the write's local files, in order (``WriteRequest.local_files``).
        emit: receives ``UploadStarted``, ``UploadProgress`` and
            ``UploadCompleted`` events.
        policy: the write's retry policy, for the small calls and the resumes.

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
    uploader = _Uploader(client, emit, policy)
    await uploader.run(checked)
    uploader.raise_failure()
    return {file.path: uploader.urls[file.path] for file in files}
