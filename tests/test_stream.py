"""Streamed writes: order, resume after a drop, and structured cleanup on every exit path."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anyio
import pytest

import socialwrite
from socialwrite import AsyncClient, PlatformResult
from socialwrite._transport._mock import MockResponse, MockTransport
from socialwrite.events import PlatformStatus, WriteCompleted
from socialwrite.sandbox import Sandbox, SandboxConfig

pytestmark = pytest.mark.anyio

MEDIA = "https://images.example.com/a.jpg"
RESULTS: list[dict[str, Any]] = [
    {"platform": "x", "success": True, "post_id": "1", "url": "https://x.com/u/status/1"},
    {"platform": "instagram", "success": True, "post_id": "2", "url": "https://ig/p/2/"},
]
DONE = {"results": RESULTS, "credits_used": 0.015}


def frame(event_id: int, name: str, data: Any) -> bytes:
    """One SSE event."""
    return f"id: {event_id}\nevent: {name}\ndata: {json.dumps(data)}\n\n".encode()


def sse(*frames: bytes, fail: bool = False) -> MockResponse:
    """A streamed answer; with fail=True the connection breaks after the frames."""

    def chunks() -> Iterator[bytes]:
        yield from frames
        if fail:
            msg = "connection reset"
            raise socialwrite.APIConnectionError(msg)

    return MockResponse(
        status_code=200, headers={"Content-Type": "text/event-stream"}, body=chunks()
    )


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """A sandbox where instagram is slow, so x always resolves first."""
    config = SandboxConfig(latency={"x": 0.01, "instagram": 0.3})
    with Sandbox(config).run_in_thread() as running:
        yield running


def client_for(sandbox: Sandbox) -> AsyncClient:
    """A client bound to the sandbox."""
    return AsyncClient(sandbox.api_key, base_url=sandbox.base_url)


async def test_resume_after_a_drop_never_repeats_a_result() -> None:
    """A stream that breaks is re-sent with the same key and Last-Event-ID; x comes once."""
    answers = iter(
        [
            sse(frame(1, "status", {"index": 1, "state": "queued", "progress": None}),
                frame(2, "result", {"index": 0, **RESULTS[0]}), fail=True),
            # A server that replays from the start: the client still yields x once.
            sse(frame(1, "status", {"index": 1, "state": "queued", "progress": None}),
                frame(2, "result", {"index": 0, **RESULTS[0]}),
                frame(3, "result", {"index": 1, **RESULTS[1]}),
                frame(4, "done", DONE)),
        ]
    )  # fmt: skip
    transport = MockTransport(lambda request: next(answers))
    async with AsyncClient("k", base_url="https://api.example.com", transport=transport) as client:
        async with client.write(
            platforms=["x", "instagram"], content={"text": "hi", "media": MEDIA}
        ) as stream:
            seen = [r.platform async for r in stream]
    assert seen == ["x", "instagram"]
    first, second = transport.requests
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    assert "Last-Event-ID" not in first.headers
    assert second.headers["Last-Event-ID"] == "2"
    assert stream.result.retries == 1
    assert all(r.closed for r in transport.responses)


async def test_plain_json_server_is_a_clean_fallback() -> None:
    """A server that answers JSON to a stream request: all results at once, request order."""
    body = json.dumps(DONE).encode()
    transport = MockTransport(
        lambda request: MockResponse(headers={"Content-Type": "application/json"}, body=body)
    )
    async with AsyncClient("k", base_url="https://api.example.com", transport=transport) as client:
        async with client.write(platforms=["x", "instagram"], content={"text": "hi"}) as stream:
            events = [event async for event in stream.events()]
    assert [type(e) for e in events] == [PlatformResult, PlatformResult, WriteCompleted]
    assert [e.platform for e in events[:2]] == ["x", "instagram"]  # type: ignore[union-attr]


async def test_error_event_raises_its_error_without_retrying() -> None:
    """An error event after the stream began raises the typed error; no retry replays it."""
    error = {"error": {"type": "api_error", "code": "publish_failed", "message": "gone"}}
    transport = MockTransport(lambda request: sse(frame(1, "error", error)))
    async with AsyncClient("k", base_url="https://api.example.com", transport=transport) as client:
        async with client.write(platforms=["x"], content={"text": "hi"}) as stream:
            with pytest.raises(socialwrite.InternalServerError) as info:
                await stream.get_final_result()
    assert info.value.code == "publish_failed"
    assert len(transport.requests) == 1


async def test_malformed_result_event_is_skipped_and_done_decides() -> None:
    """A result event with junk data is skipped; the done event's result is yielded instead."""
    answer = sse(
        frame(1, "result", {"index": 7}),
        frame(2, "result", {"index": 0, "platform": "x", "success": "yes"}),
        frame(3, "done", {"results": [RESULTS[0]], "credits_used": 0.0075}),
    )
    transport = MockTransport(lambda request: answer)
    async with AsyncClient("k", base_url="https://api.example.com", transport=transport) as client:
        async with client.write(platforms=["x"], content={"text": "hi"}) as stream:
            yielded = [result async for result in stream]
    assert [(r.platform, r.post_id) for r in yielded] == [("x", "1")]
    assert len(transport.requests) == 1


async def test_malformed_done_event_is_response_validation_error() -> None:
    """A done event with junk data raises APIResponseValidationError, keeping the data."""
    done = {"results": [{"platform": "x", "success": "yes"}], "credits_used": 0}
    transport = MockTransport(lambda request: sse(frame(1, "done", done)))
    async with AsyncClient("k", base_url="https://api.example.com", transport=transport) as client:
        async with client.write(platforms=["x"], content={"text": "hi"}) as stream:
            with pytest.raises(socialwrite.APIResponseValidationError) as caught:
                await stream.get_final_result()
    assert caught.value.body == done
    assert caught.value.idempotency_key == stream.idempotency_key


async def test_awaited_write_decodes_only_the_aggregate() -> None:
    """Awaited, a junk status event is not even decoded: the done event decides."""
    answer = sse(
        frame(1, "status", {"index": "junk"}),
        frame(2, "result", {"index": 0, **RESULTS[0]}),
        frame(3, "done", {"results": [RESULTS[0]], "credits_used": 0.0075}),
    )
    transport = MockTransport(lambda request: answer)
    async with AsyncClient("k", base_url="https://api.example.com", transport=transport) as client:
        result = await client.write(platforms=["x"], content={"text": "hi"})
    assert result.ok


async def test_completion_order_and_aggregate(sandbox: Sandbox) -> None:
    """Results arrive as platforms resolve; stream.result is the request-ordered aggregate."""
    async with client_for(sandbox) as client:
        async with client.write(
            platforms=["instagram", "x"], content={"text": "hi", "media": MEDIA}
        ) as stream:
            order = [r.platform async for r in stream]
        assert order == ["x", "instagram"]
        assert [r.platform for r in stream.result.results] == ["instagram", "x"]
        assert stream.result.ok


async def test_events_are_ordered(sandbox: Sandbox) -> None:
    """Statuses come before their platform's result, WriteCompleted last."""
    async with client_for(sandbox) as client:
        async with client.write(
            platforms=["x", "instagram"], content={"text": "hi", "media": MEDIA}
        ) as stream:
            events = [e async for e in stream.events()]
    assert isinstance(events[-1], WriteCompleted)
    for platform in ("x", "instagram"):
        kinds = [
            type(e)
            for e in events
            if isinstance(e, (PlatformStatus, PlatformResult)) and e.platform == platform
        ]
        assert kinds[-1] is PlatformResult
        assert kinds.count(PlatformResult) == 1


async def test_break_cancels_and_closes(sandbox: Sandbox) -> None:
    """Breaking out after the first result ends the work; the client stays usable."""
    async with client_for(sandbox) as client:
        async with client.write(
            platforms=["x", "instagram"], content={"text": "hi", "media": MEDIA}
        ) as stream:
            async for result in stream:
                assert result.platform == "x"
                break
        with pytest.raises(RuntimeError, match="not done"):
            _ = stream.result
        assert (await client.write(platforms=["x"], content={"text": "after"})).ok


async def test_caller_exception_surfaces_as_itself(sandbox: Sandbox) -> None:
    """An exception in the caller's body comes out unwrapped (no ExceptionGroup)."""

    class BoomError(Exception):
        pass

    async with client_for(sandbox) as client:
        with pytest.raises(BoomError):
            async with client.write(platforms=["x", "instagram"], content={"media": MEDIA}):
                raise BoomError


async def test_cancellation_from_outside(sandbox: Sandbox) -> None:
    """A deadline around the stream cancels it cleanly; nothing is left running."""
    async with client_for(sandbox) as client:
        with anyio.move_on_after(0.05) as scope:
            async with client.write(
                platforms=["x", "instagram"], content={"text": "hi", "media": MEDIA}
            ) as stream:
                async for _ in stream:
                    pass
        assert scope.cancelled_caught
        assert (await client.write(platforms=["x"], content={"text": "after"})).ok


async def test_leaving_without_reading(sandbox: Sandbox) -> None:
    """Entering and leaving at once cancels the write without errors or leaks."""
    async with client_for(sandbox) as client:
        async with client.write(platforms=["x"], content={"text": "unread"}) as stream:
            pass
        with pytest.raises(RuntimeError):
            _ = stream.result


async def test_get_final_result_drains(sandbox: Sandbox) -> None:
    """get_final_result() waits for the rest and returns the aggregate."""
    async with client_for(sandbox) as client:
        async with client.write(platforms=["x"], content={"text": "final"}) as stream:
            result = await stream.get_final_result()
    assert result.ok
    assert result is stream.result


async def test_two_hundred_concurrent_streams(sandbox: Sandbox) -> None:
    """200 streams on one client all complete, each publishing once."""
    keys: list[str] = []

    async def one(i: int) -> None:
        async with client.write(platforms=["x"], content={"text": f"stream {i}"}) as stream:
            async for _ in stream:
                pass
        assert stream.result.ok
        keys.append(stream.idempotency_key)

    async with client_for(sandbox) as client:
        async with anyio.create_task_group() as tg:
            for i in range(200):
                tg.start_soon(one, i)
    assert len(keys) == 200
    assert all(sandbox.stats.publishes_for(key) == 1 for key in keys)
