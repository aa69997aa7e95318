"""Helpers for your own test suite: a running sandbox and clients bound to it.

Installed with socialwrite as a pytest plugin (entry point ``socialwrite``), so
these fixtures are there without any import:

- ``socialwrite_sandbox``: a fresh, running :class:`~socialwrite.sandbox.Sandbox`
  on a free loopback port (in its own thread, so it serves asyncio, trio and
  blocking tests alike). Read what was "published" with
  ``socialwrite_sandbox.published()``.
- ``socialwrite_client``: an :class:`~socialwrite.AsyncClient` bound to it. Use
  it with ``async with socialwrite_client as client:`` inside your async test,
  so it closes in your test's event loop.
- ``socialwrite_blocking_client``: a :class:`~socialwrite.Client` bound to it,
  closed for you.

Configure the sandbox per test with the ``socialwrite_sandbox`` marker, which
takes the fields of :class:`~socialwrite.sandbox.SandboxConfig` (latency,
platforms not connected, injected faults, ...)::

    import pytest

    @pytest.mark.socialwrite_sandbox(not_connected={"tiktok"}, latency={"x": 0.05})
    async def test_announce(socialwrite_sandbox, socialwrite_client):
        async with socialwrite_client as client:
            result = await client.write(platforms=["x", "tiktok"], content={"text": "hi"})
        assert result["tiktok"].error_code == "platform_not_connected"
        assert [p.platform for p in socialwrite_sandbox.published()] == ["x"]

Or, outside pytest, :func:`running_sandbox` gives the same as a context manager.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ._blocking import Client
    from ._client import AsyncClient
    from .sandbox import Sandbox

__all__ = [
    "running_sandbox",
    "socialwrite_blocking_client",
    "socialwrite_client",
    "socialwrite_sandbox",
]

_MARKER = "socialwrite_sandbox"


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``socialwrite_sandbox`` marker."""
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(**config): settings of the socialwrite sandbox for this test "
        "(the fields of socialwrite.sandbox.SandboxConfig)",
    )


@contextmanager
def running_sandbox(**config: Any) -> Iterator[Sandbox]:
    """Run a sandbox on a free loopback port for the duration of the block.

    Args:
        **config: fields of :class:`~socialwrite.sandbox.SandboxConfig`.

    Example:
        >>> with running_sandbox(latency={"x": 0.05}) as sandbox:  # doctest: +SKIP
        ...     client = socialwrite.Client(sandbox.api_key, base_url=sandbox.base_url)
    """
    from .sandbox import Sandbox, SandboxConfig  # noqa: PLC0415 - keep the plugin light

    with Sandbox(SandboxConfig(**config)).run_in_thread() as sandbox:
        yield sandbox


@pytest.fixture
def socialwrite_sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """A fresh, running sandbox, configured by the ``socialwrite_sandbox`` marker."""
    settings: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers(_MARKER))):
        if marker.args:
            msg = f"@pytest.mark.{_MARKER} takes keyword arguments only"
            raise TypeError(msg)
        settings.update(marker.kwargs)
    with running_sandbox(**settings) as sandbox:
        yield sandbox


@pytest.fixture
def socialwrite_client(socialwrite_sandbox: Sandbox) -> AsyncClient:
    """An ``AsyncClient`` bound to ``socialwrite_sandbox``; close it with ``async with``."""
    from ._client import AsyncClient  # noqa: PLC0415 - keep the plugin light

    return AsyncClient(socialwrite_sandbox.api_key, base_url=socialwrite_sandbox.base_url)


@pytest.fixture
def socialwrite_blocking_client(socialwrite_sandbox: Sandbox) -> Iterator[Client]:
    """A blocking ``Client`` bound to ``socialwrite_sandbox``, closed after the test."""
    from ._blocking import Client  # noqa: PLC0415 - keep the plugin light

    with Client(socialwrite_sandbox.api_key, base_url=socialwrite_sandbox.base_url) as client:
        yield client
