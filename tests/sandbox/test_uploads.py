"""The sandbox's media upload endpoints over loopback, read with plain aiohttp."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
from typing import Any

import aiohttp
import pytest

from socialwrite.sandbox import Sandbox, SandboxConfig
from socialwrite.sandbox._upload_store import UploadStore
from socialwrite.sandbox._uploads import uploads_of
from socialwrite.sandbox._uploads_config import UploadConfig

from ._support import API_KEY, REQUEST_ID, RFC3339_UTC, error_of, serve

pytestmark = pytest.mark.anyio

UPLOADS = "/v1/media/uploads"
DATA = bytes(range(256)) * 40


@pytest.fixture
def anyio_backend() -> str:
    """Serve on the test's own loop, which aiohttp needs to be asyncio."""
    return "asyncio"


def _store(sandbox: Sandbox) -> UploadStore:
    return uploads_of(sandbox._app)


def _fields(data: bytes = DATA, **changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "filename": "chart.png",
        "content_type": "image/png",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    fields.update(changes)
    return fields


def _range(start: int, end: int, total: int) -> dict[str, str]:
    return {
        "Content-Range": f"bytes {start}-{end}/{total}",
        "Content-Type": "application/octet-stream",
    }


async def _create(http: aiohttp.ClientSession, data: bytes = DATA) -> dict[str, Any]:
    async with http.post(UPLOADS, json=_fields(data)) as response:
        assert response.status == 201
        body: dict[str, Any] = await response.json()
    return body


async def _put_on_fresh_connection(url: str, data: bytes, headers: dict[str, str]) -> None:
    """PUT a streamed body and expect the server to cut the connection."""
    headers = {**headers, "Authorization": f"Bearer {API_KEY}"}
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientError):
            await session.put(url, data=_Chunks(data), headers=headers)


class _Chunks:
    """A body of 64 KiB chunks that aiohttp cannot rewind (so it never replays it)."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._position = 0

    def __aiter__(self) -> _Chunks:
        return self

    async def __anext__(self) -> bytes:
        if self._position >= len(self._data):
            raise StopAsyncIteration
        chunk = self._data[self._position : self._position + 65536]
        self._position += len(chunk)
        return chunk


def _without_offset(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key != "offset"}


async def test_create_answers_pending_upload() -> None:
    """A create answers 201 with the protocol's fields and an upload URL on the API origin."""
    async with serve() as (sandbox, http), http.post(UPLOADS, json=_fields()) as response:
        body = await response.json()
        assert response.status == 201
        assert REQUEST_ID.fullmatch(response.headers["X-Request-Id"])
        base_url = sandbox.base_url
    assert body["id"].startswith("med_")
    assert body["status"] == "pending"
    assert body["upload_url"] == f"{base_url}{UPLOADS}/{body['id']}/content"
    assert (body["offset"], body["size"], body["url"]) == (0, len(DATA), None)
    assert body["chunk_size"] == 8 * 1024 * 1024
    assert RFC3339_UTC.fullmatch(body["expires_at"])


@pytest.mark.parametrize(
    ("changes", "status", "code", "param"),
    [
        ({"size": 0}, 400, "invalid_size", "size"),
        ({"size": "10"}, 400, "invalid_type", "size"),
        ({"size": True}, 400, "invalid_type", "size"),
        ({"sha256": "A" * 64}, 400, "invalid_sha256", "sha256"),
        ({"sha256": "ab"}, 400, "invalid_sha256", "sha256"),
        ({"filename": "../chart.png"}, 400, "invalid_filename", "filename"),
        ({"filename": ""}, 400, "invalid_filename", "filename"),
        ({"filename": "a\nb.png"}, 400, "invalid_filename", "filename"),
        ({"content_type": "image"}, 400, "invalid_media_type", "content_type"),
        ({"content_type": "text/plain"}, 415, "unsupported_media_type", "content_type"),
        ({"content_type": "application/pdf"}, 415, "unsupported_media_type", "content_type"),
        ({"size": 2049}, 413, "media_too_large", "size"),
    ],
)
async def test_create_refuses_bad_fields(
    changes: dict[str, Any], status: int, code: str, param: str
) -> None:
    """Bad fields are 400, too large 413, not an image or video 415, with the protocol's body."""
    config = SandboxConfig(uploads=UploadConfig(max_size=2048))
    data = DATA[:2000]
    async with serve(config) as (_, http), http.post(UPLOADS, json=_fields(data, **changes)) as r:
        assert r.status == status
        assert REQUEST_ID.fullmatch(r.headers["X-Request-Id"])
        error_type, error_code, error_param = error_of(await r.json())
    assert (error_type, error_code, error_param) == ("invalid_request_error", code, param)


async def test_create_refuses_missing_field_and_non_json() -> None:
    """A missing field and a body that is not JSON are 400s."""
    fields = _fields()
    del fields["sha256"]
    async with serve() as (_, http):
        async with http.post(UPLOADS, json=fields) as response:
            assert response.status == 400
            assert error_of(await response.json())[1:] == ("parameter_missing", "sha256")
        headers = {"Content-Type": "application/json"}
        async with http.post(UPLOADS, data=b"{nope", headers=headers) as response:
            assert response.status == 400
            assert error_of(await response.json())[1] == "invalid_json"


async def test_upload_endpoints_need_the_api_key() -> None:
    """Create, PUT, HEAD and complete on the API origin answer 401 without the key."""
    async with serve() as (sandbox, http):
        created = await _create(http)
        async with aiohttp.ClientSession() as anonymous:
            async with anonymous.post(sandbox.base_url + UPLOADS, json=_fields()) as response:
                assert response.status == 401
                assert error_of(await response.json())[:2] == (
                    "authentication_error",
                    "missing_api_key",
                )
            headers = _range(0, len(DATA) - 1, len(DATA))
            async with anonymous.put(created["upload_url"], data=DATA, headers=headers) as response:
                assert response.status == 401
            async with anonymous.head(created["upload_url"]) as response:
                assert response.status == 401
            complete = f"{sandbox.base_url}{UPLOADS}/{created['id']}/complete"
            async with anonymous.post(complete) as response:
                assert response.status == 401
    assert _store(sandbox).stats().bytes_received == {}


async def test_full_upload_serves_media_and_dedupes() -> None:
    """PUT, complete, then GET the media URL; a second create of the same bytes is 200 complete."""
    async with serve() as (sandbox, http):
        created = await _create(http)
        headers = _range(0, len(DATA) - 1, len(DATA))
        async with http.put(created["upload_url"], data=DATA, headers=headers) as response:
            assert response.status == 200
            assert await response.json() == {
                "id": created["id"],
                "offset": len(DATA),
                "status": "received",
            }
        async with http.post(f"{UPLOADS}/{created['id']}/complete") as response:
            assert response.status == 200
            done = await response.json()
        assert done == {
            "id": created["id"],
            "status": "complete",
            "url": done["url"],
            "content_type": "image/png",
            "size": len(DATA),
            "sha256": hashlib.sha256(DATA).hexdigest(),
        }
        assert done["url"].endswith(".png")
        async with aiohttp.ClientSession() as anonymous, anonymous.get(done["url"]) as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "image/png"
            assert await response.read() == DATA
        async with http.post(UPLOADS, json=_fields(filename="again.png")) as response:
            assert response.status == 200
            again = await response.json()
        async with http.post(f"{UPLOADS}/{created['id']}/complete") as response:
            assert (await response.json())["url"] == done["url"]
    assert again["status"] == "complete"
    assert again["url"] == done["url"]
    assert again["id"] == created["id"]
    assert _store(sandbox).stats().creates == 2


async def test_consecutive_ranges_and_offset_mismatch() -> None:
    """Ranges append in order; a PUT not at the offset is 409 with the offset at the top level."""
    async with serve() as (sandbox, http):
        created = await _create(http)
        url, size = created["upload_url"], len(DATA)
        async with http.put(url, data=DATA[:1000], headers=_range(0, 999, size)) as response:
            assert await response.json() == {
                "id": created["id"],
                "offset": 1000,
                "status": "pending",
            }
        async with http.put(url, data=DATA[500:], headers=_range(500, size - 1, size)) as response:
            assert response.status == 409
            body = await response.json()
        assert body["offset"] == 1000
        assert error_of(_without_offset(body)) == (
            "conflict_error",
            "offset_mismatch",
            "Content-Range",
        )
        async with http.head(url) as response:
            assert response.status == 200
            assert response.headers["Upload-Offset"] == "1000"
            assert response.headers["Upload-Length"] == str(size)
            assert REQUEST_ID.fullmatch(response.headers["X-Request-Id"])
        async with http.put(
            url, data=DATA[1000:], headers=_range(1000, size - 1, size)
        ) as response:
            assert (await response.json())["status"] == "received"
        async with http.post(f"{UPLOADS}/{created['id']}/complete") as response:
            assert response.status == 200
    stats = _store(sandbox).stats()
    assert [(put.start, put.end) for put in stats.puts] == [
        (0, 999),
        (500, size - 1),
        (1000, size - 1),
    ]
    assert all(put.content_length == put.end - put.start + 1 for put in stats.puts)


@pytest.mark.parametrize(
    ("content_range", "length"),
    [
        (None, None),
        ("bytes 0-9", None),
        ("bytes 0-9/99", None),
        (f"bytes 9-0/{len(DATA)}", None),
        (f"bytes 0-{len(DATA)}/{len(DATA)}", None),
        ("bytes 0-9/" + str(len(DATA)), 11),
    ],
)
async def test_put_refuses_bad_ranges(content_range: str | None, length: int | None) -> None:
    """A missing or malformed Content-Range, or one its Content-Length disagrees with, is 400."""
    headers = {"Content-Type": "application/octet-stream"}
    if content_range is not None:
        headers["Content-Range"] = content_range
    async with serve() as (sandbox, http):
        created = await _create(http)
        data = DATA[: length or 10]
        async with http.put(created["upload_url"], data=data, headers=headers) as response:
            assert response.status == 400
            code = error_of(await response.json())[1]
        async with http.head(created["upload_url"]) as response:
            assert response.headers["Upload-Offset"] == "0"
    assert code in {"invalid_content_range", "invalid_content_length"}
    assert _store(sandbox).stats().put_requests == 1


async def test_unknown_upload_is_404() -> None:
    """PUT, HEAD and complete of an unknown upload answer 404."""
    async with serve() as (_, http):
        async with http.head(f"{UPLOADS}/med_999/content") as response:
            assert response.status == 404
        headers = _range(0, 9, 10)
        async with http.put(f"{UPLOADS}/med_999/content", data=DATA[:10], headers=headers) as r:
            assert r.status == 404
            assert error_of(await r.json())[:2] == ("not_found_error", "upload_not_found")
        async with http.post(f"{UPLOADS}/med_999/complete") as response:
            assert response.status == 404


async def test_complete_before_all_bytes_is_409() -> None:
    """Completing with bytes missing is 409 incomplete_upload, saying the offset."""
    async with serve() as (_, http):
        created = await _create(http)
        headers = _range(0, 99, len(DATA))
        async with http.put(created["upload_url"], data=DATA[:100], headers=headers):
            pass
        async with http.post(f"{UPLOADS}/{created['id']}/complete") as response:
            assert response.status == 409
            body = await response.json()
    assert body["offset"] == 100
    assert error_of(_without_offset(body))[:2] == ("conflict_error", "incomplete_upload")


async def test_checksum_mismatch_discards_the_upload() -> None:
    """Bytes that do not hash to the declared sha256 are 422 and the upload is gone."""
    config = SandboxConfig(uploads=UploadConfig(corrupt_uploads=1))
    async with serve(config) as (sandbox, http):
        created = await _create(http)
        headers = _range(0, len(DATA) - 1, len(DATA))
        async with http.put(created["upload_url"], data=DATA, headers=headers) as response:
            assert response.status == 200
        async with http.post(f"{UPLOADS}/{created['id']}/complete") as response:
            assert response.status == 422
            assert error_of(await response.json()) == (
                "invalid_request_error",
                "checksum_mismatch",
                "sha256",
            )
        async with http.head(created["upload_url"]) as response:
            assert response.status == 404
        second = await _create(http)
        async with http.put(second["upload_url"], data=DATA, headers=headers):
            pass
        async with http.post(f"{UPLOADS}/{second['id']}/complete") as response:
            assert response.status == 200
    assert _store(sandbox).stats().checksum_mismatches == 1


async def test_dropped_put_keeps_the_bytes_that_arrived() -> None:
    """A PUT cut after K bytes keeps exactly K; HEAD says K; the rest completes the file."""
    data = os.urandom(3 * 1024 * 1024)
    cut = 1024 * 1024 + 17
    config = SandboxConfig(uploads=UploadConfig(drop_put_after=cut))
    async with serve(config) as (sandbox, http):
        created = await _create(http, data)
        url, size = created["upload_url"], len(data)
        # A streamed body: aiohttp would replay a rewindable one after the cut.
        await _put_on_fresh_connection(url, data, _range(0, size - 1, size))
        async with http.head(url) as response:
            assert response.headers["Upload-Offset"] == str(cut)
        rest = io.BytesIO(data[cut:])
        async with http.put(url, data=rest, headers=_range(cut, size - 1, size)) as response:
            assert (await response.json())["status"] == "received"
        async with http.post(f"{UPLOADS}/{created['id']}/complete") as response:
            media_url = (await response.json())["url"]
        async with http.get(media_url) as response:
            assert await response.read() == data
    stats = _store(sandbox).stats()
    assert stats.max_puts_in_flight == 1
    assert stats.puts_in_flight == 0
    assert stats.bytes_received[created["id"]] >= size


async def test_foreign_origin_upload_url_uses_a_signed_token() -> None:
    """With foreign_origin, upload_url is on another port and authorized by its signature only."""
    config = SandboxConfig(uploads=UploadConfig(foreign_origin=True))
    async with serve(config) as (sandbox, http):
        created = await _create(http)
        url, size = created["upload_url"], len(DATA)
        store = _store(sandbox)
        assert store.storage_origin is not None
        assert url.startswith(store.storage_origin + "/uploads/")
        assert not url.startswith(sandbox.base_url)
        async with aiohttp.ClientSession() as anonymous:
            forged = url[:-4] + ("0000" if not url.endswith("0000") else "1111")
            async with anonymous.put(forged, data=DATA, headers=_range(0, size - 1, size)) as r:
                assert r.status == 403
                assert REQUEST_ID.fullmatch(r.headers["X-Request-Id"])
                assert error_of(await r.json())[:2] == ("permission_error", "invalid_signature")
            bare = url.split("?")[0]
            async with anonymous.head(bare) as response:
                assert response.status == 403
            async with anonymous.put(url, data=DATA, headers=_range(0, size - 1, size)) as r:
                assert r.status == 200
            async with anonymous.head(url) as response:
                assert response.headers["Upload-Offset"] == str(size)
        async with http.post(f"{UPLOADS}/{created['id']}/complete") as response:
            assert response.status == 200
    stats = store.stats()
    assert stats.storage_authorization_headers == 0
    assert stats.storage_requests == 4
    assert [put.storage_origin for put in stats.puts] == [True]


async def test_storage_origin_counts_authorization_headers() -> None:
    """An Authorization header sent to the storage origin is counted (the leak tests rely on it)."""
    config = SandboxConfig(uploads=UploadConfig(foreign_origin=True))
    async with serve(config) as (sandbox, http):
        created = await _create(http)
        async with http.head(created["upload_url"]) as response:
            assert response.status == 200
    assert _store(sandbox).stats().storage_authorization_headers == 1


async def test_expired_upload_is_404_and_deleted() -> None:
    """Past its expiry an upload answers 404 upload_expired and its file is removed."""
    async with serve() as (sandbox, http):
        created = await _create(http)
        store = _store(sandbox)
        assert store.directory is not None
        path = os.path.join(store.directory, created["id"])
        assert os.path.exists(path)  # noqa: ASYNC240 - a local check in a test
        now = store.clock()
        store.clock = lambda: now + store.config.ttl + 1
        async with http.post(f"{UPLOADS}/{created['id']}/complete") as response:
            assert response.status == 404
            assert error_of(await response.json())[1] == "upload_expired"
        assert not os.path.exists(path)  # noqa: ASYNC240 - a local check in a test


async def test_media_urls_404_for_unknown_names() -> None:
    """The storage origin answers unknown media with the protocol's 404 body."""
    async with serve() as (sandbox, _), aiohttp.ClientSession() as anonymous:
        store = _store(sandbox)
        async with anonymous.get(f"{store.storage_origin}/media/med_1.png") as response:
            assert response.status == 404
            assert REQUEST_ID.fullmatch(response.headers["X-Request-Id"])
            assert error_of(await response.json())[1] == "media_not_found"


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/v1/social/write", 404, "not_found"),
        ("GET", "/uploads/med_1", 404, "not_found"),
        ("DELETE", "/media/med_1.png", 405, "method_not_allowed"),
    ],
)
async def test_storage_origin_answers_errors_like_the_api(
    method: str, path: str, status: int, code: str
) -> None:
    """The storage origin shares the API's error layer: protocol bodies and request ids."""
    async with serve() as (sandbox, _), aiohttp.ClientSession() as anonymous:
        origin = _store(sandbox).storage_origin
        async with anonymous.request(method, f"{origin}{path}") as response:
            assert response.status == status
            assert REQUEST_ID.fullmatch(response.headers["X-Request-Id"])
            assert error_of(await response.json())[1] == code
            if status == 405:
                assert "GET" in response.headers["Allow"]
    # Counted whatever the answer, as a leak of the API key would be.
    assert _store(sandbox).stats().storage_requests == 1


async def test_concurrent_puts_are_counted() -> None:
    """With a put_delay, concurrent PUTs of different uploads overlap in the counters."""
    config = SandboxConfig(uploads=UploadConfig(put_delay=0.2))
    async with serve(config) as (sandbox, http):
        files = [os.urandom(1000) for _ in range(3)]
        created = [await _create(http, data) for data in files]

        async def put(upload: dict[str, Any], data: bytes) -> int:
            headers = _range(0, len(data) - 1, len(data))
            async with http.put(upload["upload_url"], data=data, headers=headers) as response:
                return response.status

        statuses = await asyncio.gather(*(put(u, d) for u, d in zip(created, files, strict=True)))
    assert statuses == [200, 200, 200]
    stats = _store(sandbox).stats()
    assert stats.max_puts_in_flight == 3
    assert stats.puts_in_flight == 0
    assert stats.put_requests == 3


async def test_stopping_removes_the_upload_directory() -> None:
    """The temporary directory of received bytes is gone once the sandbox stops."""
    async with serve() as (sandbox, http):
        await _create(http)
        directory = _store(sandbox).directory
        assert directory is not None
        assert os.listdir(directory)
    assert not os.path.exists(directory)  # noqa: ASYNC240 - a local check in a test
    assert _store(sandbox).directory is None


def test_threaded_sandbox_serves_uploads() -> None:
    """The thread-run sandbox mounts the uploads too (what the SDK's tests use)."""
    import httpx

    with Sandbox().run_in_thread() as sandbox:
        headers = {"Authorization": f"Bearer {API_KEY}"}
        response = httpx.post(f"{sandbox.base_url}{UPLOADS}", json=_fields(), headers=headers)
    assert response.status_code == 201
