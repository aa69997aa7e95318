"""Shared fixtures: every async test runs on asyncio+aiohttp, trio+httpx and asyncio+httpx."""

from __future__ import annotations

import pytest

import socialwrite._client
from socialwrite._transport import Transport


def _httpx_everywhere(backend: str) -> Transport:
    from socialwrite._transport._httpx import HttpxTransport

    return HttpxTransport()


@pytest.fixture(
    params=[
        pytest.param(("asyncio", "aiohttp"), id="asyncio"),
        pytest.param(("trio", "httpx"), id="trio"),
        pytest.param(("asyncio", "httpx"), id="asyncio+httpx"),
    ]
)
def anyio_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run each ``@pytest.mark.anyio`` test once per event loop and transport.

    Clients made without an explicit transport get the default of their loop
    (aiohttp on asyncio, httpx on trio), or httpx on asyncio for the third run.
    """
    backend, transport = request.param
    if backend == "asyncio" and transport == "httpx":
        monkeypatch.setattr(socialwrite._client, "default_transport", _httpx_everywhere)
    return str(backend)
