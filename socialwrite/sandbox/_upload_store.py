"""The sandbox's resumable media uploads, as state (protocol.md, "Media uploads").

This module keeps the uploads and the media they become: their records,
offsets, digests, limits, expiry and signed URLs, and the counters tests
read. It knows no HTTP framework; the routes (``_uploads``) turn requests into
calls to :class:`UploadStore` and its answers into HTTP. Why it is built this
way:

* Bytes go to disk as they arrive, one chunk at a time, in a temporary
  directory the store owns while the sandbox runs. A connection cut mid-body
  therefore keeps what it delivered, which is the whole point of a resumable
  protocol, and a large upload never sits in memory.
* The SHA-256 is computed incrementally as bytes are appended (a ``PUT`` may
  only append at the current offset), so ``complete`` verifies a large file
  without reading it again.
* The media URLs, and with ``UploadConfig.foreign_origin`` the ``upload_url``
  too, belong to a second loopback origin, the *storage origin*. There an
  upload is authorized by an HMAC-signed token in its URL's query string,
  never by the API key.
* Counters that tests need (``PUT`` requests in flight and at most, bytes
  received per upload, each ``PUT``'s range, ``Authorization`` headers sent to
  the storage origin) are kept behind one lock and read as immutable
  snapshots from any thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import itertools
import mimetypes
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime, timezone
from types import MappingProxyType, TracebackType
from typing import IO, Any

import attrs

from .._protocol import UPLOAD_STATUSES, UPLOADS_PATH
from ._ledger import rfc3339
from ._protocol import ProtocolError
from ._uploads_config import UploadConfig

__all__ = [
    "Append",
    "OffsetError",
    "PutRecord",
    "StoredMedia",
    "Upload",
    "UploadStats",
    "UploadStore",
    "content_path",
    "media_path",
    "storage_upload_path",
]

_PENDING, _RECEIVED, _COMPLETE = UPLOAD_STATUSES

_SHA256 = re.compile(r"[0-9a-f]{64}")
_CONTENT_RANGE = re.compile(r"bytes ([0-9]{1,19})-([0-9]{1,19})/([0-9]{1,19})")
_MIME_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")
_MAX_FILENAME = 255
_CREATE_FIELDS = ("filename", "content_type", "size", "sha256")
_UPLOADABLE = frozenset({"image", "video"})
# How long a HEAD waits for a PUT still running on the same upload (one whose
# client already gave up) to settle, so the offset it reports is final.
_SETTLE_TIMEOUT = 2.0


def content_path(upload_id: str) -> str:
    """The API origin's ``upload_url`` path of an upload (without ``foreign_origin``)."""
    return f"{UPLOADS_PATH}/{upload_id}/content"


def storage_upload_path(upload_id: str) -> str:
    """The storage origin's ``upload_url`` path of an upload (with ``foreign_origin``)."""
    return f"/uploads/{upload_id}"


def media_path(name: str) -> str:
    """The storage origin's path of a completed upload's media, by its file name."""
    return f"/media/{name}"


@attrs.frozen(kw_only=True)
class PutRecord:
    """One ``PUT`` the sandbox received.

    Attributes:
        upload_id: the upload it was for.
        start: the first byte of its ``Content-Range``.
        end: the last byte (inclusive) of its ``Content-Range``.
        content_length: its ``Content-Length`` header, or ``None`` when chunked.
        storage_origin: whether it came to the storage origin (not the API's).
    """

    upload_id: str
    start: int
    end: int
    content_length: int | None
    storage_origin: bool


@attrs.frozen(kw_only=True)
class UploadStats:
    """A snapshot of the upload counters.

    Attributes:
        creates: ``POST /v1/media/uploads`` requests answered 200 or 201.
        put_requests: ``PUT`` requests received (any answer).
        puts_in_flight: ``PUT`` requests being served right now.
        max_puts_in_flight: the most ``PUT`` requests served at once so far.
        head_requests: ``HEAD`` requests on upload URLs.
        complete_requests: ``complete`` requests received.
        bytes_received: body bytes read by ``PUT`` requests, by upload id.
        puts: every ``PUT`` with a well-formed range, in arrival order.
        storage_requests: requests that reached the storage origin.
        storage_authorization_headers: how many of those carried an
            ``Authorization`` header (a correct client sends none there).
        checksum_mismatches: uploads discarded by ``complete``.
    """

    creates: int = 0
    put_requests: int = 0
    puts_in_flight: int = 0
    max_puts_in_flight: int = 0
    head_requests: int = 0
    complete_requests: int = 0
    bytes_received: Mapping[str, int] = attrs.field(factory=dict)
    puts: tuple[PutRecord, ...] = ()
    storage_requests: int = 0
    storage_authorization_headers: int = 0
    checksum_mismatches: int = 0


@attrs.frozen(kw_only=True)
class StoredMedia:
    """A completed upload, served at ``url`` from the file at ``path``."""

    id: str
    name: str
    path: str
    content_type: str
    size: int
    sha256: str
    url: str

    def answer(self) -> dict[str, Any]:
        """Return the media as a create or complete answer shows it."""
        return {
            "id": self.id,
            "status": _COMPLETE,
            "url": self.url,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
        }


@attrs.define(eq=False, kw_only=True)
class Upload:
    """An upload in progress; lives on the server's loop."""

    id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    path: str
    expires_at: float
    drops_left: int
    corrupt: bool
    offset: int = 0
    hasher: Any = attrs.field(factory=hashlib.sha256)
    lock: asyncio.Lock = attrs.field(factory=asyncio.Lock)
    media: StoredMedia | None = None

    def progress(self) -> dict[str, Any]:
        """Return where the upload stands, as a ``PUT``'s answer shows it."""
        status = _RECEIVED if self.offset == self.size else _PENDING
        return {"id": self.id, "offset": self.offset, "status": status}


class OffsetError(ProtocolError):
    """An error whose body also says, at the top level, where to resume."""

    def __init__(self, status: int, code: str, message: str, *, offset: int) -> None:
        super().__init__(status, code, message, param="Content-Range")
        self.offset = offset

    def body(self) -> dict[str, Any]:
        """Return the protocol's error body with the upload's ``offset`` beside it."""
        return {**super().body(), "offset": self.offset}


class Append:
    """One ``PUT``'s body appended to its upload's file, chunk by chunk.

    A context manager: the file is open while it is entered. Feed it the body's
    chunks as they arrive (:meth:`feed`) until it says to stop, then read
    :attr:`cut` (the connection is to be cut, as an injected fault says) or
    :meth:`answer`.

    Args:
        upload: the upload, at the ``PUT``'s start offset, its lock held.
        stop: the offset just past the ``PUT``'s last byte.
        cut_after: how many bytes to keep before cutting the connection, or
            ``None`` never to cut.
        counts_drop: whether the cut is one of the upload's own
            (``UploadConfig.drop_put_after``), counted against ``drop_put_times``.
        on_received: told the size of every chunk that arrives.
    """

    def __init__(
        self,
        upload: Upload,
        stop: int,
        *,
        cut_after: int | None,
        counts_drop: bool,
        on_received: Callable[[int], None],
    ) -> None:
        self.upload = upload
        self.cut = False
        self.too_long = False
        self._stop = stop
        self._cut_after = cut_after
        self._counts_drop = counts_drop
        self._on_received = on_received
        self._received = 0
        self._file: IO[bytes] | None = None

    def __enter__(self) -> Append:
        self._file = open(self.upload.path, "ab")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        file, self._file = self._file, None
        if file is not None:
            file.close()

    def feed(self, data: bytes) -> bool:
        """Append what of ``data`` belongs to the upload; False once reading must stop."""
        self._on_received(len(data))
        chunk = data
        if self._cut_after is not None and self._received + len(chunk) >= self._cut_after:
            chunk = chunk[: self._cut_after - self._received]
            self.cut = True
        room = self._stop - self.upload.offset
        if len(chunk) > room:
            chunk = chunk[:room]
            self.too_long = True
        self._write(chunk)
        if self.cut and self._counts_drop:
            self.upload.drops_left -= 1
        return not (self.cut or self.too_long)

    def answer(self) -> dict[str, Any]:
        """Return the ``PUT``'s answer: where the upload stands now.

        Raises:
            OffsetError: 400 ``invalid_content_range`` when the body ran past its
                ``Content-Range`` (the bytes up to its end are kept).
        """
        if self.too_long:
            msg = f"the body is longer than its Content-Range; kept bytes up to {self._stop - 1}"
            raise OffsetError(400, "invalid_content_range", msg, offset=self.upload.offset)
        return self.upload.progress()

    def _write(self, chunk: bytes) -> None:
        upload = self.upload
        if chunk and upload.corrupt and upload.offset == 0:
            # Damaged "in transit": the digest sees what was stored.
            chunk = bytes([chunk[0] ^ 0xFF]) + chunk[1:]
        if self._file is None:
            msg = "enter the Append before feeding it"
            raise RuntimeError(msg)
        # On the loop: appending one network chunk to a local file costs less
        # than a hop to a thread.
        self._file.write(chunk)
        upload.hasher.update(chunk)
        upload.offset += len(chunk)
        self._received += len(chunk)


def _parse_content_range(header: str | None) -> tuple[int, int, int] | None:
    """Return a ``Content-Range``'s first byte, last byte (inclusive) and total, if well formed."""
    match = _CONTENT_RANGE.fullmatch((header or "").strip())
    if match is None:
        return None
    return int(match[1]), int(match[2]), int(match[3])


class UploadStore:
    """Uploads and media of one sandbox, with the counters tests read.

    The uploads themselves belong to the server's event loop; :meth:`stats`
    may be called from any thread.

    Args:
        config: limits, lifetimes and injected faults.
        clock: the wall clock (seconds since the epoch), for expiry; tests
            may pass a fake one.
    """

    def __init__(self, config: UploadConfig, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self.directory: str | None = None
        self.storage_origin: str | None = None
        self._secret = secrets.token_bytes(32)
        self._ids = itertools.count(1)
        self._uploads: dict[str, Upload] = {}
        self._media_by_name: dict[str, StoredMedia] = {}
        self._media_by_content: dict[tuple[str, int], StoredMedia] = {}
        self._corrupt_left = config.corrupt_uploads
        self._lock = threading.Lock()
        self._stats = UploadStats()
        self._bytes: dict[str, int] = {}
        self._puts: list[PutRecord] = []
        # Fault injection's say on a PUT that the config does not cut: given the
        # body's length, how many bytes to keep before cutting (None: no cut).
        self.put_fault: Callable[[int], int | None] | None = None

    # -- counters, readable from any thread ----------------------------------------------

    def stats(self) -> UploadStats:
        """Return a snapshot of the counters. Thread-safe."""
        with self._lock:
            return attrs.evolve(
                self._stats,
                bytes_received=MappingProxyType(dict(self._bytes)),
                puts=tuple(self._puts),
            )

    def count_storage_request(self, authorization: str | None) -> None:
        """Count a request to the storage origin, and whether it carried ``authorization``."""
        self._count(
            storage_requests=1, storage_authorization_headers=0 if authorization is None else 1
        )

    def _count(self, **deltas: int) -> None:
        with self._lock:
            changes = {name: getattr(self._stats, name) + delta for name, delta in deltas.items()}
            self._stats = attrs.evolve(self._stats, **changes)

    def _put_started(self, record: PutRecord | None) -> None:
        with self._lock:
            in_flight = self._stats.puts_in_flight + 1
            self._stats = attrs.evolve(
                self._stats,
                put_requests=self._stats.put_requests + 1,
                puts_in_flight=in_flight,
                max_puts_in_flight=max(in_flight, self._stats.max_puts_in_flight),
            )
            if record is not None:
                self._puts.append(record)

    def _put_finished(self) -> None:
        self._count(puts_in_flight=-1)

    def _received(self, upload_id: str, count: int) -> None:
        with self._lock:
            self._bytes[upload_id] = self._bytes.get(upload_id, 0) + count

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, storage_origin: str) -> None:
        """Make the directory the bytes go to; media URLs will start with ``storage_origin``."""
        self.directory = tempfile.mkdtemp(prefix="socialwrite-sandbox-uploads-")
        self.storage_origin = storage_origin

    def stop(self) -> None:
        """Remove the temporary directory and everything in it."""
        self.storage_origin = None
        directory, self.directory = self.directory, None
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)

    # -- the protocol's operations ---------------------------------------------------------

    def find(self, upload_id: str) -> Upload:
        """Return the upload ``upload_id``.

        Raises:
            ProtocolError: 404 when it is unknown or has expired.
        """
        upload = self._uploads.get(upload_id)
        if upload is None:
            msg = f"no upload {upload_id!r}: create one with POST {UPLOADS_PATH}"
            raise ProtocolError(404, "upload_not_found", msg)
        if self._expired(upload):
            self._discard(upload)
            msg = f"upload {upload_id!r} has expired; start again with POST {UPLOADS_PATH}"
            raise ProtocolError(404, "upload_expired", msg)
        return upload

    def create(self, body: object, api_origin: str) -> tuple[int, dict[str, Any]]:
        """Check a create request's fields and start an upload (or reuse stored media).

        Args:
            body: the request's decoded JSON body.
            api_origin: the API's origin, which the ``upload_url`` starts with
                unless it belongs to the storage origin.

        Returns:
            The status (201 new, 200 already complete) and the answer's body.

        Raises:
            ProtocolError: 400 for bad fields, 413 over ``max_size``, 415 for a
                type that is not an image or a video, 503 when not started.
        """
        filename, content_type, size, sha256 = _check_create(body, max_size=self.config.max_size)
        self._expire()
        self._count(creates=1)
        existing = self._media_by_content.get((sha256, size))
        if existing is not None:
            return 200, {
                **existing.answer(),
                "upload_url": None,
                "offset": size,
                "chunk_size": self.config.chunk_size,
                "expires_at": None,
            }
        upload = self._new_upload(filename, content_type, size, sha256)
        return 201, {
            "id": upload.id,
            "status": _PENDING,
            "upload_url": self._upload_url(upload, api_origin),
            "offset": 0,
            "size": size,
            "chunk_size": self.config.chunk_size,
            "url": None,
            "expires_at": rfc3339(datetime.fromtimestamp(upload.expires_at, timezone.utc)),
        }

    def check_signature(self, upload_id: str, expires: str | None, signature: str | None) -> None:
        """Check a storage-origin URL's signed token.

        Raises:
            ProtocolError: 403 when the token is missing, forged or out of date.
        """
        if expires is None or signature is None or not expires.isdigit():
            msg = "this upload URL needs its expires and signature parameters; use it as given"
            raise ProtocolError(403, "missing_signature", msg)
        expected = self._signature(upload_id, int(expires))
        if not hmac.compare_digest(expected, signature):
            msg = "the upload URL's signature does not match; use the upload_url as given"
            raise ProtocolError(403, "invalid_signature", msg)
        if int(expires) < self.clock():
            msg = f"the upload URL expired; start again with POST {UPLOADS_PATH}"
            raise ProtocolError(403, "signature_expired", msg)

    @contextlib.asynccontextmanager
    async def put(
        self,
        upload_id: str,
        content_range: str | None,
        content_length: int | None,
        *,
        storage: bool,
    ) -> AsyncIterator[Append]:
        """Check a ``PUT`` and hold its upload while the body is appended.

        Counts the ``PUT`` (and its range, when well formed) while it runs.
        Inside, the upload's lock is held and its file open for appending.

        Args:
            upload_id: the upload the ``PUT`` is for.
            content_range: its ``Content-Range`` header.
            content_length: its ``Content-Length`` header, ``None`` when chunked.
            storage: whether it came to the storage origin.

        Raises:
            ProtocolError: 404 unknown or expired upload, 400 for a range or a
                length that does not fit the upload, 409 ``offset_mismatch``
                (with the ``offset`` to resume from) when it does not start at
                the upload's offset.
        """
        span = _parse_content_range(content_range)
        self._put_started(
            None
            if span is None
            else PutRecord(
                upload_id=upload_id,
                start=span[0],
                end=span[1],
                content_length=content_length,
                storage_origin=storage,
            )
        )
        try:
            upload = self.find(upload_id)
            start, stop = _check_range(upload, span, content_range, content_length)
            if self.config.put_delay:
                await asyncio.sleep(self.config.put_delay)
            async with upload.lock:
                if upload.media is not None or start != upload.offset:
                    msg = (
                        f"this upload is at byte {upload.offset}, not {start}: "
                        f"resume from {upload.offset}"
                    )
                    raise OffsetError(409, "offset_mismatch", msg, offset=upload.offset)
                with self._append(upload, stop) as append:
                    yield append
        finally:
            self._put_finished()

    async def settled(self, upload_id: str) -> Upload:
        """Return the upload once no ``PUT`` appends to it, for a ``HEAD``.

        A ``PUT`` whose client already left may still be appending: it gets a
        moment to settle, so that the offset reported is final.

        Raises:
            ProtocolError: 404 when the upload is unknown or has expired.
        """
        self._count(head_requests=1)
        upload = self.find(upload_id)
        try:
            await asyncio.wait_for(upload.lock.acquire(), _SETTLE_TIMEOUT)
        except asyncio.TimeoutError:
            pass
        else:
            upload.lock.release()
        return upload

    async def complete(self, upload_id: str) -> dict[str, Any]:
        """Verify the upload's SHA-256 and publish it as media.

        Raises:
            ProtocolError: 404 unknown or expired, 409 ``incomplete_upload``,
                422 ``checksum_mismatch`` (the upload is discarded).
        """
        self._count(complete_requests=1)
        upload = self.find(upload_id)
        async with upload.lock:
            if upload.media is None:
                self._verify(upload)
                upload.media = self._store_media(upload)
            return upload.media.answer()

    def media_facts(self, url: str) -> tuple[str, int] | None:
        """Return ``(content_type, size)`` of a media URL this sandbox serves, else ``None``."""
        prefix = f"{self.storage_origin}{media_path('')}"
        if not url.startswith(prefix):
            return None
        media = self._media_by_name.get(url[len(prefix) :])
        return None if media is None else (media.content_type, media.size)

    def media(self, name: str) -> StoredMedia:
        """Return the stored media called ``name`` (its URL's last segment).

        Raises:
            ProtocolError: 404 when there is none.
        """
        media = self._media_by_name.get(name)
        if media is None:
            msg = f"no media {name!r} in this sandbox"
            raise ProtocolError(404, "media_not_found", msg)
        return media

    # -- helpers ---------------------------------------------------------------------------

    def _expired(self, upload: Upload) -> bool:
        # A PUT still appending keeps its upload alive until it ends.
        return (
            upload.media is None and upload.expires_at <= self.clock() and not upload.lock.locked()
        )

    def _expire(self) -> None:
        for upload in [upload for upload in self._uploads.values() if self._expired(upload)]:
            self._discard(upload)

    def _discard(self, upload: Upload) -> None:
        self._uploads.pop(upload.id, None)
        with contextlib.suppress(OSError):
            os.remove(upload.path)

    def _new_upload(self, filename: str, content_type: str, size: int, sha256: str) -> Upload:
        if self.directory is None:
            msg = "the sandbox is not running"
            raise ProtocolError(503, "service_unavailable", msg)
        upload_id = f"med_{next(self._ids)}"
        path = os.path.join(self.directory, upload_id)
        with open(path, "wb"):
            pass
        corrupt = self._corrupt_left > 0
        if corrupt:
            self._corrupt_left -= 1
        upload = Upload(
            id=upload_id,
            filename=filename,
            content_type=content_type,
            size=size,
            sha256=sha256,
            path=path,
            expires_at=self.clock() + self.config.ttl,
            drops_left=self.config.drop_put_times,
            corrupt=corrupt,
        )
        self._uploads[upload_id] = upload
        return upload

    def _signature(self, upload_id: str, expires: int) -> str:
        message = f"{upload_id}:{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def _upload_url(self, upload: Upload, api_origin: str) -> str:
        if not self.config.foreign_origin:
            return f"{api_origin}{content_path(upload.id)}"
        expires = int(upload.expires_at)
        signature = self._signature(upload.id, expires)
        return (
            f"{self.storage_origin}{storage_upload_path(upload.id)}"
            f"?expires={expires}&signature={signature}"
        )

    def _append(self, upload: Upload, stop: int) -> Append:
        # The upload's own cuts (UploadConfig) come first; fault injection
        # decides on the PUTs they leave alone.
        cut_after: int | None = None
        counts_drop = upload.drops_left > 0 and self.config.drop_put_after is not None
        if counts_drop:
            cut_after = self.config.drop_put_after
        elif self.put_fault is not None:
            cut_after = self.put_fault(stop - upload.offset)
        return Append(
            upload,
            stop,
            cut_after=cut_after,
            counts_drop=counts_drop,
            on_received=functools.partial(self._received, upload.id),
        )

    def _verify(self, upload: Upload) -> None:
        if upload.offset < upload.size:
            msg = (
                f"only {upload.offset} of {upload.size} bytes arrived; "
                f"PUT the rest from byte {upload.offset}"
            )
            raise OffsetError(409, "incomplete_upload", msg, offset=upload.offset)
        if upload.hasher.hexdigest() != upload.sha256:
            self._discard(upload)
            self._count(checksum_mismatches=1)
            msg = (
                "the received bytes' SHA-256 is not the declared one; the upload was "
                f"discarded: start again with POST {UPLOADS_PATH}"
            )
            raise ProtocolError(422, "checksum_mismatch", msg, param="sha256")

    def _store_media(self, upload: Upload) -> StoredMedia:
        # The same bytes uploaded twice are one media: the second file goes.
        key = (upload.sha256, upload.size)
        media = self._media_by_content.get(key)
        if media is not None:
            with contextlib.suppress(OSError):
                os.remove(upload.path)
            return media
        extension = mimetypes.guess_extension(upload.content_type) or ""
        name = f"{upload.id}{extension}"
        media = StoredMedia(
            id=upload.id,
            name=name,
            path=upload.path,
            content_type=upload.content_type,
            size=upload.size,
            sha256=upload.sha256,
            url=f"{self.storage_origin}{media_path(name)}",
        )
        self._media_by_content[key] = media
        self._media_by_name[name] = media
        return media


# -- checks of a request's fields, pure ------------------------------------------------------


def _check_create(body: object, *, max_size: int) -> tuple[str, str, int, str]:
    """Return a create request's filename, content type, size and SHA-256, checked."""
    if not isinstance(body, dict):
        msg = "the body must be a JSON object with filename, content_type, size and sha256"
        raise ProtocolError(400, "invalid_type", msg)
    for name in _CREATE_FIELDS:
        if name not in body:
            msg = f"{name} is required"
            raise ProtocolError(400, "parameter_missing", msg, param=name)
    filename = _check_filename(body["filename"])
    content_type = _check_content_type(body["content_type"])
    size = _check_size(body["size"])
    sha256 = body["sha256"]
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        msg = "sha256 must be the file's SHA-256 as 64 lowercase hexadecimal digits"
        raise ProtocolError(400, "invalid_sha256", msg, param="sha256")
    if size > max_size:
        msg = f"the file is {size} bytes; the largest upload accepted is {max_size}"
        raise ProtocolError(413, "media_too_large", msg, param="size")
    if content_type.split("/", 1)[0] not in _UPLOADABLE:
        msg = f"{content_type!r} is not an image or a video; only image/* and video/* upload"
        raise ProtocolError(415, "unsupported_media_type", msg, param="content_type")
    return filename, content_type, size, sha256


def _check_filename(filename: object) -> str:
    if not isinstance(filename, str):
        msg = "filename must be a string"
        raise ProtocolError(400, "invalid_type", msg, param="filename")
    if (
        not 1 <= len(filename) <= _MAX_FILENAME
        or filename in {".", ".."}
        or any(char in "/\\" or ord(char) < 32 or ord(char) == 127 for char in filename)
    ):
        msg = (
            f"filename must be a file's name of 1 to {_MAX_FILENAME} characters, "
            "without a directory or control characters"
        )
        raise ProtocolError(400, "invalid_filename", msg, param="filename")
    return filename


def _check_content_type(content_type: object) -> str:
    if not isinstance(content_type, str):
        msg = "content_type must be a string"
        raise ProtocolError(400, "invalid_type", msg, param="content_type")
    normalized = content_type.strip().lower()
    if not _MIME_TYPE.fullmatch(normalized):
        msg = "content_type must be a MIME type such as 'image/jpeg' or 'video/mp4'"
        raise ProtocolError(400, "invalid_media_type", msg, param="content_type")
    return normalized


def _check_size(size: object) -> int:
    if isinstance(size, bool) or not isinstance(size, int):
        msg = "size must be a whole number of bytes"
        raise ProtocolError(400, "invalid_type", msg, param="size")
    if size < 1:
        msg = f"size must be at least 1 byte, got {size}"
        raise ProtocolError(400, "invalid_size", msg, param="size")
    return size


def _check_range(
    upload: Upload,
    span: tuple[int, int, int] | None,
    header: str | None,
    content_length: int | None,
) -> tuple[int, int]:
    """Return a ``PUT``'s start offset and the offset past its end, checked against ``upload``."""
    if span is None:
        msg = "send Content-Range: bytes START-END/TOTAL (END inclusive)"
        raise ProtocolError(400, "invalid_content_range", msg, param="Content-Range")
    start, end, total = span
    if total != upload.size or end < start or end >= upload.size:
        msg = (
            f"Content-Range {header!r} does not fit this upload of {upload.size} bytes: "
            f"use bytes START-END/{upload.size} with START <= END < {upload.size}"
        )
        raise ProtocolError(400, "invalid_content_range", msg, param="Content-Range")
    if content_length is not None and content_length != end - start + 1:
        msg = (
            f"Content-Length is {content_length} but Content-Range {header!r} "
            f"covers {end - start + 1} bytes"
        )
        raise ProtocolError(400, "invalid_content_length", msg, param="Content-Length")
    return start, end + 1
