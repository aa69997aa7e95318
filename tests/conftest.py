"""Shared fixtures: every async test runs on asyncio+aiohttp, trio+httpx2 and asyncio+httpx2."""

from __future__ import annotations

import pytest

import socialwrite._client
from socialwrite._transport import Transport, default_transport


def _trio_transport_everywhere(backend: str) -> Transport:
    """The trio-capable transport, whatever the loop."""
    return default_transport("trio")


@pytest.fixture(
    params=[
        pytest.param(("asyncio", "aiohttp"), id="asyncio"),
        pytest.param(("trio", "httpx2"), id="trio"),
        pytest.param(("asyncio", "httpx2"), id="asyncio+httpx2"),
    ]
)
def anyio_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run each ``@pytest.mark.anyio`` test once per event loop and transport.

    Clients made without an explicit transport get the default of their loop
    (aiohttp on asyncio, httpx2 on trio), or httpx2 on asyncio for the third run.
    """
    backend, transport = request.param
    if backend == "asyncio" and transport == "httpx2":
        monkeypatch.setattr(socialwrite._client, "default_transport", _trio_transport_everywhere)
    return str(backend)
