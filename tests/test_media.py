"""The upload pipeline's pure parts, and its logic against an in-memory transport."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from socialwrite import AsyncClient
from socialwrite._errors import (
    APIResponseValidationError,
    BadRequestError,
    MediaUploadError,
    ValidationError,
)
from socialwrite._media import CHUNK_SIZE
from socialwrite._request import LocalFile
from socialwrite._retry import RetryPolicy
from socialwrite._sniff import content_type_for, sniff_content_type
from socialwrite._transport import Request
from socialwrite._transport._mock import MockResponse, MockTransport
from socialwrite.events import Event, UploadCompleted, UploadProgress, UploadStarted

from ._uploads import upload_with

API = "https://api.example.com"
STORAGE = "https://storage.example.net"
KEY = "sk_test_media"
PNG = b"\x89PNG\r\n\x1a\n"
FAST = RetryPolicy(max_retries=2, backoff_base=0.0)


# -- content types -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (PNG + b"\x00\x00\x00\rIHDR", "image/png"),
        (b"GIF89a\x01\x00", "image/gif"),
        (b"GIF87a\x01\x00", "image/gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00", "video/mp4"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00", "video/quicktime"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", "video/webm"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska", "video/x-matroska"),
        (b"%PDF-1.7", None),
        (b"", None),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", None),
    ],
)
def test_sniff_content_type(head: bytes, expected: str | None) -> None:
    """The first bytes of each known format give its MIME type; others give None."""
    assert sniff_content_type(head) == expected


def test_content_type_from_name_first() -> None:
    """The file name decides when it names an image or video, whatever the bytes."""
    assert content_type_for("media/chart.png", b"") == "image/png"
    assert content_type_for("clip.MP4", b"") == "video/mp4"
    assert content_type_for("photo.jpg", PNG) == "image/jpeg"


def test_content_type_falls_back_to_the_bytes() -> None:
    """A name without a media extension is sniffed."""
    assert content_type_for("IMG_0001", b"\xff\xd8\xff\xdb") == "image/jpeg"
    assert content_type_for("export.bin", PNG) == "image/png"


def test_declared_content_type_wins_and_is_checked() -> None:
    """A declared type is used as given (normalized), and must be an image or a video."""
    assert content_type_for("x.bin", b"", declared="Video/MP4; codecs=avc1") == "video/mp4"
    with pytest.raises(ValidationError) as caught:
        content_type_for("x.png", PNG, declared="application/pdf", param="content.media[3]")
    assert caught.value.param == "content.media[3]"


@pytest.mark.parametrize(
    ("name", "head", "hint"),
    [("notes.txt", b"hello", "text/plain"), ("blob", b"\x00\x01", "cannot tell")],
)
def test_unknown_or_unsupported_types_are_validation_errors(
    name: str, head: bytes, hint: str
) -> None:
    """A file that is not an image or video by name or bytes is refused, naming the field."""
    with pytest.raises(ValidationError) as caught:
        content_type_for(name, head, param="content.media[1]")
    assert caught.value.param == "content.media[1]"
    assert hint in caught.value.message


# -- the pipeline against an in-memory server -----------------------------------------------


class FakeServer:
    """A tiny protocol server behind ``MockTransport``; tests change its answers."""

    def __init__(self, *, upload_origin: str = API) -> None:
        self.upload_origin = upload_origin
        self.files: dict[str, bytearray] = {}
        self.meta: dict[str, dict[str, Any]] = {}
        self.create_failures: list[MockResponse] = []
        self.put_answer: Callable[[str], MockResponse | None] | None = None
        self.on_chunk: Callable[[int], None] | None = None
        self.transport = MockTransport(self.handle)

    @property
    def requests(self) -> list[Request]:
        """Every request sent so far."""
        return self.transport.requests

    async def handle(self, request: Request) -> MockResponse:
        """Answer one request the way the protocol says."""
        path = request.url.split("?")[0]
        if request.method == "POST" and path == f"{API}/v1/media/uploads":
            if self.create_failures:
                return self.create_failures.pop(0)
            assert isinstance(request.body, bytes)
            fields = json.loads(request.body)
            upload_id = f"med_{len(self.meta) + 1}"
            self.meta[upload_id] = fields
            self.files[upload_id] = bytearray()
            return _json(
                201,
                {
                    "id": upload_id,
                    "status": "pending",
                    "upload_url": f"{self.upload_origin}/up/{upload_id}?token=t",
                    "offset": 0,
                    "size": fields["size"],
                    "url": None,
                    "brand_new_field": [1, 2],
                },
            )
        if request.method == "PUT":
            upload_id = path.rsplit("/", 1)[1]
            assert request.body is not None
            assert not isinstance(request.body, bytes)
            async for chunk in request.body:
                if self.on_chunk is not None:
                    self.on_chunk(len(chunk))
                self.files[upload_id] += chunk
            if self.put_answer is not None:
                answer = self.put_answer(upload_id)
                if answer is not None:
                    return answer
            offset = len(self.files[upload_id])
            status = "received" if offset == self.meta[upload_id]["size"] else "pending"
            return _json(200, {"id": upload_id, "offset": offset, "status": status})
        if request.method == "HEAD":
            upload_id = path.rsplit("/", 1)[1]
            headers = {
                "Upload-Offset": str(len(self.files[upload_id])),
                "Upload-Length": str(self.meta[upload_id]["size"]),
            }
            return MockResponse(status_code=200, headers=headers)
        if request.method == "POST" and path.endswith("/complete"):
            upload_id = path.split("/")[-2]
            data = bytes(self.files[upload_id])
            if hashlib.sha256(data).hexdigest() != self.meta[upload_id]["sha256"]:
                body = {"error": {"type": "invalid_request_error", "code": "checksum_mismatch"}}
                return _json(422, body)
            return _json(
                200, {"id": upload_id, "status": "complete", "url": f"{API}/m/{upload_id}"}
            )
        return _json(404, {"error": {"type": "not_found_error", "code": "not_found"}})


def _json(status: int, body: object, headers: dict[str, str] | None = None) -> MockResponse:
    return MockResponse(
        status_code=status,
        headers={"Content-Type": "application/json", **(headers or {})},
        body=json.dumps(body).encode(),
    )


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    """A directory for the test's media files."""
    return tmp_path


def make_file(directory: Path, name: str, size: int, *, head: bytes = PNG) -> LocalFile:
    """Write a file of ``size`` bytes starting with ``head`` and describe it."""
    path = directory / name
    data = (head + os.urandom(size))[:size]
    path.write_bytes(data)
    return LocalFile(source=path, path=str(path), size=size)


def _sha256_of(path: str) -> str:
    with open(path, "rb") as file:
        return hashlib.sha256(file.read()).hexdigest()


def _read(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()


def _rewrite(path: str, data: bytes) -> None:
    with open(path, "wb") as file:
        file.write(data)


@pytest.fixture
def server() -> FakeServer:
    """An in-memory protocol server."""
    return FakeServer()


@pytest.fixture
def events() -> list[Event]:
    """Where ``emit`` puts events."""
    return []


@pytest.fixture
def emit(events: list[Event]) -> Callable[[Event], Any]:
    """An event sink recording into ``events``."""

    async def record(event: Event) -> None:
        events.append(event)

    return record


@pytest.fixture
def client_factory(server: FakeServer) -> Callable[..., AsyncClient]:
    """Clients using the fake server's transport."""

    def make(**kwargs: Any) -> AsyncClient:
        return AsyncClient(KEY, base_url=API, transport=server.transport, **kwargs)

    return make


@pytest.mark.anyio
async def test_progress_counts_chunks_the_transport_took(
    server: FakeServer,
    media_dir: Path,
    events: list[Event],
    emit: Callable[[Event], Any],
    client_factory: Callable[..., AsyncClient],
) -> None:
    """A chunk counts as sent only when the transport asks for the next one."""
    size = 3 * CHUNK_SIZE + 123
    file = make_file(media_dir, "a.png", size)
    seen_at_chunk: list[int] = []

    def on_chunk(_length: int) -> None:
        progress = [e.sent for e in events if isinstance(e, UploadProgress)]
        seen_at_chunk.append(progress[-1] if progress else 0)

    server.on_chunk = on_chunk
    async with client_factory() as client:
        urls = await upload_with(client, (file,), emit, FAST)
    assert urls == {file.path: f"{API}/m/med_1"}
    assert seen_at_chunk == [0, CHUNK_SIZE, 2 * CHUNK_SIZE, 3 * CHUNK_SIZE]
    assert events[0] == UploadStarted(source=file.source, size=size)
    progress = [e for e in events if isinstance(e, UploadProgress)]
    assert [e.sent for e in progress] == [CHUNK_SIZE, 2 * CHUNK_SIZE, 3 * CHUNK_SIZE, size]
    assert all(e.total == size and e.source == file.source for e in progress)
    assert events[-1] == UploadCompleted(source=file.source, url=f"{API}/m/med_1", reused=False)
    assert len(events) == 6


@pytest.mark.anyio
async def test_requests_carry_the_protocol_headers(
    server: FakeServer,
    media_dir: Path,
    emit: Callable[[Event], Any],
    client_factory: Callable[..., AsyncClient],
) -> None:
    """Create is JSON with the file's fields; the PUT has Content-Length and Content-Range."""
    file = make_file(media_dir, "chart.png", 5000)
    async with client_factory() as client:
        await upload_with(client, (file,), emit, FAST)
    create, put, complete = server.requests
    assert isinstance(create.body, bytes)
    assert json.loads(create.body) == {
        "filename": "chart.png",
        "content_type": "image/png",
        "size": 5000,
        "sha256": _sha256_of(file.path),
    }
    assert create.headers["Content-Type"] == "application/json"
    assert put.method == "PUT"
    assert put.headers["Content-Length"] == "5000"
    assert put.headers["Content-Range"] == "bytes 0-4999/5000"
    assert put.headers["Content-Type"] == "application/octet-stream"
    assert complete.url == f"{API}/v1/media/uploads/med_1/complete"
    assert all(r.headers["Authorization"] == f"Bearer {KEY}" for r in server.requests)


@pytest.mark.anyio
async def test_no_authorization_to_another_origin(
    media_dir: Path, emit: Callable[[Event], Any]
) -> None:
    """An upload_url on a storage host gets no Authorization header; the API calls do."""
    server = FakeServer(upload_origin=STORAGE)
    file = make_file(media_dir, "a.png", 10)
    async with AsyncClient(KEY, base_url=API, transport=server.transport) as client:
        await upload_with(client, (file,), emit, FAST)
    create, put, complete = server.requests
    assert put.url.startswith(STORAGE)
    assert "Authorization" not in put.headers
    assert KEY not in json.dumps(dict(put.headers))
    assert create.headers["Authorization"] == complete.headers["Authorization"] == f"Bearer {KEY}"


@pytest.mark.anyio
async def test_create_is_retried_on_503_and_429(
    server: FakeServer,
    media_dir: Path,
    emit: Callable[[Event], Any],
    client_factory: Callable[..., AsyncClient],
) -> None:
    """A create answered 503, then 429 with Retry-After 0, is retried and succeeds."""
    server.create_failures = [
        _json(503, {"error": {"type": "api_error", "code": "unavailable"}}),
        _json(429, {"error": {"type": "rate_limit_error"}}, {"Retry-After": "0"}),
    ]
    file = make_file(media_dir, "a.png", 10)
    async with client_factory() as client:
        urls = await upload_with(client, (file,), emit, FAST)
    assert urls[file.path] == f"{API}/m/med_1"
    assert [r.method for r in server.requests] == ["POST", "POST", "POST", "PUT", "POST"]


@pytest.mark.anyio
async def test_create_refused_is_a_media_upload_error(
    server: FakeServer,
    media_dir: Path,
    emit: Callable[[Event], Any],
    client_factory: Callable[..., AsyncClient],
) -> None:
    """A 400 is not retried: MediaUploadError names the file and carries the typed cause."""
    error = {"error": {"type": "invalid_request_error", "code": "invalid_size", "message": "no"}}
    server.create_failures = [_json(400, error)]
    file = make_file(media_dir, "a.png", 10)
    async with client_factory() as client:
        with pytest.raises(MediaUploadError) as caught:
            await upload_with(client, (file,), emit, FAST)
    assert caught.value.source == file.path
    assert isinstance(caught.value.cause, BadRequestError)
    assert caught.value.__cause__ is caught.value.cause
    assert caught.value.cause.code == "invalid_size"
    assert file.path in str(caught.value)
    assert len(server.requests) == 1


@pytest.mark.anyio
async def test_malformed_put_answer_fails(
    server: FakeServer,
    media_dir: Path,
    emit: Callable[[Event], Any],
    client_factory: Callable[..., AsyncClient],
) -> None:
    """A PUT answer that is not the protocol's JSON is an APIResponseValidationError cause."""
    server.put_answer = lambda _id: MockResponse(status_code=200, body=b"<html>")
    file = make_file(media_dir, "a.png", 10)
    async with client_factory() as client:
        with pytest.raises(MediaUploadError) as caught:
            await upload_with(client, (file,), emit, FAST)
    assert isinstance(caught.value.cause, APIResponseValidationError)
    assert all(response.closed for response in server.transport.responses)


@pytest.mark.anyio
async def test_put_that_keeps_nothing_gives_up(
    server: FakeServer,
    media_dir: Path,
    emit: Callable[[Event], Any],
    client_factory: Callable[..., AsyncClient],
) -> None:
    """A server that answers 200 but never moves its offset is not retried forever."""
    server.put_answer = lambda upload_id: _json(
        200, {"id": upload_id, "offset": 0, "status": "pending"}
    )
    file = make_file(media_dir, "a.png", 10)
    async with client_factory() as client:
        with pytest.raises(MediaUploadError) as caught:
            await upload_with(client, (file,), emit, FAST)
    assert isinstance(caught.value.cause, APIResponseValidationError)
    assert [r.method for r in server.requests].count("PUT") == FAST.max_retries + 1


@pytest.mark.anyio
async def test_the_event_sinks_own_error_is_raised_as_is(
    server: FakeServer, media_dir: Path, client_factory: Callable[..., AsyncClient]
) -> None:
    """An error of the caller's event sink surfaces as itself, not as a MediaUploadError."""

    class SinkError(Exception):
        pass

    async def failing(event: Event) -> None:
        if isinstance(event, UploadProgress):
            raise SinkError

    file = make_file(media_dir, "a.png", 2 * CHUNK_SIZE)
    async with client_factory() as client:
        with pytest.raises(SinkError):
            await upload_with(client, (file,), failing, FAST)


@pytest.mark.anyio
async def test_local_problems_send_nothing(
    server: FakeServer,
    media_dir: Path,
    emit: Callable[[Event], Any],
    client_factory: Callable[..., AsyncClient],
) -> None:
    """An unsupported type, even behind a good file, is a ValidationError with zero requests."""
    good = make_file(media_dir, "a.png", 10)
    text = make_file(media_dir, "notes.txt", 10, head=b"plain text")
    async with client_factory() as client:
        with pytest.raises(ValidationError) as caught:
            await upload_with(client, (good, text), emit, FAST)
        assert caught.value.param == "content.media[1]"
        declared = LocalFile(source=good.path, path=good.path, size=10, content_type="text/csv")
        with pytest.raises(ValidationError):
            await upload_with(client, (declared,), emit, FAST)
        os.remove(good.path)
        with pytest.raises(ValidationError) as caught:
            await upload_with(client, (good,), emit, FAST)
        assert caught.value.param == "content.media[0]"
    assert server.requests == []


@pytest.mark.anyio
async def test_a_file_that_changed_since_validation_fails(
    server: FakeServer,
    media_dir: Path,
    emit: Callable[[Event], Any],
    client_factory: Callable[..., AsyncClient],
) -> None:
    """A file whose size changed after it was checked is refused before anything is sent."""
    file = make_file(media_dir, "a.png", 10)
    _rewrite(file.path, PNG + b"longer than before")
    async with client_factory() as client:
        with pytest.raises(MediaUploadError) as caught:
            await upload_with(client, (file,), emit, FAST)
    assert "changed" in str(caught.value)
    assert server.requests == []


@pytest.mark.anyio
async def test_a_retryable_put_status_resumes_from_head(
    server: FakeServer,
    media_dir: Path,
    emit: Callable[[Event], Any],
    client_factory: Callable[..., AsyncClient],
) -> None:
    """A PUT answered 503 after part of the body arrived: HEAD, then the rest from its offset."""
    size = 2 * CHUNK_SIZE + 10
    file = make_file(media_dir, "a.png", size)
    answers = [_json(503, {"error": {"type": "api_error", "code": "unavailable"}})]

    def first_put_fails(upload_id: str) -> MockResponse | None:
        if not answers:
            return None
        del server.files[upload_id][CHUNK_SIZE:]
        return answers.pop()

    server.put_answer = first_put_fails
    async with client_factory() as client:
        urls = await upload_with(client, (file,), emit, FAST)
    assert urls[file.path] == f"{API}/m/med_1"
    assert [r.method for r in server.requests] == ["POST", "PUT", "HEAD", "PUT", "POST"]
    second_put = server.requests[3]
    assert second_put.headers["Content-Range"] == f"bytes {CHUNK_SIZE}-{size - 1}/{size}"
    assert second_put.headers["Content-Length"] == str(size - CHUNK_SIZE)
    assert bytes(server.files["med_1"]) == _read(file.path)


@pytest.mark.anyio
async def test_an_offset_mismatch_sends_from_the_servers_offset(
    server: FakeServer,
    media_dir: Path,
    emit: Callable[[Event], Any],
    client_factory: Callable[..., AsyncClient],
) -> None:
    """A 409 offset_mismatch names the offset to resume from; no HEAD is needed."""
    size = 5000
    file = make_file(media_dir, "a.png", size)
    data = _read(file.path)
    mismatches = [1200]

    def server_was_ahead(upload_id: str) -> MockResponse | None:
        if not mismatches:
            return None
        offset = mismatches.pop()
        server.files[upload_id][:] = data[:offset]
        body = {"error": {"type": "conflict_error", "code": "offset_mismatch"}, "offset": offset}
        return _json(409, body)

    server.put_answer = server_was_ahead
    async with client_factory() as client:
        await upload_with(client, (file,), emit, FAST)
    assert [r.method for r in server.requests] == ["POST", "PUT", "PUT", "POST"]
    assert server.requests[2].headers["Content-Range"] == f"bytes 1200-{size - 1}/{size}"
    assert bytes(server.files["med_1"]) == data
