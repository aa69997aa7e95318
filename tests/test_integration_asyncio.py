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
