"""``fan_out=True``: one write request per platform, each result as its own request returns.

Against the in-memory transport (keys, bodies, retries, failures, cleanup,
deterministic order), against a loopback server that answers JSON only with a
delay per platform (completion order, hang-ups), and against the sandbox
(one upload for every platform; the blocking client; the command line).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import anyio.to_thread
import attrs
import pytest
import sniffio
from click.testing import CliRunner

from socialwrite import (
    APIConnectionError,
    AsyncClient,
    AuthenticationError,
    Client,
    InternalServerError,
    PlatformResult,
    ValidationError,
)
from socialwrite._fanout import failed_result
from socialwrite._stream import WriteOperation
from socialwrite._transport import Request, Response, Transport, default_transport
from socialwrite._transport._mock import MockResponse, MockTransport
from socialwrite.cli._app import cli as command_line
from socialwrite.events import (
    Event,
    PlatformStatus,
    UploadCompleted,
    UploadStarted,
    WriteCompleted,
)
from socialwrite.sandbox import Sandbox

from ._json_server import json_server

pytestmark = pytest.mark.anyio

KEY = "sk_test_fanout"
CHART = Path(__file__).resolve().parent.parent / "examples" / "media" / "chart.png"
THREE = ["x", "instagram", "bluesky"]


def answer_for(platforms: list[str], status: int = 200, **headers: str) -> MockResponse:
    """The plain JSON answer of a write to ``platforms`` (or an error body)."""
    if status == 200:
        body: dict[str, Any] = {
            "results": [
                {"platform": p, "success": True, "post_id": f"{p}_1", "url": f"https://{p}/1"}
                for p in platforms
            ],
            "credits_used": 0.0075 * len(platforms),
        }
    else:
        body = {"error": {"type": "api_error", "code": f"boom_{status}", "message": "it broke"}}
    return MockResponse(
        status_code=status,
        headers={
            "Content-Type": "application/json",
            "X-Request-Id": f"req_{'_'.join(platforms)}",
            **headers,
        },
        body=json.dumps(body).encode(),
    )


async def read_into(
    into: list[PlatformResult],
    operation: WriteOperation,
    error: type[Exception] | None = None,
) -> None:
    """Stream ``operation``'s results into ``into``; raise ``error`` at the first one if given."""
    async with operation as stream:
        async for result in stream:
            into.append(result)
            if error is not None:
                raise error


def platforms_of(request: Request) -> list[str]:
    """The platforms a write request is for."""
    assert isinstance(request.body, bytes)
    platforms: list[str] = json.loads(request.body)["platforms"]
    return platforms


def echo(request: Request) -> MockResponse:
    """Answer every write with success for its platforms."""
    return answer_for(platforms_of(request))


def mock_client(handler: Callable[[Request], Any], **kwargs: Any) -> tuple[AsyncClient, Any]:
    """A client on a mock transport answering with ``handler``; fast retries."""
    transport = MockTransport(handler)
    client = AsyncClient(KEY, base_url="https://api.example.com", transport=transport, **kwargs)
    client.retry_policy = attrs.evolve(client.retry_policy, backoff_base=0.0)
    return client, transport


def sent(transport: MockTransport) -> dict[str, list[Request]]:
    """The write requests sent, by platform."""
    by_platform: dict[str, list[Request]] = {}
    for request in transport.requests:
        (platform,) = platforms_of(request)
        by_platform.setdefault(platform, []).append(request)
    return by_platform


# -- requests, keys, bodies ----------------------------------------------------------------


async def test_one_request_per_platform_with_its_key_body_and_options() -> None:
    """Each platform gets its own write: key 'key:platform', its platform and options alone."""
    client, transport = mock_client(echo)
    async with client:
        result = await client.write(
            platforms=THREE,
            content={"text": "hi", "media": "https://e.com/a.jpg"},
            options={"instagram": {"format": "feed"}},
            idempotency_key="order-42",
            fan_out=True,
        )
    by_platform = sent(transport)
    assert sorted(by_platform) == sorted(THREE)
    for platform, (request,) in by_platform.items():
        assert request.headers["Idempotency-Key"] == f"order-42:{platform}"
        assert isinstance(request.body, bytes)
        body = json.loads(request.body)
        assert body["platforms"] == [platform]
        assert body["content"] == {"text": "hi", "media": ["https://e.com/a.jpg"]}
        if platform == "instagram":
            assert body["options"] == {"instagram": {"format": "feed"}}
        else:
            assert "options" not in body
    assert result.idempotency_key == "order-42"
    assert all(r.closed for r in transport.responses)


async def test_the_aggregate_is_in_request_order_with_the_credits_summed() -> None:
    """results in request order, credits the exact sum, the first platform's request id."""
    client, _ = mock_client(echo)
    async with client:
        result = await client.write(platforms=THREE, content={"text": "hi"}, fan_out=True)
    assert [r.platform for r in result.results] == THREE
    assert result.ok
    assert result.credits_used == Decimal("0.0225")
    assert str(result.credits_used) == "0.0225"
    assert result.request_id == "req_x"
    assert result.idempotency_key is not None
    assert result.idempotency_key.startswith("sw-")
    assert ":" not in result.idempotency_key


async def test_a_text_only_fan_out_sends_each_platform_the_same_text() -> None:
    """The fast text-only body is the general encoder's, per platform."""
    client, transport = mock_client(echo)
    async with client:
        await client.write(platforms=["x", "bluesky"], content={"text": "héllo 📈"}, fan_out=True)
    for platform, (request,) in sent(transport).items():
        assert isinstance(request.body, bytes)
        assert json.loads(request.body) == {
            "platforms": [platform],
            "content": {"text": "héllo 📈"},
        }


async def test_the_clients_default_and_the_writes_own_setting() -> None:
    """AsyncClient(fan_out=True) fans out every write; write(fan_out=False) does not."""
    client, transport = mock_client(echo, fan_out=True)
    async with client:
        assert client.fan_out
        await client.write(platforms=["x", "bluesky"], content={"text": "a"})
        assert len(transport.requests) == 2
        await client.write(platforms=["x", "bluesky"], content={"text": "b"}, fan_out=False)
        assert len(transport.requests) == 3
        assert platforms_of(transport.requests[-1]) == ["x", "bluesky"]


@pytest.mark.parametrize("value", [1, "yes", None])
async def test_fan_out_must_be_a_bool(value: object) -> None:
    """A fan_out that is not True or False is a ValidationError naming it."""
    with pytest.raises(ValidationError) as raised:
        AsyncClient(KEY, base_url="https://api.example.com", fan_out=value)  # type: ignore[arg-type]
    assert raised.value.param == "fan_out"
    client, transport = mock_client(echo)
    if value is not None:  # None is the write's "as the client says"
        with pytest.raises(ValidationError) as raised:
            client.write(platforms=["x"], content={"text": "a"}, fan_out=value)  # type: ignore[arg-type]
        assert raised.value.param == "fan_out"
    assert transport.requests == []


async def test_a_key_too_long_for_its_platform_suffix_is_refused_before_sending() -> None:
    """255 characters is a valid key, but 'key:instagram' would not be: refused, nothing sent."""
    client, transport = mock_client(echo)
    longest = 255 - len(":instagram")
    async with client:
        with pytest.raises(ValidationError) as raised:
            client.write(
                platforms=["x", "instagram"],
                content={"text": "a"},
                idempotency_key="k" * 255,
                fan_out=True,
            )
        assert raised.value.param == "idempotency_key"
        assert f"at most {longest}" in str(raised.value)
        with pytest.raises(ValidationError):
            client.write(
                platforms=["x", "instagram"],
                content={"text": "a"},
                idempotency_key="k" * (longest + 1),
                fan_out=True,
            )
        assert transport.requests == []
        # Without fan-out the same key is fine; at the limit it is fine with it.
        await client.write(platforms=["x"], content={"text": "a"}, idempotency_key="k" * 255)
        await client.write(
            platforms=["x", "instagram"],
            content={"text": "a"},
            idempotency_key="k" * longest,
            fan_out=True,
        )
    keys = {r.headers["Idempotency-Key"] for r in transport.requests}
    assert "k" * longest + ":instagram" in keys
    assert all(len(key) <= 255 for key in keys)


# -- streaming -----------------------------------------------------------------------------


async def test_results_stream_as_each_request_returns() -> None:
    """instagram answers only once x's result reached the caller: streaming, not batching."""
    x_seen = anyio.Event()

    async def handler(request: Request) -> MockResponse:
        platforms = platforms_of(request)
        if platforms == ["instagram"]:
            await x_seen.wait()
        return answer_for(platforms)

    client, _ = mock_client(handler)
    order: list[str] = []
    # Were the results batched, instagram would wait forever: fail instead.
    with anyio.fail_after(10):
        await stream_in_order(client, x_seen, order)
    assert order == ["x", "instagram"]


async def stream_in_order(client: AsyncClient, x_seen: anyio.Event, order: list[str]) -> None:
    """Stream a write to instagram and x, recording the order; set ``x_seen`` at x's result."""
    async with client:
        async with client.write(
            platforms=["instagram", "x"], content={"text": "hi"}, fan_out=True
        ) as stream:
            async for result in stream:
                order.append(result.platform)
                if result.platform == "x":
                    x_seen.set()
    assert [r.platform for r in stream.result.results] == ["instagram", "x"]


async def test_statuses_of_a_streamed_request_carry_the_writes_index() -> None:
    """A platform's own SSE stream says index 0; the event says its index in the write."""

    def handler(request: Request) -> MockResponse:
        (platform,) = platforms_of(request)
        result = {"index": 0, "platform": platform, "success": True, "post_id": "1", "url": "u"}
        frames = [
            ("status", {"index": 0, "platform": platform, "state": "publishing"}),
            ("result", result),
            ("done", {"results": [result], "credits_used": 0.0075}),
        ]
        text = "".join(
            f"id: {i}\nevent: {name}\ndata: {json.dumps(data)}\n\n"
            for i, (name, data) in enumerate(frames, 1)
        )
        return MockResponse(headers={"Content-Type": "text/event-stream"}, body=text.encode())

    client, _ = mock_client(handler)
    async with client:
        async with client.write(platforms=THREE, content={"text": "hi"}, fan_out=True) as stream:
            events = [event async for event in stream.events()]
    statuses = [e for e in events if isinstance(e, PlatformStatus)]
    assert sorted((s.platform, s.index) for s in statuses) == sorted(
        (p, i) for i, p in enumerate(THREE)
    )
    assert sum(isinstance(e, PlatformResult) for e in events) == 3
    assert sum(isinstance(e, WriteCompleted) for e in events) == 1
    assert isinstance(events[-1], WriteCompleted)
    assert events[-1].result.credits_used == Decimal("0.0225")


# -- retries and failures ------------------------------------------------------------------


async def test_a_retry_of_one_platforms_request_reuses_its_key() -> None:
    """x's first request gets a 503: x is sent again with 'key:x'; the others once."""
    failures = {"x": 1}

    def handler(request: Request) -> MockResponse:
        (platform,) = platforms_of(request)
        if failures.get(platform, 0):
            failures[platform] -= 1
            return answer_for([platform], 503)
        return answer_for([platform])

    client, transport = mock_client(handler)
    async with client:
        result = await client.write(
            platforms=THREE, content={"text": "hi"}, idempotency_key="k1", fan_out=True
        )
    by_platform = sent(transport)
    assert [r.headers["Idempotency-Key"] for r in by_platform["x"]] == ["k1:x", "k1:x"]
    assert [len(by_platform[p]) for p in ("instagram", "bluesky")] == [1, 1]
    assert result.ok
    assert result.retries == 1


async def test_an_error_some_requests_got_becomes_their_failed_results() -> None:
    """x's request fails after its retries: x is a failed result, the others succeed."""

    def handler(request: Request) -> MockResponse:
        platforms = platforms_of(request)
        return answer_for(platforms, 500 if platforms == ["x"] else 200)

    client, transport = mock_client(handler, max_retries=1)
    async with client:
        result = await client.write(platforms=THREE, content={"text": "hi"}, fan_out=True)
    assert len(sent(transport)["x"]) == 2  # retried once, then given up
    x = result["x"]
    assert (x.success, x.error_code, x.error) == (False, "boom_500", "it broke")
    assert result.succeeded == (result["instagram"], result["bluesky"])
    assert result.credits_used == Decimal("0.015")
    assert not result.ok


async def test_a_streamed_partial_failure_yields_each_platform_once() -> None:
    """The failure is yielded once another platform answered; each platform exactly once."""
    x_failed = anyio.Event()

    async def handler(request: Request) -> MockResponse:
        platforms = platforms_of(request)
        if platforms == ["x"]:
            x_failed.set()
            return answer_for(platforms, 401)
        await x_failed.wait()
        return answer_for(platforms)

    client, _ = mock_client(handler)
    async with client:
        async with client.write(
            platforms=["x", "instagram"], content={"text": "hi"}, fan_out=True
        ) as stream:
            seen = [(r.platform, r.success) async for r in stream]
    assert sorted(seen) == [("instagram", True), ("x", False)]
    assert stream.result["x"].error_code == "boom_401"


async def test_an_error_every_request_got_is_raised_with_the_writes_key() -> None:
    """Every platform got a 401: the write raises it, not failed results."""

    def handler(request: Request) -> MockResponse:
        return answer_for(platforms_of(request), 401)

    client, _ = mock_client(handler)
    async with client:
        with pytest.raises(AuthenticationError) as raised:
            await client.write(
                platforms=THREE, content={"text": "hi"}, idempotency_key="k2", fan_out=True
            )
        assert raised.value.idempotency_key == "k2"
        yielded: list[PlatformResult] = []
        with pytest.raises(AuthenticationError):
            await read_into(
                yielded, client.write(platforms=THREE, content={"text": "hi"}, fan_out=True)
            )
        assert yielded == []


async def test_failed_results_name_the_error_code_or_its_class() -> None:
    """error_code is the server's code, else the error class's snake name."""
    coded = InternalServerError("down", status_code=503, code="upstream_unavailable")
    uncoded = InternalServerError("Bad Gateway", status_code=502)
    dropped = APIConnectionError("connection reset")
    assert failed_result("x", coded).error_code == "upstream_unavailable"
    assert failed_result("x", uncoded).error_code == "internal_server_error"
    assert failed_result("x", dropped).error_code == "api_connection_error"
    assert failed_result("x", dropped).error == "connection reset"
    assert not failed_result("x", dropped).success


# -- cancellation and errors that are not a platform's ---------------------------------


class BoomError(Exception):
    """The caller's own error."""


async def test_break_and_a_callers_error_cancel_every_request() -> None:
    """Leaving the block cancels the requests still waiting; the error comes out as itself."""
    cancelled: list[str] = []

    async def handler(request: Request) -> MockResponse:
        platforms = platforms_of(request)
        if platforms != ["x"]:
            try:
                await anyio.sleep_forever()
            finally:
                cancelled.extend(platforms)
        return answer_for(platforms)

    client, transport = mock_client(handler)
    async with client:
        async with client.write(platforms=THREE, content={"text": "hi"}, fan_out=True) as stream:
            async for result in stream:
                assert result.platform == "x"
                break
        assert sorted(cancelled) == ["bluesky", "instagram"]
        cancelled.clear()
        with pytest.raises(BoomError):
            await read_into(
                [], client.write(platforms=THREE, content={"text": "hi"}, fan_out=True), BoomError
            )
        assert sorted(cancelled) == ["bluesky", "instagram"]
    assert all(r.closed for r in transport.responses)


async def test_a_cancellation_from_outside_cancels_every_request() -> None:
    """An awaited fan-out write under a cancelled scope stops every request."""
    started: list[str] = []
    cancelled: list[str] = []
    scope = anyio.CancelScope()

    async def handler(request: Request) -> MockResponse:
        started.extend(platforms_of(request))
        if len(started) == 3:
            scope.cancel()
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.extend(platforms_of(request))
        raise AssertionError  # pragma: no cover - never answered

    client, _ = mock_client(handler)
    async with client:
        with scope:
            await client.write(platforms=THREE, content={"text": "hi"}, fan_out=True)
    assert scope.cancelled_caught
    assert sorted(cancelled) == sorted(THREE)


async def test_an_error_that_is_no_platforms_outcome_surfaces_as_itself() -> None:
    """A bug under one request cancels the others and is raised unwrapped."""
    cancelled: list[str] = []

    async def handler(request: Request) -> MockResponse:
        platforms = platforms_of(request)
        if platforms == ["x"]:
            await anyio.lowlevel.checkpoint()
            msg = "a bug"
            raise RuntimeError(msg)
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.extend(platforms)
        raise AssertionError  # pragma: no cover - never answered

    client, _ = mock_client(handler)
    async with client:
        with pytest.raises(RuntimeError, match="a bug"):
            await client.write(platforms=THREE, content={"text": "hi"}, fan_out=True)
    assert sorted(cancelled) == ["bluesky", "instagram"]


# -- a real server that answers JSON only ---------------------------------------------------


def running_tasks() -> int:
    """How many tasks run in this event loop now."""
    if sniffio.current_async_library() == "trio":
        import trio

        def count(task: trio.lowlevel.Task) -> int:
            return 1 + sum(
                count(child) for nursery in task.child_nurseries for child in nursery.child_tasks
            )

        root = trio.lowlevel.current_root_task()
        assert root is not None
        return count(root)
    return len(asyncio.all_tasks())


async def first_and_total(client: AsyncClient, *, fan_out: bool) -> tuple[list[str], float, float]:
    """Stream a write to instagram and x; return the arrival order and the times."""
    started = anyio.current_time()
    first = 0.0
    order: list[str] = []
    async with client.write(
        platforms=["instagram", "x"], content={"text": "hi"}, fan_out=fan_out
    ) as stream:
        async for result in stream:
            if not order:
                first = anyio.current_time() - started
            order.append(result.platform)
    return order, first, anyio.current_time() - started


async def test_against_a_json_only_server_results_arrive_in_completion_order() -> None:
    """x (fast) arrives long before instagram (slow) with fan-out; all at once without."""
    with json_server(delays={"x": 0.02, "instagram": 0.6}) as server:
        async with AsyncClient(KEY, base_url=server.base_url) as client:
            # The first request makes the transport (TLS settings and all): not timed.
            await client.write(platforms=["x"], content={"text": "warm-up"})
            order, first, total = await first_and_total(client, fan_out=True)
            assert order == ["x", "instagram"]
            assert first < total / 4
            order, first, total = await first_and_total(client, fan_out=False)
            # One request, answered when its slowest platform is done: request order.
            assert order == ["instagram", "x"]
            assert first > total * 3 / 4
    fanned, single = server.writes[1:3], server.writes[3]
    keys = {write.platforms: write.key or "" for write in fanned}
    assert set(keys) == {("x",), ("instagram",)}
    assert keys[("x",)].removesuffix(":x") == keys[("instagram",)].removesuffix(":instagram")
    assert single.platforms == ("instagram", "x")
    assert ":" not in (single.key or "")
    assert all("text/event-stream" in (w.accept or "") for w in server.writes)


async def test_against_a_json_only_server_a_retry_reuses_the_platforms_key() -> None:
    """x's first request gets a 503 (Retry-After: 0): x again with the same key."""
    with json_server(statuses={"x": [503]}) as server:
        async with AsyncClient(KEY, base_url=server.base_url) as client:
            result = await client.write(
                platforms=["x", "instagram"],
                content={"text": "hi"},
                idempotency_key="retry-me",
                fan_out=True,
            )
    assert result.ok
    assert sorted(k for k in server.idempotency_keys() if k) == [
        "retry-me:instagram",
        "retry-me:x",
        "retry-me:x",
    ]


async def test_against_a_json_only_server_partial_and_total_failure() -> None:
    """A 401 for x only is x's failed result; a 401 for both is raised."""
    with json_server(statuses={"x": [401, 401], "instagram": [401]}) as server:
        async with AsyncClient(KEY, base_url=server.base_url) as client:
            with pytest.raises(AuthenticationError) as raised:
                await client.write(
                    platforms=["x", "instagram"], content={"text": "hi"}, fan_out=True
                )
            assert raised.value.code == "invalid_api_key"
            result = await client.write(
                platforms=["x", "instagram"], content={"text": "hi"}, fan_out=True
            )
    assert (result["x"].success, result["x"].error_code) == (False, "invalid_api_key")
    assert result["instagram"].success
    assert result.credits_used == Decimal("0.0075")


async def test_against_a_json_only_server_break_leaves_no_task_or_connection() -> None:
    """Breaking after x hangs up on instagram's request; no task or connection is left."""
    with json_server(delays={"x": 0.0, "instagram": 30.0}) as server:
        async with AsyncClient(KEY, base_url=server.base_url) as client:
            await client.write(platforms=["x"], content={"text": "warm-up"})
            before = running_tasks()
            async with client.write(
                platforms=["instagram", "x"], content={"text": "hi"}, fan_out=True
            ) as stream:
                async for result in stream:
                    assert result.platform == "x"
                    break
            assert running_tasks() == before
        assert await anyio.to_thread.run_sync(server.wait_until_idle)
    assert server.hung_up == [("instagram",)]


async def test_against_a_json_only_server_a_cancelled_write_hangs_up_everywhere() -> None:
    """A scope cancelled while both requests wait closes both connections."""
    with json_server(delays={"x": 30.0, "instagram": 30.0}) as server:
        async with AsyncClient(KEY, base_url=server.base_url) as client:

            async def write() -> None:
                await client.write(
                    platforms=["instagram", "x"], content={"text": "hi"}, fan_out=True
                )

            with anyio.CancelScope() as scope:
                async with anyio.create_task_group() as task_group:
                    task_group.start_soon(write)
                    assert await anyio.to_thread.run_sync(server.wait_for_writes, 2)
                    scope.cancel()
        assert await anyio.to_thread.run_sync(server.wait_until_idle)
    assert sorted(server.hung_up) == [("instagram",), ("x",)]


# -- uploads, the blocking client, the command line --------------------------------------


@attrs.define
class CountingTransport:
    """A transport that counts the requests it sends, by method and path."""

    inner: Transport
    calls: list[tuple[str, str]] = attrs.field(factory=list)

    @property
    def user_agent(self) -> str:
        """The inner transport's."""
        return self.inner.user_agent

    async def send(self, request: Request) -> Response:
        """Count, then send."""
        path = request.url.split("//", 1)[1].split("/", 1)[1].split("?")[0]
        self.calls.append((request.method, "/" + path))
        return await self.inner.send(request)

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self.inner.aclose()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A fresh sandbox in its own thread."""
    with Sandbox().run_in_thread() as running:
        yield running


async def test_a_local_file_is_uploaded_once_for_three_platforms(sandbox: Sandbox) -> None:
    """One upload before the fan-out; each platform's write carries its URL."""
    transport = CountingTransport(default_transport(sniffio.current_async_library()))
    events: list[Event] = []
    try:
        async with AsyncClient(
            sandbox.api_key, base_url=sandbox.base_url, transport=transport
        ) as client:
            async with client.write(
                platforms=THREE, content={"text": "chart", "media": CHART}, fan_out=True
            ) as stream:
                events = [event async for event in stream.events()]
    finally:
        await transport.aclose()
    assert stream.result.ok
    assert transport.calls.count(("POST", "/v1/media/uploads")) == 1
    assert sum(method == "PUT" for method, _ in transport.calls) == 1
    assert transport.calls.count(("POST", "/v1/social/write")) == 3
    assert sum(isinstance(e, UploadStarted) for e in events) == 1
    (completed,) = [e for e in events if isinstance(e, UploadCompleted)]
    last_upload = max(
        i for i, e in enumerate(events) if isinstance(e, (UploadStarted, UploadCompleted))
    )
    first_platform = min(
        i for i, e in enumerate(events) if isinstance(e, (PlatformStatus, PlatformResult))
    )
    assert last_upload < first_platform
    published = sandbox.published()
    assert sorted(p.platform for p in published) == sorted(THREE)
    assert {p.media for p in published} == {(completed.url,)}
    key = stream.result.idempotency_key
    assert {p.idempotency_key for p in published} == {f"{key}:{p}" for p in THREE}


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_the_blocking_client_fans_out(sandbox: Sandbox, backend: str) -> None:
    """Client(fan_out=True) and write(fan_out=...) work like the async client's."""
    with Client(
        sandbox.api_key, base_url=sandbox.base_url, backend=backend, fan_out=True
    ) as client:
        fanned = client.write(platforms=["x", "bluesky"], content={"text": "one"})
        single = client.write(platforms=["x", "bluesky"], content={"text": "two"}, fan_out=False)
    assert fanned.ok
    assert single.ok
    keys = [p.idempotency_key or "" for p in sandbox.published()]
    assert sorted(keys[:2]) == [f"{fanned.idempotency_key}:{p}" for p in ("bluesky", "x")]
    assert keys[2:] == [single.idempotency_key, single.idempotency_key]


def test_the_command_lines_fan_out_flag(sandbox: Sandbox) -> None:
    """post --fan-out sends one write per platform; --help lists the flag."""
    runner = CliRunner()
    env = {"SOCIALWRITE_API_KEY": None, "SOCIALWRITE_BASE_URL": None}
    done = runner.invoke(
        command_line,
        [
            "post",
            "--base-url",
            sandbox.base_url,
            "--api-key",
            sandbox.api_key,
            "-p",
            "x",
            "-p",
            "bluesky",
            "--text",
            "fanned",
            "--idempotency-key",
            "cli-key",
            "--fan-out",
            "--json",
        ],
        env=env,
    )
    assert done.exit_code == 0, done.output
    answer = json.loads(done.stdout)
    assert [r["platform"] for r in answer["results"]] == ["x", "bluesky"]
    assert sorted(p.idempotency_key or "" for p in sandbox.published()) == [
        "cli-key:bluesky",
        "cli-key:x",
    ]
    shown = runner.invoke(command_line, ["post", "--help"], env=env)
    assert "--fan-out" in shown.stdout
