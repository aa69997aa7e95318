"""The blocking Client: scripts, threads, and a loop already running in the main thread."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Iterator
from decimal import Decimal

import pytest

import socialwrite
from socialwrite import Client
from socialwrite.sandbox import Sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """A sandbox in its own thread."""
    with Sandbox().run_in_thread() as running:
        yield running


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_write_blocks_and_returns_the_aggregate(sandbox: Sandbox, backend: str) -> None:
    """write() returns the WriteResult; close() stops the client's thread."""
    before = threading.active_count()
    with Client(sandbox.api_key, base_url=sandbox.base_url, backend=backend) as client:
        result = client.write(
            platforms=["x", "instagram"],
            content={"text": "blocking", "media": "https://e.com/a.jpg"},
        )
        assert result.ok
        assert result.credits_used == Decimal("0.015")
        again = client.write(platforms=["x"], content={"text": "second"})
        assert again.ok
    assert client.is_closed
    assert threading.active_count() == before
    with pytest.raises(RuntimeError, match="closed"):
        client.write(platforms=["x"], content={"text": "after close"})


def test_validation_happens_in_the_calling_thread(sandbox: Sandbox) -> None:
    """Bad input raises ValidationError at once, without starting the loop thread."""
    client = Client(sandbox.api_key, base_url=sandbox.base_url)
    with pytest.raises(socialwrite.ValidationError):
        client.write(platforms="x", content={"text": "hi"})  # type: ignore[arg-type]
    assert client._loop is None
    client.close()


def test_works_inside_a_running_event_loop(sandbox: Sandbox) -> None:
    """Called from code where an asyncio loop already runs (a notebook cell)."""

    async def cell() -> socialwrite.WriteResult:
        with Client(sandbox.api_key, base_url=sandbox.base_url) as client:
            return client.write(platforms=["x"], content={"text": "from a notebook"})

    assert asyncio.run(cell()).ok


def test_shared_between_threads(sandbox: Sandbox) -> None:
    """One Client serves writes from several threads at once."""
    results: list[socialwrite.WriteResult] = []
    with Client(sandbox.api_key, base_url=sandbox.base_url) as client:
        threads = [
            threading.Thread(
                target=lambda i=i: results.append(
                    client.write(platforms=["x"], content={"text": f"thread {i}"})
                )
            )
            for i in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(results) == 8
    assert all(r.ok for r in results)


def test_script_that_forgets_close_exits(sandbox: Sandbox) -> None:
    """A script that never calls close() still exits promptly, with no warning."""
    script = (
        "import socialwrite\n"
        f"client = socialwrite.Client({sandbox.api_key!r}, base_url={sandbox.base_url!r})\n"
        "print(client.write(platforms=['x'], content={'text': 'script'}).ok)\n"
    )
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
    assert done.stderr == ""


def test_session_is_refused() -> None:
    """An aiohttp session cannot serve another loop: refused with a reason."""
    with pytest.raises(socialwrite.ValidationError) as info:
        Client("k", base_url="http://127.0.0.1:1", session=object())
    assert info.value.param == "session"
