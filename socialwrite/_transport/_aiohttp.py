"""The asyncio transport, on aiohttp: the only module of the SDK that imports aiohttp.

The ``ClientSession`` is created lazily, on the first request, inside the
running loop (aiohttp binds a session to the loop it was made in), so an
``AsyncClient`` can be built at import time or in synchronous set-up code.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncGenerator, Mapping

import aiohttp

from .._errors import APIConnectionError, APITimeoutError
from ._base import Request, Response, Timeout, read_limited

__all__ = ["AiohttpTransport"]

# Enough for hundreds of concurrent streamed writes on one client, while a
# runaway loop still cannot open unbounded sockets.
_CONNECTION_LIMIT = 512


@functools.lru_cache(maxsize=64)
def _client_timeout(timeout: Timeout) -> aiohttp.ClientTimeout:
    # Cached: a client sends every request with one of very few timeouts.
    # ``total`` is enforced above the transport (the same way on every
    # backend), so aiohttp only watches connecting and the gaps between reads.
    return aiohttp.ClientTimeout(total=None, sock_connect=timeout.connect, sock_read=timeout.read)


class AiohttpResponse:
    """A ``Response`` over an ``aiohttp.ClientResponse`` (see ``_base.Response``)."""

    __slots__ = ("_closed", "_method", "_response", "_url", "headers", "status_code")

    def __init__(self, response: aiohttp.ClientResponse, method: str, url: str) -> None:
        self._response = response
        self._method = method
        self._url = url
        self._closed = False
        self.status_code: int = response.status
        # aiohttp's headers are already case-insensitive: no copy per response.
        self.headers: Mapping[str, str] = response.headers

    async def aiter_bytes(self) -> AsyncGenerator[bytes, None]:
        """Yield body chunks as they arrive (any size)."""
        content = self._response.content
        while True:
            try:
                chunk = await content.readany()
            except (asyncio.TimeoutError, aiohttp.ServerTimeoutError) as exc:
                msg = f"timed out reading the answer to {self._method} {self._url}"
                raise APITimeoutError(msg, method=self._method, url=self._url) from exc
            except aiohttp.ClientError as exc:
                msg = (
                    f"the connection broke while reading the answer to "
                    f"{self._method} {self._url}: {exc}"
                )
                raise APIConnectionError(msg, method=self._method, url=self._url) from exc
            if not chunk:
                return
            yield chunk

    async def aread(self, limit: int) -> bytes:
        """Read the whole body, refusing more than ``limit`` bytes."""
        return await read_limited(self, limit, method=self._method, url=self._url)

    async def aclose(self) -> None:
        """Release a fully read connection to the pool; close a half-read one."""
        self.close_now()

    def at_eof(self) -> bool:
        """True once aiohttp has received the whole body."""
        return self._response.content.at_eof()

    def close_now(self) -> bool:
        """aiohttp releases or closes a connection without awaiting: always done here."""
        if not self._closed:
            self._closed = True
            if self._response.content.at_eof():
                self._response.release()
            else:
                self._response.close()
        return True


class AiohttpTransport:
    """Sends requests with aiohttp (the default transport on asyncio).

    Args:
        session: an ``aiohttp.ClientSession`` to use. It is shared, never
            closed by the transport. Without one the transport makes its own
            on first use and closes it in ``aclose()``.
    """

    def __init__(self, session: aiohttp.ClientSession | None = None) -> None:
        self._session = session
        self._owns_session = session is None
        self._closed = False

    @property
    def user_agent(self) -> str:
        """``aiohttp/<version>``."""
        return f"aiohttp/{aiohttp.__version__}"

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            msg = "this client is closed; create a new AsyncClient"
            raise APIConnectionError(msg)
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=_CONNECTION_LIMIT),
                # Headers and cookies come only from each request: nothing a
                # session remembers can travel to another origin.
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=True,
                trust_env=False,
            )
        return self._session

    async def send(self, request: Request) -> Response:
        """Send ``request``; return once the answer's headers arrived."""
        session = self._get_session()
        method, url = request.method, request.url
        try:
            response = await session.request(
                method,
                url,
                # aiohttp copies the headers into its own multidict.
                headers=request.headers,
                data=request.body,
                timeout=_client_timeout(request.timeout),
                # A redirect could carry the Authorization header elsewhere.
                allow_redirects=False,
            )
        except (asyncio.TimeoutError, aiohttp.ServerTimeoutError) as exc:
            msg = f"timed out sending {method} {url}"
            raise APITimeoutError(msg, method=method, url=url) from exc
        except aiohttp.ClientError as exc:
            msg = f"could not send {method} {url}: {exc}"
            raise APIConnectionError(msg, method=method, url=url) from exc
        except OSError as exc:
            msg = f"could not send {method} {url}: {exc}"
            raise APIConnectionError(msg, method=method, url=url) from exc
        return AiohttpResponse(response, method, url)

    async def aclose(self) -> None:
        """Close the session the transport made (a session it was given stays open)."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None and self._owns_session:
            await session.close()
