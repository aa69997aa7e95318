"""The sandbox on its own thread, used from asyncio, trio and blocking code via httpx."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator

import anyio
import httpx
import pytest
import trio

from socialwrite.sandbox import PublishedPost, Sandbox, SandboxConfig

from ._support import AUTH, MEDIA_URL, PUBLISHED, REQUEST_ID, SEED_BODY, STREAM, WRITE


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A sandbox served from a background thread for the length of one test."""
    with Sandbox(SandboxConfig(latency={"instagram": 0.1})).run_in_thread() as running:
        yield running


def _server_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "socialwrite-sandbox"]


@pytest.mark.anyio
async def test_write_from_any_event_loop(sandbox: Sandbox) -> None:
    """On asyncio and on trio, a write through httpx reaches the threaded sandbox."""
    async with httpx.AsyncClient(base_url=sandbox.base_url, headers=AUTH) as http:
        response = await http.post(WRITE, json=SEED_BODY, headers={"Idempotency-Key": "k"})
        replay = await http.post(WRITE, json=SEED_BODY, headers={"Idempotency-Key": "k"})
    assert response.status_code == 200
    assert REQUEST_ID.fullmatch(response.headers["X-Request-Id"])
    assert [result["success"] for result in response.json()["results"]] == [True, True]
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.text == response.text
    assert sandbox.stats.publishes_for("k") == 2
    assert all(isinstance(post, PublishedPost) for post in sandbox.published())


@pytest.mark.anyio
async def test_stream_from_any_event_loop(sandbox: Sandbox) -> None:
    """On asyncio and on trio, httpx reads the threaded sandbox's event stream to done."""
    async with (
        httpx.AsyncClient(base_url=sandbox.base_url, headers=AUTH) as http,
        http.stream("POST", WRITE, json=SEED_BODY, headers=STREAM) as response,
    ):
        assert response.headers["Content-Type"] == "text/event-stream"
        names = [
            line.removeprefix("event: ")
            async for line in response.aiter_lines()
            if line.startswith("event: ")
        ]
    assert names[-1] == "done"
    assert names.count("result") == 2


@pytest.mark.anyio
async def test_concurrent_same_key_writes_from_any_event_loop(sandbox: Sandbox) -> None:
    """Racing same-key requests from one task group publish once."""
    texts: list[str] = []
    async with httpx.AsyncClient(base_url=sandbox.base_url, headers=AUTH) as http:

        async def send() -> None:
            response = await http.post(WRITE, json=SEED_BODY, headers={"Idempotency-Key": "r"})
            texts.append(response.text)

        async with anyio.create_task_group() as group:
            for _ in range(4):
                group.start_soon(send)
    assert len(set(texts)) == 1
    assert sandbox.stats.publishes_for("r") == 2


def test_blocking_code_can_use_the_sandbox(sandbox: Sandbox) -> None:
    """Plain blocking code writes, inspects and clears through the threaded sandbox."""
    with httpx.Client(base_url=sandbox.base_url, headers=AUTH) as http:
        response = http.post(WRITE, json={"platforms": ["x"], "content": {"text": "hi"}})
        assert response.status_code == 200
        listing = http.get(PUBLISHED).json()
        assert [post["platform"] for post in listing["posts"]] == ["x"]
        sandbox.clear()
        assert http.get(PUBLISHED).json()["posts"] == []
    assert sandbox.published() == []


def test_start_and_stop_leave_nothing_behind(caplog: pytest.LogCaptureFixture) -> None:
    """Leaving run_in_thread joins the thread, closes the port and leaves no pending task."""
    caplog.set_level(logging.WARNING)
    before = len(_server_threads())
    config = SandboxConfig(latency={"instagram": 30.0})
    with Sandbox(config).run_in_thread() as sandbox:
        assert sandbox.base_url.startswith("http://127.0.0.1:")
        assert sandbox.api_key == "sandbox"
        port = int(sandbox.base_url.rsplit(":", 1)[1])
        assert len(_server_threads()) == before + 1
        with (
            httpx.Client(base_url=sandbox.base_url, headers=AUTH) as http,
            http.stream("POST", WRITE, json=SEED_BODY, headers=STREAM) as response,
        ):
            # Stop while instagram is still processing and the stream is open.
            for line in response.iter_lines():
                if line == "event: result":
                    break
    assert len(_server_threads()) == before
    with pytest.raises(RuntimeError, match="not running"):
        _ = sandbox.base_url
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", port), timeout=1),
    ):
        pass
    assert [post.platform for post in sandbox.published()] == ["x"]
    assert not [record for record in caplog.records if record.name == "asyncio"]


def test_a_busy_port_raises_in_the_callers_thread() -> None:
    """A port already in use raises OSError from run_in_thread, and no thread is left."""
    before = len(_server_threads())
    with Sandbox().run_in_thread() as first:
        port = int(first.base_url.rsplit(":", 1)[1])
        with pytest.raises(OSError, match=r"(?i)in use"), Sandbox(port=port).run_in_thread():
            pass
    assert len(_server_threads()) == before


def test_a_sandbox_runs_only_once() -> None:
    """Starting a stopped sandbox again is refused with a clear error."""
    sandbox = Sandbox()
    with sandbox.run_in_thread():
        pass
    with pytest.raises(RuntimeError, match="already started"), sandbox.run_in_thread():
        pass


def test_async_with_under_trio_says_to_use_a_thread() -> None:
    """On trio, ``async with Sandbox()`` fails with a message pointing to run_in_thread."""

    async def main() -> None:
        async with Sandbox():
            pass

    with pytest.raises(RuntimeError, match="run_in_thread"):
        trio.run(main)


def test_published_records_every_field(sandbox: Sandbox) -> None:
    """PublishedPost carries the formatted text, media, alt text, options, key and time."""
    body = {
        "platforms": ["instagram"],
        "content": {"text": "hello", "media": MEDIA_URL, "alt_text": "a chart"},
        "options": {"instagram": {"format": "feed"}},
    }
    with httpx.Client(base_url=sandbox.base_url, headers=AUTH) as http:
        result = http.post(WRITE, json=body, headers={"Idempotency-Key": "fields"}).json()
    (post,) = sandbox.published()
    (answer,) = result["results"]
    assert (post.platform, post.post_id, post.url) == (
        "instagram",
        answer["post_id"],
        answer["url"],
    )
    assert (post.text, post.media, post.alt_text) == ("hello", (MEDIA_URL,), ("a chart",))
    assert post.options == {"format": "feed"}
    assert post.idempotency_key == "fields"
    assert post.published_at.tzinfo is not None
    assert post.published_at.strftime("%Y-%m-%dT%H:%M:%SZ") == answer["published_at"]


def test_stopping_ends_open_streams(caplog: pytest.LogCaptureFixture) -> None:
    """A stream still open when the sandbox stops ends without done; the stop stays clean."""
    caplog.set_level(logging.WARNING)
    config = SandboxConfig(latency={"instagram": 30.0})
    with httpx.Client(headers=AUTH, timeout=10.0) as http:
        with Sandbox(config).run_in_thread() as sandbox:
            request = http.build_request(
                "POST", sandbox.base_url + WRITE, json=SEED_BODY, headers=STREAM
            )
            response = http.send(request, stream=True)
            lines = response.iter_lines()
            for line in lines:
                if line == "event: result":
                    break
        rest = list(lines)
        response.close()
    assert "event: done" not in rest
    assert [post.platform for post in sandbox.published()] == ["x"]
    assert not [record for record in caplog.records if record.name == "asyncio"]
