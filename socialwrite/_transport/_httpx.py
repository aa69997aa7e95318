"""The trio-capable transport, on httpx: the only module of the SDK that imports httpx.

aiohttp runs only on asyncio; httpx runs on asyncio and trio (through anyio),
so this transport serves trio programs and anyone who picks it on asyncio.
Installed by ``pip install "socialwrite[trio]"``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Mapping
from typing import cast

import httpx

from .._errors import APIConnectionError, APITimeoutError
from ._base import Request, Response, Timeout, read_limited

__all__ = ["HttpxTransport"]

_LIMITS = httpx.Limits(max_connections=512, max_keepalive_connections=64)


def _httpx_timeout(timeout: Timeout) -> httpx.Timeout:
    # ``total`` is enforced above the transport; ``pool`` waits as long as a connect may.
    return httpx.Timeout(
        connect=timeout.connect, read=timeout.read, write=timeout.read, pool=timeout.connect
    )


def _translate(exc: httpx.HTTPError, what: str, method: str, url: str) -> APIConnectionError:
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"timed out {what} {method} {url}", method=method, url=url)
    return APIConnectionError(f"failed {what} {method} {url}: {exc}", method=method, url=url)


class HttpxResponse:
    """A ``Response`` over a streamed ``httpx.Response`` (see ``_base.Response``)."""

    __slots__ = ("_chunks", "_closed", "_method", "_response", "_url", "headers", "status_code")

    def __init__(self, response: httpx.Response, method: str, url: str) -> None:
        self._response = response
        self._chunks: AsyncGenerator[bytes, None] | None = None
        self._method = method
        self._url = url
        self._closed = False
        self.status_code: int = response.status_code
        self.headers: Mapping[str, str] = {k.lower(): v for k, v in response.headers.items()}

    async def aiter_bytes(self) -> AsyncGenerator[bytes, None]:
        """Yield body chunks as they arrive."""
        inner = cast("AsyncGenerator[bytes, None]", self._response.aiter_bytes())
        self._chunks = inner
        try:
            async for chunk in inner:
                if chunk:
                    yield chunk
        except httpx.HTTPError as exc:
            raise _translate(exc, "reading the answer to", self._method, self._url) from exc

    async def aread(self, limit: int) -> bytes:
        """Read the whole body, refusing more than ``limit`` bytes."""
        return await read_limited(self, limit, method=self._method, url=self._url)

    async def aclose(self) -> None:
        """Release the connection; safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        await self._response.aclose()
        chunks, self._chunks = self._chunks, None
        if chunks is not None and getattr(chunks, "ag_frame", None) is not None:
            # httpx reads through a chain of nested async generators, and closing
            # the outer one leaves the inner ones suspended: garbage collected so,
            # trio warns about each. Reading once more from the closed response
            # makes the innermost one end (EOF or an error), which ends them all.
            with contextlib.suppress(Exception):
                await chunks.__anext__()
            await chunks.aclose()


class HttpxTransport:
    """Sends requests with httpx (the default on trio; usable on asyncio too).

    Args:
        client: an ``httpx.AsyncClient`` to use. It is shared, never closed by
            the transport. Without one the transport makes its own on first
            use and closes it in ``aclose()``.
    """

    def __init__(self, client: httpx.AsyncClient | None = None) -> None:
        self._client = client
        self._owns_client = client is None
        self._closed = False

    @property
    def user_agent(self) -> str:
        """``httpx/<version>``."""
        return f"httpx/{httpx.__version__}"

    def _get_client(self) -> httpx.AsyncClient:
        if self._closed:
            msg = "this client is closed; create a new AsyncClient"
            raise APIConnectionError(msg)
        if self._client is None:
            # Each request carries its own timeouts (see ``send``).
            self._client = httpx.AsyncClient(
                limits=_LIMITS,
                follow_redirects=False,
                trust_env=False,
                timeout=_httpx_timeout(Timeout()),
            )
        return self._client

    async def send(self, request: Request) -> Response:
        """Send ``request``; return once the answer's headers arrived."""
        client = self._get_client()
        method, url = request.method, request.url
        body = request.body
        built = client.build_request(
            method,
            url,
            headers=dict(request.headers),
            content=body,
            timeout=_httpx_timeout(request.timeout),
        )
        # Nothing a client remembers may travel with the request to another origin.
        built.headers.pop("cookie", None)
        try:
            response = await client.send(built, stream=True, follow_redirects=False)
        except httpx.HTTPError as exc:
            raise _translate(exc, "sending", method, url) from exc
        return HttpxResponse(response, method, url)

    async def aclose(self) -> None:
        """Close the client the transport made (a client it was given stays open)."""
        self._closed = True
        client, self._client = self._client, None
        if client is not None and self._owns_client:
            await client.aclose()
