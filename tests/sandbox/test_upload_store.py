"""The upload store without a server: its state is driven directly, no HTTP involved."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from typing import Any

import pytest

from socialwrite.sandbox._protocol import ProtocolError
from socialwrite.sandbox._upload_store import OffsetError, UploadStore
from socialwrite.sandbox._uploads_config import UploadConfig

pytestmark = pytest.mark.anyio

DATA = bytes(range(256)) * 8
STORAGE = "http://storage.test"
API = "http://api.test"


@pytest.fixture
def anyio_backend() -> str:
    """The store's locks are asyncio's."""
    return "asyncio"


@pytest.fixture
def store() -> Iterator[UploadStore]:
    """A started store (its temporary directory made), stopped afterwards."""
    store = UploadStore(UploadConfig())
    store.start(STORAGE)
    yield store
    store.stop()


def _fields(data: bytes = DATA, **changes: Any) -> dict[str, Any]:
    return {
        "filename": "chart.png",
        "content_type": "image/png",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        **changes,
    }


def _range(start: int, end: int, total: int = len(DATA)) -> str:
    return f"bytes {start}-{end}/{total}"


async def _put(store: UploadStore, upload_id: str, start: int, data: bytes) -> dict[str, Any]:
    end = start + len(data) - 1
    async with store.put(upload_id, _range(start, end), len(data), storage=False) as append:
        for offset in range(0, len(data), 100):
            assert append.feed(data[offset : offset + 100])
        return append.answer()


async def test_create_put_complete_without_a_server(store: UploadStore) -> None:
    """Two PUTs append at the offset; complete verifies the digest and names the media URL."""
    status, created = store.create(_fields(), API)
    assert status == 201
    assert created["upload_url"] == f"{API}/v1/media/uploads/{created['id']}/content"
    half = len(DATA) // 2
    assert await _put(store, created["id"], 0, DATA[:half]) == {
        "id": created["id"],
        "offset": half,
        "status": "pending",
    }
    assert (await _put(store, created["id"], half, DATA[half:]))["status"] == "received"
    assert (await store.settled(created["id"])).offset == len(DATA)
    media = await store.complete(created["id"])
    assert media["url"] == f"{STORAGE}/media/{created['id']}.png"
    assert store.media_facts(media["url"]) == ("image/png", len(DATA))
    with open(store.media(f"{created['id']}.png").path, "rb") as file:  # noqa: ASYNC230
        assert file.read() == DATA
    stats = store.stats()
    assert (stats.creates, stats.put_requests, stats.puts_in_flight) == (1, 2, 0)
    assert stats.bytes_received == {created["id"]: len(DATA)}


async def test_put_at_the_wrong_offset_says_where_to_resume(store: UploadStore) -> None:
    """A PUT that does not start at the offset is refused with the offset to resume from."""
    _, created = store.create(_fields(), API)
    await _put(store, created["id"], 0, DATA[:10])
    with pytest.raises(OffsetError) as caught:
        await _put(store, created["id"], 20, DATA[20:30])
    assert (caught.value.status, caught.value.code) == (409, "offset_mismatch")
    assert caught.value.body()["offset"] == 10


async def test_a_body_longer_than_its_range_keeps_the_range(store: UploadStore) -> None:
    """Bytes past the Content-Range's end are dropped, and the PUT is answered 400."""
    _, created = store.create(_fields(), API)
    async with store.put(created["id"], _range(0, 9), None, storage=False) as append:
        assert not append.feed(DATA[:15])
        with pytest.raises(OffsetError) as caught:
            append.answer()
    assert caught.value.code == "invalid_content_range"
    assert (await store.settled(created["id"])).offset == 10


async def test_a_configured_cut_keeps_what_arrived_once() -> None:
    """drop_put_after cuts the first PUT after that many bytes; the resume is not cut."""
    store = UploadStore(UploadConfig(drop_put_after=100))
    store.start(STORAGE)
    try:
        _, created = store.create(_fields(), API)
        end = len(DATA) - 1
        async with store.put(created["id"], _range(0, end), None, storage=False) as append:
            assert not append.feed(DATA)
            assert append.cut
        assert (await _put(store, created["id"], 100, DATA[100:]))["status"] == "received"
        assert (await store.complete(created["id"]))["status"] == "complete"
    finally:
        store.stop()


async def test_complete_discards_a_mismatched_upload(store: UploadStore) -> None:
    """A digest that does not match discards the upload and its file."""
    _, created = store.create(_fields(sha256="0" * 64), API)
    await _put(store, created["id"], 0, DATA)
    path = store.find(created["id"]).path
    with pytest.raises(ProtocolError) as caught:
        await store.complete(created["id"])
    assert (caught.value.status, caught.value.code) == (422, "checksum_mismatch")
    assert not os.path.exists(path)  # noqa: ASYNC240 - a local check in a test
    with pytest.raises(ProtocolError, match="no upload"):
        store.find(created["id"])


def test_a_store_not_started_refuses_creates() -> None:
    """Before start() (or after stop()) there is nowhere to put bytes: 503."""
    store = UploadStore(UploadConfig())
    with pytest.raises(ProtocolError) as caught:
        store.create(_fields(), API)
    assert (caught.value.status, caught.value.code) == (503, "service_unavailable")
