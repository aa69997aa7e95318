"""Uploads through the real transports to the sandbox over loopback, on every loop."""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest

from socialwrite import AsyncClient
from socialwrite._errors import APIConnectionError, MediaUploadError, UnprocessableEntityError
from socialwrite._media import CHUNK_SIZE
from socialwrite._request import LocalFile
from socialwrite._retry import RetryPolicy
from socialwrite.events import (
    Event,
    PlatformResult,
    UploadCompleted,
    UploadProgress,
    UploadStarted,
    WriteCompleted,
)
from socialwrite.sandbox import Sandbox, SandboxConfig
from socialwrite.sandbox._upload_store import UploadStore
from socialwrite.sandbox._uploads import uploads_of
from socialwrite.sandbox._uploads_config import UploadConfig

from ._uploads import upload_with

pytestmark = [
    pytest.mark.anyio,
    # httpx wraps a streamed body in an async generator of its own and leaves it
    # unfinished when the connection is cut; trio closes it itself, but warns.
    # Only that warning is let through: every other ResourceWarning still fails.
    pytest.mark.filterwarnings(
        "ignore:Async generator 'httpx._content.AsyncIteratorByteStream.__aiter__':ResourceWarning"
    ),
]

PNG = b"\x89PNG\r\n\x1a\n"
FAST = RetryPolicy(max_retries=2, backoff_base=0.0)

SandboxFactory = Callable[..., Sandbox]


@pytest.fixture
def start_sandbox() -> Iterator[SandboxFactory]:
    """Start sandboxes (each on its own thread) with upload settings; stop them after the test."""
    stack: list[Any] = []

    def start(**uploads: Any) -> Sandbox:
        manager = Sandbox(SandboxConfig(uploads=UploadConfig(**uploads))).run_in_thread()
        sandbox = manager.__enter__()
        stack.append(manager)
        return sandbox

    yield start
    for manager in reversed(stack):
        manager.__exit__(None, None, None)


def _store(sandbox: Sandbox) -> UploadStore:
    return uploads_of(sandbox._app)


def _client(sandbox: Sandbox, **kwargs: Any) -> AsyncClient:
    return AsyncClient(sandbox.api_key, base_url=sandbox.base_url, **kwargs)


def make_file(directory: Path, name: str, size: int) -> LocalFile:
    """Write a PNG-looking file of ``size`` random bytes and describe it."""
    path = directory / name
    path.write_bytes((PNG + os.urandom(size))[:size])
    return LocalFile(source=path, path=str(path), size=size)


async def _fetch(url: str) -> httpx.Response:
    return await anyio.to_thread.run_sync(httpx.get, url)


def _content(file: LocalFile) -> bytes:
    with open(file.path, "rb") as handle:
        return handle.read()


class Recorder:
    """An event sink that keeps every event."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def __call__(self, event: Event) -> None:
        """Keep ``event``."""
        self.events.append(event)

    def of(self, kind: type[Any]) -> list[Any]:
        """The events of one class, in order."""
        return [event for event in self.events if isinstance(event, kind)]


async def test_one_streamed_put_then_the_media_url_serves_the_bytes(
    start_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    """A file goes up in one PUT with Content-Length; its media URL serves it with its type."""
    sandbox = start_sandbox()
    file = make_file(tmp_path, "chart.png", 3 * CHUNK_SIZE + 7)
    recorder = Recorder()
    async with _client(sandbox) as client:
        urls = await upload_with(client, (file,), recorder, FAST)
    media = await _fetch(urls[file.path])
    assert media.status_code == 200
    assert media.headers["content-type"] == "image/png"
    assert media.content == _content(file)
    stats = _store(sandbox).stats()
    assert len(stats.puts) == 1
    assert stats.puts[0].content_length == file.size
    assert (stats.puts[0].start, stats.puts[0].end) == (0, file.size - 1)
    assert stats.creates == stats.complete_requests == 1
    assert stats.head_requests == 0
    sent = [event.sent for event in recorder.of(UploadProgress)]
    assert sent == [CHUNK_SIZE, 2 * CHUNK_SIZE, 3 * CHUNK_SIZE, file.size]
    assert recorder.events[0] == UploadStarted(source=file.source, size=file.size)
    assert recorder.events[-1] == UploadCompleted(source=file.source, url=urls[file.path])


async def test_a_dropped_put_resumes_from_the_servers_offset(
    start_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    """After a cut mid-body, HEAD and one PUT from the kept offset: at most one chunk again."""
    cut = CHUNK_SIZE + CHUNK_SIZE // 2 + 3
    sandbox = start_sandbox(drop_put_after=cut)
    file = make_file(tmp_path, "a.png", 4 * CHUNK_SIZE + 11)
    recorder = Recorder()
    async with _client(sandbox) as client:
        urls = await upload_with(client, (file,), recorder, FAST)
    assert (await _fetch(urls[file.path])).content == _content(file)
    stats = _store(sandbox).stats()
    assert [(put.start, put.end) for put in stats.puts] == [
        (0, file.size - 1),
        (cut, file.size - 1),
    ]
    assert stats.head_requests == 1
    (upload_id,) = stats.bytes_received
    assert stats.bytes_received[upload_id] <= file.size + CHUNK_SIZE
    assert recorder.of(UploadProgress)[-1].sent == file.size
    assert recorder.of(UploadCompleted) == [
        UploadCompleted(source=file.source, url=urls[file.path], reused=False)
    ]


async def test_drops_without_progress_give_up_after_max_retries(
    start_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    """PUTs cut before any byte arrives are resumed max_retries times, then it fails."""
    sandbox = start_sandbox(drop_put_after=0, drop_put_times=100)
    file = make_file(tmp_path, "a.png", 2 * CHUNK_SIZE)
    async with _client(sandbox) as client:
        with pytest.raises(MediaUploadError) as caught:
            await upload_with(client, (file,), Recorder(), FAST)
    assert isinstance(caught.value.cause, APIConnectionError)
    assert caught.value.source == file.path
    stats = _store(sandbox).stats()
    assert stats.put_requests == FAST.max_retries + 1
    assert stats.head_requests == FAST.max_retries
    assert stats.complete_requests == 0


async def test_a_checksum_mismatch_starts_again_once(
    start_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    """Damaged bytes fail complete with 422; the upload starts again from create and succeeds."""
    sandbox = start_sandbox(corrupt_uploads=1)
    file = make_file(tmp_path, "a.png", CHUNK_SIZE + 5)
    async with _client(sandbox) as client:
        urls = await upload_with(client, (file,), Recorder(), FAST)
    assert (await _fetch(urls[file.path])).content == _content(file)
    stats = _store(sandbox).stats()
    assert stats.checksum_mismatches == 1
    assert stats.creates == 2
    assert stats.complete_requests == 2


async def test_a_second_checksum_mismatch_fails(
    start_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    """When the restarted upload is damaged too, the write fails with the 422 as its cause."""
    sandbox = start_sandbox(corrupt_uploads=2)
    file = make_file(tmp_path, "a.png", 1000)
    async with _client(sandbox) as client:
        with pytest.raises(MediaUploadError) as caught:
            await upload_with(client, (file,), Recorder(), FAST)
    cause = caught.value.cause
    assert isinstance(cause, UnprocessableEntityError)
    assert cause.code == "checksum_mismatch"
    assert caught.value.__cause__ is cause
    assert _store(sandbox).stats().creates == 2


async def test_a_foreign_upload_url_never_gets_the_api_key(
    start_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    """The storage origin, and its resume HEAD, see no Authorization header at all."""
    sandbox = start_sandbox(foreign_origin=True, drop_put_after=CHUNK_SIZE)
    file = make_file(tmp_path, "a.png", 3 * CHUNK_SIZE)
    async with _client(sandbox) as client:
        urls = await upload_with(client, (file,), Recorder(), FAST)
    assert (await _fetch(urls[file.path])).content == _content(file)
    stats = _store(sandbox).stats()
    assert [put.storage_origin for put in stats.puts] == [True, True]
    assert stats.head_requests == 1
    assert stats.storage_requests >= 4
    assert stats.storage_authorization_headers == 0


async def test_the_same_content_is_uploaded_once(
    start_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    """One path twice, and a copy under another name, make one upload; all get one URL."""
    sandbox = start_sandbox()
    file = make_file(tmp_path, "a.png", CHUNK_SIZE + 1)
    copy_path = tmp_path / "copy.png"
    copy_path.write_bytes(_content(file))
    copy = LocalFile(source=copy_path, path=str(copy_path), size=file.size)
    recorder = Recorder()
    async with _client(sandbox) as client:
        urls = await upload_with(client, (file, copy, file), recorder, FAST)
    assert urls[file.path] == urls[copy.path]
    stats = _store(sandbox).stats()
    assert (stats.creates, stats.put_requests, stats.complete_requests) == (1, 1, 1)
    completed = recorder.of(UploadCompleted)
    assert sorted(event.reused for event in completed) == [False, True]
    assert len(recorder.of(UploadStarted)) == 2


async def test_the_client_cache_and_the_server_skip_known_bytes(
    start_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    """A later write of the same bytes sends nothing; a fresh client learns it from create."""
    sandbox = start_sandbox()
    file = make_file(tmp_path, "a.png", 5000)
    async with _client(sandbox) as client:
        first = await upload_with(client, (file,), Recorder(), FAST)
        before = _store(sandbox).stats()
        cached = Recorder()
        second = await upload_with(client, (file,), cached, FAST)
        assert _store(sandbox).stats().creates == before.creates
    assert second == first
    assert cached.of(UploadCompleted) == [
        UploadCompleted(source=file.source, url=first[file.path], reused=True)
    ]
    assert cached.of(UploadProgress) == []
    async with _client(sandbox) as fresh:
        deduped = Recorder()
        third = await upload_with(fresh, (file,), deduped, FAST)
    assert third == first
    stats = _store(sandbox).stats()
    assert (stats.creates, stats.put_requests) == (2, 1)
    assert deduped.of(UploadCompleted)[0].reused is True


async def test_uploads_run_at_most_upload_concurrency_at_once(
    start_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    """Eight files, concurrency 4, a server holding each PUT: exactly 4 PUTs in flight at most."""
    sandbox = start_sandbox(put_delay=0.3)
    files = tuple(make_file(tmp_path, f"{index}.png", 20_000) for index in range(8))
    async with _client(sandbox, upload_concurrency=4) as client:
        urls = await upload_with(client, files, Recorder(), FAST)
    assert len(set(urls.values())) == 8
    stats = _store(sandbox).stats()
    assert stats.put_requests == 8
    assert stats.max_puts_in_flight == 4


def _open_paths() -> set[str]:
    paths = set()
    for name in os.listdir("/proc/self/fd"):
        # A descriptor may close between the listing and the readlink.
        with contextlib.suppress(OSError):
            paths.add(os.readlink(f"/proc/self/fd/{name}"))
    return paths


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
async def test_cancelling_mid_upload_closes_files_and_connections(
    start_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    """Cancelled while the server holds the PUTs: every file is closed, nothing leaks."""
    sandbox = start_sandbox(put_delay=1.0)
    files = tuple(make_file(tmp_path, f"{index}.png", 2 * CHUNK_SIZE) for index in range(3))
    store = _store(sandbox)
    async with _client(sandbox) as client:
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as task_group:
                task_group.start_soon(upload_with, client, files, Recorder(), FAST)
                # The server runs on its own thread: its counters can only be polled.
                while store.stats().puts_in_flight < len(files):  # noqa: ASYNC110
                    await anyio.sleep(0.01)
                scope.cancel()
        assert scope.cancelled_caught
        assert not {file.path for file in files} & _open_paths()
    gc.collect()
    assert not {file.path for file in files} & _open_paths()


async def test_a_write_with_a_local_file_publishes_its_media_url(
    start_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    """Through client.write: uploads first (their events before any platform's), then publish."""
    sandbox = start_sandbox()
    file = make_file(tmp_path, "chart.png", 3000)
    async with (
        _client(sandbox) as client,
        client.write(platforms=["x"], content={"text": "hi", "media": file.path}) as stream,
    ):
        events = [event async for event in stream.events()]
    kinds = [type(event) for event in events]
    assert kinds[0] is UploadStarted
    last_upload = max(i for i, kind in enumerate(kinds) if kind is UploadCompleted)
    first_platform = kinds.index(PlatformResult)
    assert last_upload < first_platform
    assert kinds[-1] is WriteCompleted
    (post,) = sandbox.published()
    completed = next(event for event in events if isinstance(event, UploadCompleted))
    assert post.media == (completed.url,)


async def test_a_failed_upload_publishes_nothing(
    start_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    """When an upload fails for good, client.write raises MediaUploadError and posts nothing."""
    sandbox = start_sandbox(corrupt_uploads=2)
    file = make_file(tmp_path, "a.png", 3000)
    async with _client(sandbox) as client:
        with pytest.raises(MediaUploadError) as caught:
            await client.write(platforms=["x"], content={"text": "hi", "media": file.path})
    assert caught.value.source == file.path
    assert sandbox.published() == []
    assert sandbox.stats.writes_received == 0
