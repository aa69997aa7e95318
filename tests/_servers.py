"""The servers the SDK's end-to-end tests run against: the sandbox, as itself and as a vendor.

``SandboxConfig(compat=True)`` makes the sandbox answer the way real vendors
and the proxies in front of them do (JSON only, results in another order,
numeric post ids, flat errors, no upload endpoint), so a test run against
each :data:`SERVER_KINDS` checks the SDK against protocol.md's server and
against what protocol.md lets a real one send. The ``server_kind`` and
``api_server`` fixtures of ``tests/conftest.py`` parametrize over them.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import sniffio

import socialwrite._requester
from socialwrite import AsyncClient, RetryPolicy
from socialwrite._protocol import WRITE_PATH
from socialwrite._transport import Request, Response, Transport
from socialwrite.sandbox import Sandbox, SandboxConfig

__all__ = ["COMPAT", "SANDBOX", "SERVER_KINDS", "BodyRewriter", "ServerKind", "client_for"]

FAST = RetryPolicy(max_retries=2, backoff_base=0.0, max_retry_after=1.0)
"""Retries without waiting, and never sleeps on a ``Retry-After`` over one second."""


@attrs.frozen
class ServerKind:
    """One kind of server: its name in test ids, and whether it answers like a vendor."""

    name: str
    compat: bool

    def config(self, **settings: Any) -> SandboxConfig:
        """The sandbox's config for this kind, with ``settings`` (credits, faults, ...)."""
        return SandboxConfig(compat=self.compat, **settings)

    @contextlib.contextmanager
    def serve(self, **settings: Any) -> Iterator[Sandbox]:
        """Run a fresh sandbox of this kind on a thread of its own (for asyncio and trio)."""
        with Sandbox(self.config(**settings)).run_in_thread() as sandbox:
            yield sandbox


SANDBOX = ServerKind("sandbox", compat=False)
COMPAT = ServerKind("compat", compat=True)
SERVER_KINDS = (SANDBOX, COMPAT)


def client_for(sandbox: Sandbox, **kwargs: Any) -> AsyncClient:
    """A client of ``sandbox`` that retries at once (:data:`FAST`)."""
    client = AsyncClient(sandbox.api_key, base_url=sandbox.base_url, **kwargs)
    client.retry_policy = FAST
    return client


class BodyRewriter:
    """A transport that lists a write's first platform twice on its way out.

    Stands for a server stricter than the SDK's own checks: the write reaches
    it and is refused with ``400 duplicate_platform``. It sends through the
    default transport of the running loop, which it closes in :meth:`aclose`
    (a client does not close a transport it was given).
    """

    def __init__(self) -> None:
        self._inner: Transport | None = None

    def _transport(self) -> Transport:
        if self._inner is None:
            # Looked up when used: tests/conftest.py swaps it for the asyncio+httpx2 runs.
            make: Callable[[str], Transport] = vars(socialwrite._requester)["default_transport"]
            self._inner = make(sniffio.current_async_library())
        return self._inner

    @property
    def user_agent(self) -> str:
        """The user agent of the transport underneath."""
        return self._transport().user_agent

    async def send(self, request: Request) -> Response:
        """Send ``request``, a write's body with its first platform listed twice."""
        body = request.body
        if request.url.endswith(WRITE_PATH) and isinstance(body, bytes):
            data = json.loads(body)
            data["platforms"] = [*data["platforms"], data["platforms"][0]]
            request = attrs.evolve(request, body=json.dumps(data).encode())
        return await self._transport().send(request)

    async def aclose(self) -> None:
        """Close the transport underneath, if one was made."""
        if self._inner is not None:
            await self._inner.aclose()
