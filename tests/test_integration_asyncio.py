"""asyncio-only behaviour: a caller's own aiohttp session."""

from __future__ import annotations

from collections.abc import Iterator

import aiohttp
import pytest

from socialwrite import AsyncClient
from socialwrite.sandbox import Sandbox

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """aiohttp sessions live on asyncio only."""
    return "asyncio"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """A sandbox in its own thread."""
    with Sandbox().run_in_thread() as running:
        yield running


async def test_shared_session_is_used_and_never_closed(sandbox: Sandbox) -> None:
    """A session passed in carries the writes and stays open after the client closes."""
    async with aiohttp.ClientSession() as session:
        async with AsyncClient(
            sandbox.api_key, base_url=sandbox.base_url, session=session
        ) as client:
            result = await client.write(platforms=["x"], content={"text": "shared"})
            assert result.ok
        assert not session.closed
        async with session.get(f"{sandbox.base_url}/v1/sandbox/published") as response:
            assert response.status == 401  # the session itself carries no key


async def test_client_built_outside_the_loop_works_inside(sandbox: Sandbox) -> None:
    """The aiohttp session is made lazily, inside the running loop."""
    client = AsyncClient(sandbox.api_key, base_url=sandbox.base_url)
    try:
        assert (await client.write(platforms=["x"], content={"text": "lazy"})).ok
    finally:
        await client.aclose()


async def test_connections_are_reused_across_writes(sandbox: Sandbox) -> None:
    """Ten writes in a row open one connection: each answer is read to its end."""
    created = 0
    reused = 0

    async def on_create(*_: object) -> None:
        nonlocal created
        created += 1

    async def on_reuse(*_: object) -> None:
        nonlocal reused
        reused += 1

    trace = aiohttp.TraceConfig()
    trace.on_connection_create_end.append(on_create)
    trace.on_connection_reuseconn.append(on_reuse)
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        async with AsyncClient(
            sandbox.api_key, base_url=sandbox.base_url, session=session
        ) as client:
            for i in range(10):
                assert (await client.write(platforms=["x"], content={"text": f"n{i}"})).ok
            async with client.write(platforms=["x"], content={"text": "streamed"}) as stream:
                async for _ in stream:
                    pass
    assert created == 1
    assert reused == 10
