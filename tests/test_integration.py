"""The client against the in-process sandbox, over real loopback sockets, on both loops."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import anyio
import pytest

import socialwrite
from socialwrite import AsyncClient
from socialwrite.events import PlatformStatus, WriteCompleted
from socialwrite.sandbox import Sandbox, SandboxConfig

pytestmark = pytest.mark.anyio

MEDIA_URL = "https://images.example.com/chart.jpg"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """One sandbox for the module, in its own thread (usable from asyncio and trio)."""
    config = SandboxConfig(latency={"instagram": 0.05}, not_connected=frozenset({"reddit"}))
    with Sandbox(config).run_in_thread() as running:
        yield running


def client_for(sandbox: Sandbox, **kwargs: object) -> AsyncClient:
    """A client bound to the sandbox."""
    return AsyncClient(sandbox.api_key, base_url=sandbox.base_url, **kwargs)  # type: ignore[arg-type]


async def test_seed_example(sandbox: Sandbox) -> None:
    """x and instagram with text and a media URL: two successes, 0.015 credits."""
    async with client_for(sandbox) as client:
        result = await client.write(
            platforms=["x", "instagram"],
            content={"text": "Markets today 📈", "media": MEDIA_URL},
        )
    assert result.ok
    assert result.credits_used == Decimal("0.015")
    assert [r.platform for r in result.results] == ["x", "instagram"]
    x, ig = result.results
    assert x.url is not None
    assert x.url.startswith("https://x.com/")
    assert x.post_id is not None
    assert x.post_id in x.url
    assert ig.url is not None
    assert ig.url.startswith("https://www.instagram.com/p/")
    assert x.published_at is not None
    assert x.published_at.tzinfo is not None
    assert result.request_id
    assert sandbox.stats.publishes_for(result.idempotency_key) == 2


async def test_per_platform_failures_are_results(sandbox: Sandbox) -> None:
    """media_required and platform_not_connected come back as failed results, not errors."""
    async with client_for(sandbox) as client:
        result = await client.write(
            platforms=["x", "instagram", "reddit"], content={"text": "text only"}
        )
    assert [r.success for r in result.results] == [True, False, False]
    assert result["instagram"].error_code == "media_required"
    assert result["reddit"].error_code == "platform_not_connected"
    assert result.credits_used == Decimal("0.0075")
    assert not result.ok
    assert [r.platform for r in result.failed] == ["instagram", "reddit"]


async def test_same_key_publishes_once(sandbox: Sandbox) -> None:
    """Sending the same key and body twice publishes once and returns the same answer."""
    async with client_for(sandbox) as client:
        first = await client.write(
            platforms=["x"], content={"text": "once"}, idempotency_key="integration-once"
        )
        second = await client.write(
            platforms=["x"], content={"text": "once"}, idempotency_key="integration-once"
        )
        with pytest.raises(socialwrite.UnprocessableEntityError) as info:
            await client.write(
                platforms=["x"], content={"text": "other"}, idempotency_key="integration-once"
            )
    assert first == second
    assert info.value.code == "idempotency_key_reused"
    assert info.value.request_id
    assert sandbox.stats.publishes_for("integration-once") == 1


async def test_wrong_key_is_authentication_error(sandbox: Sandbox) -> None:
    """A wrong API key raises AuthenticationError, and the key is not in it."""
    async with AsyncClient("not-the-key-1234", base_url=sandbox.base_url) as client:
        with pytest.raises(socialwrite.AuthenticationError) as info:
            await client.write(platforms=["x"], content={"text": "hi"})
    assert info.value.status_code == 401
    assert info.value.request_id
    assert "not-the-key-1234" not in str(info.value)
    assert "not-the-key-1234" not in repr(info.value)


async def test_stream_yields_results_in_completion_order(sandbox: Sandbox) -> None:
    """Streaming gives the fast platform's result first, then the aggregate."""
    async with client_for(sandbox) as client:
        async with client.write(
            platforms=["instagram", "x"], content={"text": "hi", "media": MEDIA_URL}
        ) as stream:
            events = [event async for event in stream.events()]
        results = [e for e in events if isinstance(e, socialwrite.PlatformResult)]
        assert [r.platform for r in results] == ["x", "instagram"]
        assert isinstance(events[-1], WriteCompleted)
        assert any(isinstance(e, PlatformStatus) for e in events)
        assert stream.result.credits_used == Decimal("0.015")
        assert [r.platform for r in stream.result.results] == ["instagram", "x"]
        assert stream.result == events[-1].result


async def test_many_tasks_share_one_client(sandbox: Sandbox) -> None:
    """One client serves 50 concurrent writes; each publishes exactly once."""
    results: list[socialwrite.WriteResult] = []

    async def post(i: int) -> None:
        results.append(await client.write(platforms=["x"], content={"text": f"post {i}"}))

    async with client_for(sandbox) as client:
        async with anyio.create_task_group() as tg:
            for i in range(50):
                tg.start_soon(post, i)
    assert len(results) == 50
    assert all(r.ok for r in results)
    assert len({r.idempotency_key for r in results}) == 50
    assert all(sandbox.stats.publishes_for(r.idempotency_key) == 1 for r in results)


async def test_connection_refused_is_connection_error() -> None:
    """Nothing listening: APIConnectionError after the retries, not a raw OSError."""
    with socket_on_free_port() as port:
        pass  # the port is now closed again
    async with AsyncClient("k", base_url=f"http://127.0.0.1:{port}", max_retries=0) as client:
        with pytest.raises(socialwrite.APIConnectionError):
            await client.write(platforms=["x"], content={"text": "hi"})


def socket_on_free_port() -> _BoundSocket:
    """Bind a loopback socket to a free port (closed on exit)."""
    return _BoundSocket()


class _BoundSocket:
    def __enter__(self) -> int:
        import socket

        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        port: int = self._sock.getsockname()[1]
        return port

    def __exit__(self, *exc: object) -> None:
        self._sock.close()


async def test_writes_reuse_one_connection() -> None:
    """Consecutive writes, awaited and streamed, travel on one connection."""
    with Sandbox().run_in_thread() as sandbox:
        async with client_for(sandbox) as client:
            for i in range(5):
                assert (await client.write(platforms=["x"], content={"text": f"n{i}"})).ok
            async with client.write(platforms=["x"], content={"text": "streamed"}) as stream:
                async for _ in stream:
                    pass
        assert sandbox.stats.writes_received == 6
        assert sandbox.stats.write_connections == 1
