"""Shared fixtures: every async test runs on asyncio+aiohttp, trio+httpx2 and asyncio+httpx2.

``server_kind`` and ``api_server`` run a test against the sandbox and against the
sandbox answering like a real vendor (``tests/_servers.py``).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest

import socialwrite._requester
from socialwrite._transport import NetworkOptions, Transport, default_transport
from socialwrite.sandbox import Sandbox

from ._servers import SERVER_KINDS, ServerKind

# httpx2, the trio transport's library, needs Python 3.11 or later.
_NEEDS_HTTPX2 = pytest.mark.skipif(
    importlib.util.find_spec("httpx2") is None,
    reason="the trio transport needs httpx2 (Python 3.11+): pip install 'socialwrite[trio]'",
)


def _trio_transport_everywhere(backend: str, network: NetworkOptions | None = None) -> Transport:
    """The trio-capable transport, whatever the loop."""
    return default_transport("trio", network)


@pytest.fixture(autouse=True)
def _no_proxy_from_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients honour HTTP(S)_PROXY / ALL_PROXY: the tests' own loopback servers go direct."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture(
    params=[
        pytest.param(("asyncio", "aiohttp"), id="asyncio"),
        pytest.param(("trio", "httpx2"), id="trio", marks=_NEEDS_HTTPX2),
        pytest.param(("asyncio", "httpx2"), id="asyncio+httpx2", marks=_NEEDS_HTTPX2),
    ]
)
def anyio_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run each ``@pytest.mark.anyio`` test once per event loop and transport.

    Clients made without an explicit transport get the default of their loop
    (aiohttp on asyncio, httpx2 on trio), or httpx2 on asyncio for the third run.
    """
    backend, transport = request.param
    if backend == "asyncio" and transport == "httpx2":
        monkeypatch.setattr(socialwrite._requester, "default_transport", _trio_transport_everywhere)
    return str(backend)


@pytest.fixture(params=[pytest.param(kind, id=kind.name) for kind in SERVER_KINDS])
def server_kind(request: pytest.FixtureRequest) -> ServerKind:
    """Run the test once against the sandbox and once against the sandbox answering like a vendor.

    ``server_kind.serve(credits=..., faults=...)`` starts one with settings of its own.
    """
    kind: ServerKind = request.param
    return kind


@pytest.fixture
def api_server(server_kind: ServerKind) -> Iterator[Sandbox]:
    """A fresh server of each kind (``tests/_servers.py``), on a thread: for asyncio and trio."""
    with server_kind.serve() as sandbox:
        yield sandbox
