"""The sandbox's resumable media uploads (protocol.md, "Media uploads").

Why it is built this way:

* Bytes go to disk as they arrive, one chunk at a time, in a temporary
  directory the sandbox owns and removes when it stops. A connection cut
  mid-body therefore keeps what it delivered, which is the whole point of a
  resumable protocol, and a large upload never sits in memory.
* The SHA-256 is computed incrementally as bytes are appended (a ``PUT`` may
  only append at the current offset), so ``complete`` verifies a large file
  without reading it again.
* A second loopback origin, the *storage origin*, serves the media URLs
  (public, like a CDN, so the API key's middleware must not guard them) and,
  with ``UploadConfig.foreign_origin``, the ``upload_url`` too. There it is
  authorized by an HMAC-signed token in its query string, never by the API
  key; every ``Authorization`` header that reaches it is counted, so tests can
  prove a client never leaks its key to another origin.
* Counters that tests need (``PUT`` requests in flight and at most, bytes
  received per upload, each ``PUT``'s range) are kept behind one lock and read
  as immutable snapshots from any thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import logging
import mimetypes
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any

import attrs
from aiohttp import web

from ._ledger import rfc3339
from ._protocol import ProtocolError
from ._uploads_config import UploadConfig
from ._validation import _check_content_type, _decode_json

__all__ = [
    "PutRecord",
    "UploadConfig",
    "UploadStats",
    "UploadStore",
    "setup_uploads",
    "uploads_of",
]

_logger = logging.getLogger("socialwrite.sandbox")

UPLOADS_PATH = "/v1/media/uploads"
"""Where uploads are created; ``{UPLOADS_PATH}/{id}/complete`` finishes one."""

_SHA256 = re.compile(r"[0-9a-f]{64}")
_CONTENT_RANGE = re.compile(r"bytes ([0-9]{1,19})-([0-9]{1,19})/([0-9]{1,19})")
_MIME_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")
_MAX_FILENAME = 255
# How long a HEAD waits for a PUT still running on the same upload (one whose
# client already gave up) to settle, so the offset it reports is final.
_SETTLE_TIMEOUT = 2.0


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
class _Media:
    """A completed upload, served at ``url``."""

    id: str
    name: str
    path: str
    content_type: str
    size: int
    sha256: str
    url: str

    def answer(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": "complete",
            "url": self.url,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
        }


@attrs.define(eq=False, kw_only=True)
class _Upload:
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
    media: _Media | None = None

    def progress(self) -> dict[str, Any]:
        status = "received" if self.offset == self.size else "pending"
        return {"id": self.id, "offset": self.offset, "status": status}


class _OffsetError(ProtocolError):
    """An error whose body also says, at the top level, where to resume."""

    def __init__(self, status: int, code: str, message: str, *, offset: int) -> None:
        super().__init__(status, code, message, param="Content-Range")
        self.offset = offset

    def body(self) -> dict[str, Any]:
        return {**super().body(), "offset": self.offset}


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
        self._uploads: dict[str, _Upload] = {}
        self._media_by_name: dict[str, _Media] = {}
        self._media_by_content: dict[tuple[str, int], _Media] = {}
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

    def _storage_request(self, authorization: str | None) -> None:
        self._count(
            storage_requests=1, storage_authorization_headers=0 if authorization is None else 1
        )

    # -- lifecycle -------------------------------------------------------------------------

    async def serve(self, _app: web.Application) -> AsyncIterator[None]:
        """Own the temporary directory and the storage origin while the app runs.

        Registered in ``app.cleanup_ctx``: the code before ``yield`` runs when
        the sandbox starts, the code after it when the sandbox stops.
        """
        self.directory = tempfile.mkdtemp(prefix="socialwrite-sandbox-uploads-")
        runner = web.AppRunner(_storage_app(self), access_log=None, handle_signals=False)
        try:
            await runner.setup()
            site = web.TCPSite(runner, self.config.storage_host, self.config.storage_port)
            await site.start()
            host, port = runner.addresses[0][:2]
            shown = f"[{host}]" if ":" in host else host
            self.storage_origin = f"http://{shown}:{port}"
            yield
        finally:
            await runner.cleanup()
            self.storage_origin = None
            directory, self.directory = self.directory, None
            shutil.rmtree(directory, ignore_errors=True)

    # -- the protocol's operations ---------------------------------------------------------

    def _expire(self) -> None:
        now = self.clock()
        for upload in [u for u in self._uploads.values() if u.media is None]:
            if upload.expires_at <= now and not upload.lock.locked():
                self._discard(upload)

    def _discard(self, upload: _Upload) -> None:
        self._uploads.pop(upload.id, None)
        with contextlib.suppress(OSError):
            os.remove(upload.path)

    def find(self, upload_id: str) -> _Upload:
        """Return the upload ``upload_id``.

        Raises:
            ProtocolError: 404 when it is unknown or has expired.
        """
        upload = self._uploads.get(upload_id)
        if upload is None:
            msg = f"no upload {upload_id!r}: create one with POST {UPLOADS_PATH}"
            raise ProtocolError(404, "upload_not_found", msg)
        if upload.media is None and upload.expires_at <= self.clock() and not upload.lock.locked():
            self._discard(upload)
            msg = f"upload {upload_id!r} has expired; start again with POST {UPLOADS_PATH}"
            raise ProtocolError(404, "upload_expired", msg)
        return upload

    def create(self, body: object, api_origin: str) -> tuple[int, dict[str, Any]]:
        """Check a create request's fields and start an upload (or reuse stored media).

        Returns:
            The status (201 new, 200 already complete) and the answer's body.

        Raises:
            ProtocolError: 400 for bad fields, 413 over ``max_size``, 415 for a
                type that is not an image or a video.
        """
        filename, content_type, size, sha256 = self._check_create(body)
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
        expires_at = self.clock() + self.config.ttl
        upload = _Upload(
            id=upload_id,
            filename=filename,
            content_type=content_type,
            size=size,
            sha256=sha256,
            path=path,
            expires_at=expires_at,
            drops_left=self.config.drop_put_times,
            corrupt=corrupt,
        )
        self._uploads[upload_id] = upload
        return 201, {
            "id": upload_id,
            "status": "pending",
            "upload_url": self._upload_url(upload, api_origin),
            "offset": 0,
            "size": size,
            "chunk_size": self.config.chunk_size,
            "url": None,
            "expires_at": rfc3339(datetime.fromtimestamp(expires_at, timezone.utc)),
        }

    def _check_create(self, body: object) -> tuple[str, str, int, str]:
        if not isinstance(body, dict):
            msg = "the body must be a JSON object with filename, content_type, size and sha256"
            raise ProtocolError(400, "invalid_type", msg)
        for name in ("filename", "content_type", "size", "sha256"):
            if name not in body:
                msg = f"{name} is required"
                raise ProtocolError(400, "parameter_missing", msg, param=name)
        filename = body["filename"]
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
        content_type = body["content_type"]
        if not isinstance(content_type, str):
            msg = "content_type must be a string"
            raise ProtocolError(400, "invalid_type", msg, param="content_type")
        content_type = content_type.strip().lower()
        if not _MIME_TYPE.fullmatch(content_type):
            msg = "content_type must be a MIME type such as 'image/jpeg' or 'video/mp4'"
            raise ProtocolError(400, "invalid_media_type", msg, param="content_type")
        size = body["size"]
        if isinstance(size, bool) or not isinstance(size, int):
            msg = "size must be a whole number of bytes"
            raise ProtocolError(400, "invalid_type", msg, param="size")
        if size < 1:
            msg = f"size must be at least 1 byte, got {size}"
            raise ProtocolError(400, "invalid_size", msg, param="size")
        sha256 = body["sha256"]
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            msg = "sha256 must be the file's SHA-256 as 64 lowercase hexadecimal digits"
            raise ProtocolError(400, "invalid_sha256", msg, param="sha256")
        if size > self.config.max_size:
            msg = f"the file is {size} bytes; the largest upload accepted is {self.config.max_size}"
            raise ProtocolError(413, "media_too_large", msg, param="size")
        if content_type.split("/", 1)[0] not in {"image", "video"}:
            msg = f"{content_type!r} is not an image or a video; only image/* and video/* upload"
            raise ProtocolError(415, "unsupported_media_type", msg, param="content_type")
        return filename, content_type, size, sha256

    def _signature(self, upload_id: str, expires: int) -> str:
        message = f"{upload_id}:{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def _upload_url(self, upload: _Upload, api_origin: str) -> str:
        if not self.config.foreign_origin:
            return f"{api_origin}{UPLOADS_PATH}/{upload.id}/content"
        expires = int(upload.expires_at)
        signature = self._signature(upload.id, expires)
        return f"{self.storage_origin}/uploads/{upload.id}?expires={expires}&signature={signature}"

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

    async def put(self, request: web.Request, upload_id: str, *, storage: bool) -> web.Response:
        """Append a ``PUT``'s body at the upload's offset, chunk by chunk, as it arrives."""
        header = request.headers.get("Content-Range")
        content_length = request.content_length
        start = end = -1
        match = _CONTENT_RANGE.fullmatch((header or "").strip())
        if match is not None:
            start, end = int(match[1]), int(match[2])
        record = (
            PutRecord(
                upload_id=upload_id,
                start=start,
                end=end,
                content_length=content_length,
                storage_origin=storage,
            )
            if match is not None
            else None
        )
        self._put_started(record)
        try:
            upload = self.find(upload_id)
            if match is None:
                msg = "send Content-Range: bytes START-END/TOTAL (END inclusive)"
                raise ProtocolError(400, "invalid_content_range", msg, param="Content-Range")
            total = int(match[3])
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
            if self.config.put_delay:
                await asyncio.sleep(self.config.put_delay)
            async with upload.lock:
                if upload.media is not None or start != upload.offset:
                    msg = (
                        f"this upload is at byte {upload.offset}, not {start}: "
                        f"resume from {upload.offset}"
                    )
                    raise _OffsetError(409, "offset_mismatch", msg, offset=upload.offset)
                return await self._append(request, upload, end + 1)
        finally:
            self._put_finished()

    async def _append(self, request: web.Request, upload: _Upload, stop: int) -> web.Response:
        received = 0
        too_long = False
        drop_after = self.config.drop_put_after if upload.drops_left > 0 else None
        config_cut = drop_after is not None
        if drop_after is None and self.put_fault is not None:
            drop_after = self.put_fault(stop - upload.offset)
        # Appending one network chunk to a local file costs less than a thread hop.
        with open(upload.path, "ab") as file:  # noqa: ASYNC230
            try:
                async for data in request.content.iter_any():
                    self._received(upload.id, len(data))
                    chunk = data
                    cut = drop_after is not None and received + len(chunk) >= drop_after
                    if cut and drop_after is not None:
                        chunk = chunk[: drop_after - received]
                    if len(chunk) > stop - upload.offset:
                        chunk = chunk[: stop - upload.offset]
                        too_long = True
                    if chunk and upload.corrupt and upload.offset == 0:
                        # Damaged "in transit": the digest sees what was stored.
                        chunk = bytes([chunk[0] ^ 0xFF]) + chunk[1:]
                    file.write(chunk)
                    upload.hasher.update(chunk)
                    upload.offset += len(chunk)
                    received += len(chunk)
                    if cut:
                        if config_cut:
                            upload.drops_left -= 1
                        file.flush()
                        if request.transport is not None:
                            request.transport.abort()
                        return web.Response(status=499)
                    if too_long:
                        break
            except (ConnectionError, asyncio.IncompleteReadError, web.HTTPException) as exc:
                # The client went away mid-body: what arrived is kept for the resume.
                _logger.debug("upload %s: body cut at %d: %r", upload.id, upload.offset, exc)
                return web.Response(status=499)
        if too_long:
            msg = f"the body is longer than its Content-Range; kept bytes up to {stop - 1}"
            raise _OffsetError(400, "invalid_content_range", msg, offset=upload.offset)
        return web.json_response(upload.progress())

    async def head(self, upload_id: str) -> web.Response:
        """Say where the upload stands: ``Upload-Offset`` and ``Upload-Length``."""
        self._count(head_requests=1)
        upload = self.find(upload_id)
        # A PUT whose client already left may still be appending: let it settle.
        try:
            await asyncio.wait_for(upload.lock.acquire(), _SETTLE_TIMEOUT)
        except asyncio.TimeoutError:
            pass
        else:
            upload.lock.release()
        return web.Response(
            status=200,
            headers={
                "Upload-Offset": str(upload.offset),
                "Upload-Length": str(upload.size),
                "Cache-Control": "no-store",
            },
        )

    async def complete(self, upload_id: str) -> dict[str, Any]:
        """Verify the upload's SHA-256 and publish it as media.

        Raises:
            ProtocolError: 404 unknown or expired, 409 ``incomplete_upload``,
                422 ``checksum_mismatch`` (the upload is discarded).
        """
        self._count(complete_requests=1)
        upload = self.find(upload_id)
        async with upload.lock:
            if upload.media is not None:
                return upload.media.answer()
            if upload.offset < upload.size:
                msg = (
                    f"only {upload.offset} of {upload.size} bytes arrived; "
                    f"PUT the rest from byte {upload.offset}"
                )
                raise _OffsetError(409, "incomplete_upload", msg, offset=upload.offset)
            if upload.hasher.hexdigest() != upload.sha256:
                self._discard(upload)
                self._count(checksum_mismatches=1)
                msg = (
                    "the received bytes' SHA-256 is not the declared one; the upload was "
                    f"discarded: start again with POST {UPLOADS_PATH}"
                )
                raise ProtocolError(422, "checksum_mismatch", msg, param="sha256")
            key = (upload.sha256, upload.size)
            media = self._media_by_content.get(key)
            if media is None:
                media = self._publish(upload)
                self._media_by_content[key] = media
                self._media_by_name[media.name] = media
            else:
                with contextlib.suppress(OSError):
                    os.remove(upload.path)
            upload.media = media
            return media.answer()

    def _publish(self, upload: _Upload) -> _Media:
        extension = mimetypes.guess_extension(upload.content_type) or ""
        name = f"{upload.id}{extension}"
        return _Media(
            id=upload.id,
            name=name,
            path=upload.path,
            content_type=upload.content_type,
            size=upload.size,
            sha256=upload.sha256,
            url=f"{self.storage_origin}/media/{name}",
        )

    def media_facts(self, url: str) -> tuple[str, int] | None:
        """Return ``(content_type, size)`` of a media URL this sandbox serves, else ``None``."""
        prefix = f"{self.storage_origin}/media/"
        if not url.startswith(prefix):
            return None
        media = self._media_by_name.get(url[len(prefix) :])
        return None if media is None else (media.content_type, media.size)

    def media(self, name: str) -> _Media:
        """Return the stored media called ``name`` (its URL's last segment).

        Raises:
            ProtocolError: 404 when there is none.
        """
        media = self._media_by_name.get(name)
        if media is None:
            msg = f"no media {name!r} in this sandbox"
            raise ProtocolError(404, "media_not_found", msg)
        return media


_UPLOADS = web.AppKey("socialwrite_sandbox_uploads", UploadStore)


def uploads_of(app: web.Application) -> UploadStore:
    """Return the upload store of an application set up by :func:`setup_uploads`."""
    store: UploadStore = app[_UPLOADS]
    return store


def setup_uploads(app: web.Application, config: UploadConfig | None = None) -> UploadStore:
    """Mount the media upload endpoints on the sandbox's API application.

    The API routes rely on the application's middleware for the API key and
    for the protocol's error bodies; the storage origin (media URLs, and
    ``upload_url`` with ``foreign_origin``) starts and stops with the app.

    Args:
        app: the sandbox's application (``make_app``).
        config: the uploads' behaviour; the defaults when ``None``.

    Returns:
        The store, also reachable as ``uploads_of(app)``.
    """
    store = UploadStore(config if config is not None else UploadConfig())
    app[_UPLOADS] = store
    app.router.add_post(UPLOADS_PATH, _create)
    app.router.add_post(UPLOADS_PATH + "/{id}/complete", _complete)
    app.router.add_put(UPLOADS_PATH + "/{id}/content", _api_put)
    app.router.add_route("HEAD", UPLOADS_PATH + "/{id}/content", _api_head)
    app.cleanup_ctx.append(store.serve)
    return store


async def _create(request: web.Request) -> web.Response:
    store = uploads_of(request.app)
    _check_content_type(request.headers.get("Content-Type"))
    body = _decode_json(await request.read())
    status, answer = store.create(body, str(request.url.origin()))
    return web.json_response(answer, status=status)


async def _complete(request: web.Request) -> web.Response:
    store = uploads_of(request.app)
    return web.json_response(await store.complete(request.match_info["id"]))


async def _api_put(request: web.Request) -> web.Response:
    return await uploads_of(request.app).put(request, request.match_info["id"], storage=False)


async def _api_head(request: web.Request) -> web.Response:
    return await uploads_of(request.app).head(request.match_info["id"])


# -- the storage origin --------------------------------------------------------------------

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _storage_app(store: UploadStore) -> web.Application:
    # Imported here: ``_app`` mounts this module, so a top-level import would be circular.
    from ._app import _add_request_id, _error_response, _from_http_exception  # noqa: PLC0415

    @web.middleware
    async def storage_errors(request: web.Request, handler: _Handler) -> web.StreamResponse:
        """The API's error bodies, with no API key: this origin never sees one."""
        store._storage_request(request.headers.get("Authorization"))
        try:
            return await handler(request)
        except ProtocolError as exc:
            return _error_response(exc)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return _error_response(_from_http_exception(exc, request))

    app = web.Application(middlewares=[storage_errors])
    app[_UPLOADS] = store
    app.router.add_get("/media/{name}", _get_media)
    if store.config.foreign_origin:
        app.router.add_put("/uploads/{id}", _storage_put)
        app.router.add_route("HEAD", "/uploads/{id}", _storage_head)
    app.on_response_prepare.append(_add_request_id)
    return app


def _signed_id(request: web.Request) -> str:
    upload_id = request.match_info["id"]
    uploads_of(request.app).check_signature(
        upload_id, request.query.get("expires"), request.query.get("signature")
    )
    return upload_id


async def _storage_put(request: web.Request) -> web.Response:
    store = uploads_of(request.app)
    return await store.put(request, _signed_id(request), storage=True)


async def _storage_head(request: web.Request) -> web.Response:
    return await uploads_of(request.app).head(_signed_id(request))


async def _get_media(request: web.Request) -> web.StreamResponse:
    media = uploads_of(request.app).media(request.match_info["name"])
    return web.FileResponse(
        media.path,
        headers={
            "Content-Type": media.content_type,
            "Cache-Control": "public, max-age=31536000, immutable",
        },
    )
