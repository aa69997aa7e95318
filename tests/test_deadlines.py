"""Deadlines: a write never runs without end, whatever the server keeps sending.

``Timeout.deadline`` bounds the whole write (retries included, uploads not),
``Timeout.progress`` the time between events that move it forward: endless
``: ping`` lines or endless identical statuses are stopped. Small limits with
generous margins; no test measures how long anything took.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import anyio
import attrs
import pytest

import socialwrite
from socialwrite import AsyncClient, RetryPolicy, Timeout, WriteResult
from socialwrite._client import check_timeout
from socialwrite._stream import WriteOperation
from socialwrite._transport import Request
from socialwrite._transport._mock import MockResponse, MockTransport

from ._vendor import Answer, dripping, vendor_server

pytestmark = pytest.mark.anyio

KEY = "sk_live_0123456789abcdef"
API = "https://api.example.com"
WRITE = "/v1/social/write"
RESULT = {"platform": "x", "success": True, "post_id": "1", "url": "https://x.com/u/status/1"}
DONE = {"results": [RESULT], "credits_used": 0.0075}
# Limits far below the tests' own guard (GUARD), and far above one event's gap (GAP).
LIMIT = 0.3
GAP = 0.01
GUARD = 20.0


def frame(event_id: int, name: str, data: Any) -> bytes:
    """One SSE event."""
    return f"id: {event_id}\nevent: {name}\ndata: {json.dumps(data)}\n\n".encode()


def pings() -> Iterator[bytes]:
    """A queued status, then keep-alives without end."""
    yield frame(1, "status", {"index": 0, "platform": "x", "state": "queued"})
    while True:
        yield b": ping\n\n"


def same_status() -> Iterator[bytes]:
    """The same status without end (each with a new id)."""
    for event_id in itertools.count(1):
        yield frame(event_id, "status", {"index": 0, "platform": "x", "state": "processing"})


def moving_status(count: int | None = None) -> Iterator[bytes]:
    """Statuses whose progress moves each time; then, if ``count`` is given, the result."""
    for event_id in itertools.count(1) if count is None else range(1, count + 1):
        progress = {"progress": event_id / 10**6}
        yield frame(
            event_id, "status", {"index": 0, "platform": "x", "state": "processing", **progress}
        )
    yield frame(10**7, "result", {"index": 0, **RESULT})
    yield frame(10**7 + 1, "done", DONE)


@attrs.define(kw_only=True)
class Drip(MockResponse):
    """A streamed answer whose chunks come ``gap`` seconds apart."""

    gap: float = GAP

    async def aiter_bytes(self) -> AsyncGenerator[bytes, None]:
        """Yield each chunk after a short sleep."""
        assert not isinstance(self.body, bytes)
        for chunk in self.body:
            await anyio.sleep(self.gap)
            yield chunk


def drip(chunks: Iterable[bytes], content_type: str = "text/event-stream") -> Drip:
    """A dripping answer of ``chunks``."""
    return Drip(headers={"Content-Type": content_type}, body=chunks)


def client_on(transport: MockTransport, timeout: Timeout, retries: int = 0) -> AsyncClient:
    """A client on an in-memory transport, retrying without waiting."""
    client = AsyncClient(KEY, base_url=API, transport=transport, timeout=timeout)
    client.retry_policy = RetryPolicy(max_retries=retries, backoff_base=0.0)
    return client


async def finish(operation: WriteOperation, *, streamed: bool) -> WriteResult:
    """Run a write to its end: streamed (reading every event), or awaited."""
    if not streamed:
        return await operation
    async with operation as stream:
        return await stream.get_final_result()


# -- the settings ----------------------------------------------------------------------------


def test_the_defaults_bound_every_write() -> None:
    """A write has a 5-minute deadline and a 2-minute progress limit unless told otherwise."""
    assert (Timeout().deadline, Timeout().progress) == (300.0, 120.0)
    assert (Timeout.coerce(5).deadline, Timeout.coerce(5).progress) == (300.0, 120.0)
    off = Timeout.coerce(None)
    assert (off.deadline, off.progress, off.read, off.total) == (None, None, None, None)


@pytest.mark.parametrize("field", ["deadline", "progress"])
@pytest.mark.parametrize("value", [0, -1.0, True, "5"])
def test_a_bad_limit_is_a_validation_error(field: str, value: Any) -> None:
    """The new limits are checked like the others: positive seconds or None."""
    with pytest.raises(socialwrite.ValidationError, match=f"Timeout.{field} must be a positive"):
        check_timeout(Timeout(**{field: value}))
    assert check_timeout(Timeout(**{field: None})) == Timeout(**{field: None})


# -- progress ---------------------------------------------------------------------------------


@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "awaited"])
@pytest.mark.parametrize("chunks", [pings, same_status], ids=["pings", "same-status"])
async def test_no_progress_is_a_timeout_then_retried(
    streamed: bool, chunks: Callable[[], Iterator[bytes]]
) -> None:
    """Endless keep-alives or identical statuses: APITimeoutError naming the limit; retried."""
    timeout = Timeout(progress=LIMIT, deadline=None)
    with anyio.fail_after(GUARD):
        transport = MockTransport(lambda request: drip(chunks()))
        async with client_on(transport, timeout, retries=1) as client:
            operation = client.write(platforms=["x"], content={"text": "hi"})
            with pytest.raises(socialwrite.APITimeoutError) as caught:
                await finish(operation, streamed=streamed)
    sent = transport.requests
    error = caught.value
    assert "made no progress for 0.3 s (Timeout.progress)" in str(error)
    assert "timeout=Timeout(progress=...)" in str(error)
    assert error.idempotency_key == operation.idempotency_key
    assert len(sent) == 2
    assert "Last-Event-ID" in sent[1].headers  # the retry resumes after what it saw
    assert sent[0].headers["Idempotency-Key"] == sent[1].headers["Idempotency-Key"]


@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "awaited"])
async def test_a_slow_write_that_moves_is_not_stopped(streamed: bool) -> None:
    """Many statuses, each new, over several progress limits: the write completes."""
    timeout = Timeout(progress=LIMIT, deadline=None)
    count = int(4 * LIMIT / GAP)  # at least four limits' worth of sleeps
    with anyio.fail_after(GUARD):
        transport = MockTransport(lambda request: drip(moving_status(count)))
        async with client_on(transport, timeout) as client:
            result = await finish(
                client.write(platforms=["x"], content={"text": "hi"}), streamed=streamed
            )
    assert result.ok
    assert len(transport.requests) == 1


# -- the deadline -----------------------------------------------------------------------------


@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "awaited"])
async def test_endless_progress_meets_the_deadline_and_is_not_retried(streamed: bool) -> None:
    """Statuses that always move, forever: the deadline ends the write, once, with its key."""
    timeout = Timeout(progress=LIMIT, deadline=2 * LIMIT)
    with anyio.fail_after(GUARD):
        transport = MockTransport(lambda request: drip(moving_status()))
        async with client_on(transport, timeout, retries=2) as client:
            operation = client.write(platforms=["x"], content={"text": "hi"})
            with pytest.raises(socialwrite.APITimeoutError) as caught:
                await finish(operation, streamed=streamed)
    sent = transport.requests
    error = caught.value
    assert str(error).startswith(
        "the write did not finish within 0.6 s (Timeout.deadline) and was stopped; it may have "
        "been published: send it again with the same idempotency key"
    )
    assert "timeout=Timeout(deadline=...)" in str(error)
    assert error.idempotency_key == operation.idempotency_key
    assert len(sent) == 1


async def test_a_trickling_json_answer_meets_the_deadline() -> None:
    """A JSON answer sent a byte at a time, forever: the deadline, not the byte cap, ends it."""
    timeout = Timeout(deadline=LIMIT)

    def handler(request: Request) -> MockResponse:
        return drip(itertools.repeat(b" "), content_type="application/json")

    with anyio.fail_after(GUARD):
        transport = MockTransport(handler)
        async with client_on(transport, timeout, retries=2) as client:
            with pytest.raises(socialwrite.APITimeoutError, match=r"Timeout\.deadline"):
                await client.write(platforms=["x"], content={"text": "hi"})
    assert len(transport.requests) == 1


async def test_no_retry_waits_past_the_deadline() -> None:
    """A 503 asking to wait 30 s with 0.3 s left: the deadline's error now, caused by the 503."""
    answer = MockResponse(
        status_code=503,
        headers={"Content-Type": "application/json", "Retry-After": "30"},
        body=b'{"error": {"type": "api_error", "message": "busy"}}',
    )
    with anyio.fail_after(GUARD / 2):  # far less than the 30 s it would otherwise sleep
        transport = MockTransport(lambda request: answer)
        async with client_on(transport, Timeout(deadline=LIMIT), retries=2) as client:
            with pytest.raises(socialwrite.APITimeoutError) as caught:
                await client.write(platforms=["x"], content={"text": "hi"})
    assert len(transport.requests) == 1
    error = caught.value
    assert isinstance(error.__cause__, socialwrite.InternalServerError)
    assert "(Timeout.deadline)" in str(error)
    assert str(error).endswith("; the last attempt failed: InternalServerError: [503] busy")


async def test_the_deadline_starts_after_the_uploads(tmp_path: Path) -> None:
    """A slow upload does not count against the write's deadline (uploads have their own)."""
    path = tmp_path / "chart.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    size = path.stat().st_size
    writes: list[Request] = []

    async def handler(request: Request) -> MockResponse:
        headers = {"Content-Type": "application/json"}
        if request.url.endswith("/v1/media/uploads"):
            created = {"id": "m1", "status": "pending", "offset": 0, "size": size}
            body = {**created, "upload_url": f"{API}/up/m1"}
            return MockResponse(status_code=201, headers=headers, body=json.dumps(body).encode())
        if request.method == "PUT":
            assert request.body is not None
            assert not isinstance(request.body, bytes)
            async for _ in request.body:
                await anyio.sleep(3 * LIMIT)  # longer than the deadline
            body = {"id": "m1", "offset": size, "status": "received"}
            return MockResponse(headers=headers, body=json.dumps(body).encode())
        if request.url.endswith("/complete"):
            body = {"id": "m1", "status": "complete", "url": "https://cdn.example/m1.png"}
            return MockResponse(headers=headers, body=json.dumps(body).encode())
        writes.append(request)
        return MockResponse(headers=headers, body=json.dumps(DONE).encode())

    with anyio.fail_after(GUARD):
        async with client_on(MockTransport(handler), Timeout(deadline=LIMIT)) as client:
            result = await client.write(platforms=["x"], content={"text": "hi", "media": str(path)})
    assert result.ok
    assert len(writes) == 1


# -- over real sockets, every loop and transport -------------------------------------------------


async def test_a_real_server_sending_only_pings() -> None:
    """Keep-alives over a socket, forever: the progress limit stops each attempt."""
    headers = {"Content-Type": "text/event-stream"}
    answers = {("POST", WRITE): Answer(200, headers, dripping(pings(), gap=GAP))}
    timeout = Timeout(progress=LIMIT, deadline=None)
    with vendor_server(answers) as server, anyio.fail_after(GUARD):
        async with AsyncClient(
            KEY, base_url=server.base_url, timeout=timeout, max_retries=0
        ) as client:
            with pytest.raises(socialwrite.APITimeoutError, match=r"Timeout\.progress"):
                await client.write(platforms=["x"], content={"text": "hi"})
    assert server.paths() == [f"POST {WRITE}"]


async def test_a_real_server_sending_endless_statuses() -> None:
    """Ever-moving statuses over a socket: the deadline stops the write, not retried."""
    headers = {"Content-Type": "text/event-stream"}
    answers = {("POST", WRITE): Answer(200, headers, dripping(moving_status(), gap=GAP))}
    timeout = Timeout(progress=LIMIT, deadline=2 * LIMIT)
    with vendor_server(answers) as server, anyio.fail_after(GUARD):
        async with AsyncClient(
            KEY, base_url=server.base_url, timeout=timeout, max_retries=2
        ) as client:
            async with client.write(platforms=["x"], content={"text": "hi"}) as stream:
                with pytest.raises(socialwrite.APITimeoutError, match=r"Timeout\.deadline"):
                    await stream.get_final_result()
    assert server.paths() == [f"POST {WRITE}"]


async def test_a_real_silent_server_meets_the_deadline_without_a_read_timeout() -> None:
    """Headers, then silence, with no read timeout: the deadline cuts the wait short."""
    headers = {"Content-Type": "text/event-stream"}
    answers = {("POST", WRITE): Answer(200, headers, dripping([b": late\n\n"], gap=GUARD))}
    timeout = Timeout(read=None, progress=None, deadline=LIMIT)
    with vendor_server(answers) as server, anyio.fail_after(GUARD / 2):
        async with AsyncClient(
            KEY, base_url=server.base_url, timeout=timeout, max_retries=2
        ) as client:
            with pytest.raises(socialwrite.APITimeoutError, match=r"Timeout\.deadline") as caught:
                await client.write(platforms=["x"], content={"text": "hi"})
    assert isinstance(caught.value.__cause__, socialwrite.APITimeoutError)
    assert server.paths() == [f"POST {WRITE}"]
