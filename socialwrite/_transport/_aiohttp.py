"""The asyncio transport, on aiohttp: the only module of the SDK that imports aiohttp.

The ``ClientSession`` is created lazily, on the first request, inside the
running loop (aiohttp binds a session to the loop it was made in), so an
``AsyncClient`` can be built at import time or in synchronous set-up code.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping

import aiohttp

from .._errors import APIConnectionError, APIError, APITimeoutError
from ._base import Request, Response, Timeout, read_limited, sanitized, with_auth
from ._network import NetworkOptions, find_tls_error, tls_error

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


class _Chunks:
    """The body's chunks as aiohttp receives them (a class: no async generator to finalize)."""

    __slots__ = ("_content", "_done", "_method", "_url")

    def __init__(self, content: aiohttp.StreamReader, method: str, url: str) -> None:
        self._content = content
        self._method = method
        self._url = url
        self._done = False

    def __aiter__(self) -> _Chunks:
        return self

    async def __anext__(self) -> bytes:
        if self._done:
            raise StopAsyncIteration
        error: APIError
        try:
            chunk = await self._content.readany()
        except (asyncio.TimeoutError, aiohttp.ServerTimeoutError) as exc:
            msg = f"timed out reading the answer to {self._method} {self._url}"
            error = APITimeoutError(msg, method=self._method, url=self._url)
            cause = sanitized(exc)
        except aiohttp.ClientError as exc:
            msg = (
                f"the connection broke while reading the answer to "
                f"{self._method} {self._url}: {exc}"
            )
            error = APIConnectionError(msg, method=self._method, url=self._url)
            cause = sanitized(exc)
        else:
            if chunk:
                return chunk
            self._done = True
            raise StopAsyncIteration
        # Raised here, outside ``except``: no chained library exception (see _base).
        self._done = True
        raise error from cause

    async def aclose(self) -> None:
        """Stop iterating (the response's own close releases the connection)."""
        self._done = True


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

    def aiter_bytes(self) -> _Chunks:
        """Yield body chunks as they arrive (any size)."""
        return _Chunks(self._response.content, self._method, self._url)

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
        network: the client's TLS context and proxies (``verify``, ``trust_env``,
            ``proxy``); the proxies apply to a given session too, the TLS
            context only to a session made here.
    """

    def __init__(
        self, session: aiohttp.ClientSession | None = None, *, network: NetworkOptions | None = None
    ) -> None:
        self._session = session
        self._network = network
        self._proxied = network is not None and network.uses_proxy
        self._owns_session = session is None
        self._closed = False
        # The last timeout sent and aiohttp's form of it: writes of a client
        # share one ``Timeout`` object, found here without hashing it.
        self._last_timeout: tuple[Timeout | None, aiohttp.ClientTimeout | None] = (None, None)

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
                connector=aiohttp.TCPConnector(
                    limit=_CONNECTION_LIMIT,
                    ssl=True if self._network is None else self._network.ssl_context(),
                ),
                # Headers and cookies come only from each request: nothing a
                # session remembers can travel to another origin.
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=True,
                # The environment was read when the client was made (see _network).
                trust_env=False,
            )
        return self._session

    async def send(self, request: Request) -> Response:
        """Send ``request``; return once the answer's headers arrived."""
        session = self._get_session()
        method, url = request.method, request.url
        last_timeout, client_timeout = self._last_timeout
        if request.timeout is not last_timeout or client_timeout is None:
            client_timeout = _client_timeout(request.timeout)
            self._last_timeout = (request.timeout, client_timeout)
        proxy = self._network.proxy_for(url) if self._proxied and self._network else None
        error: APIError
        try:
            response = await session.request(
                method,
                url,
                # The key joins the headers here, in no local of this frame;
                # aiohttp copies them into its own multidict.
                headers=with_auth(request),
                data=request.body,
                timeout=client_timeout,
                # A redirect could carry the Authorization header elsewhere.
                allow_redirects=False,
                proxy=proxy,
            )
        except (asyncio.TimeoutError, aiohttp.ServerTimeoutError) as exc:
            msg = f"timed out sending {method} {url}"
            error = APITimeoutError(msg, method=method, url=url)
            cause = sanitized(exc)
        except (aiohttp.ClientError, OSError) as exc:
            failure = find_tls_error(exc)
            if failure is not None:
                error = tls_error(failure, method, url)
            else:
                msg = f"could not send {method} {url}: {exc}"
                error = APIConnectionError(msg, method=method, url=url)
            cause = sanitized(exc)
        else:
            return AiohttpResponse(response, method, url)
        # Raised here, outside ``except``: aiohttp's exception, whose frames hold
        # the request's headers, is not chained (see _base).
        raise error from cause

    async def aclose(self) -> None:
        """Close the session the transport made (a session it was given stays open)."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None and self._owns_session:
            await session.close()
