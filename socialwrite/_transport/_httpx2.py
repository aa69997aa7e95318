"""The trio-capable transport, on httpx2: the only module of the SDK that imports httpx2.

aiohttp runs only on asyncio; httpx2 runs on asyncio and trio, so this transport
serves trio programs, and anyone who picks it on asyncio. Installed by
``pip install "socialwrite[trio]"`` (httpx2 needs Python 3.11 or later).

Why httpx2 rather than httpx, its origin: under trio, at 32 concurrent writes,
httpx's connection pool spends most of the client's CPU rescanning its
connections for every queued request, and keeps too few of them open; httpx2's
pool does not. ``benchmarks/bench_transport.py`` measures both.

httpx2's exceptions become ours here, most specific first:

```
httpx2.TimeoutException      -> APITimeoutError
  (ConnectTimeout, ReadTimeout, WriteTimeout, PoolTimeout)
a TLS failure (any error)    -> APIConnectionError   (retryable = False; the reason
                                                      and the host in its message)
httpx2.ConnectError          -> APIConnectionError   (nothing listens, DNS)
httpx2.RemoteProtocolError   -> APIConnectionError   (the server hung up early, or
                                                      its answer is not HTTP at all)
httpx2.DecodingError         -> APIResponseValidationError   (a body that does not
                                                     decode as its Content-Encoding says)
httpx2.HTTPError, InvalidURL -> APIConnectionError
```

A malformed answer is a connection failure rather than a validation error:
nothing of it was read, the connection cannot carry another request, and a
retry (with the write's same idempotency key) is what mends a flaky proxy.
aiohttp's transport maps the same failures the same way.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncGenerator, Mapping

import httpx2

from .._errors import APIConnectionError, APIError, APIResponseValidationError, APITimeoutError
from ._base import Request, Response, Timeout, read_limited, sanitized, with_auth
from ._network import NetworkOptions, find_tls_error, tls_error

__all__ = ["Httpx2Response", "Httpx2Transport"]

# Enough for hundreds of concurrent streamed writes on one client, while a
# runaway loop still cannot open unbounded sockets.
_LIMITS = httpx2.Limits(max_connections=512, max_keepalive_connections=64)

_TIMEOUT_WHAT = {
    httpx2.ConnectTimeout: "connecting for",
    httpx2.WriteTimeout: "sending",
    httpx2.PoolTimeout: "waiting for a free connection for",
}


@functools.lru_cache(maxsize=64)
def _library_timeout(timeout: Timeout) -> httpx2.Timeout:
    # Cached: a client sends every request with one of very few timeouts.
    # ``total`` and ``idle`` are enforced above the transport, the same way on
    # every backend; ``pool`` waits as long as a connect may.
    return httpx2.Timeout(
        connect=timeout.connect, read=timeout.read, write=timeout.read, pool=timeout.connect
    )


def _translate(
    exc: httpx2.HTTPError | httpx2.InvalidURL,
    method: str,
    url: str,
    *,
    reading: bool,
    status_code: int | None = None,
) -> APIError:
    """Our error for one of httpx2's, raised by the caller outside its ``except``.

    Its ``__cause__`` is a ``sanitized`` copy of ``exc``: httpx2's exception and
    its traceback hold the request, and so the ``Authorization`` header.
    """
    error = _error_for(exc, method, url, reading=reading, status_code=status_code)
    error.__cause__ = sanitized(exc)
    return error


def _error_for(
    exc: httpx2.HTTPError | httpx2.InvalidURL,
    method: str,
    url: str,
    *,
    reading: bool,
    status_code: int | None,
) -> APIError:
    failure = None if reading else find_tls_error(exc)
    if failure is not None:
        return tls_error(failure, method, url)
    if isinstance(exc, httpx2.TimeoutException):
        if reading:
            what = "reading the answer to"
        else:
            what = _TIMEOUT_WHAT.get(type(exc), "waiting for the answer to")
        msg = f"timed out {what} {method} {url}; retry, or give the client a longer timeout"
        return APITimeoutError(msg, method=method, url=url)
    if isinstance(exc, httpx2.ConnectError):
        msg = (
            f"could not connect to send {method} {url}: {exc}; "
            "check that the server runs and that base_url is right"
        )
        return APIConnectionError(msg, method=method, url=url)
    if isinstance(exc, httpx2.RemoteProtocolError):
        if reading:
            msg = f"the connection broke while reading the answer to {method} {url}: {exc}"
        else:
            msg = (
                f"the server's answer to {method} {url} broke off or is not HTTP: {exc}; "
                "check that base_url points at the socialwrite API"
            )
        return APIConnectionError(msg, method=method, url=url)
    if isinstance(exc, httpx2.DecodingError):
        msg = f"the answer to {method} {url} does not decode as its Content-Encoding says: {exc}"
        return APIResponseValidationError(msg, status_code=status_code, method=method, url=url)
    if isinstance(exc, httpx2.InvalidURL):
        msg = f"cannot send {method} {url}: the URL is not valid: {exc}"
        return APIConnectionError(msg, method=method, url=url)
    if reading:
        msg = f"the connection broke while reading the answer to {method} {url}: {exc}"
    else:
        msg = f"could not send {method} {url}: {exc}"
    return APIConnectionError(msg, method=method, url=url)


async def _send(client: httpx2.AsyncClient, request: Request) -> httpx2.Response:
    """Send ``request`` with httpx2: the key joins its headers here, and only here."""
    built = client.build_request(
        request.method,
        request.url,
        headers=with_auth(request),
        content=request.body,
        timeout=_library_timeout(request.timeout),
    )
    # Nothing a shared client remembers may travel to another origin.
    built.headers.pop("cookie", None)
    return await client.send(built, stream=True, follow_redirects=False)


class _ProxyRouter(httpx2.AsyncBaseTransport):
    """Sends each request directly or through its proxy, as ``NetworkOptions.proxy_for`` says.

    One httpx2 transport (and pool) per proxy, made on first use.
    """

    def __init__(self, network: NetworkOptions) -> None:
        self._network = network
        self._transports: dict[str | None, httpx2.AsyncHTTPTransport] = {}

    def _for(self, proxy: str | None) -> httpx2.AsyncHTTPTransport:
        transport = self._transports.get(proxy)
        if transport is None:
            transport = httpx2.AsyncHTTPTransport(
                verify=self._network.ssl_context(), limits=_LIMITS, trust_env=False, proxy=proxy
            )
            self._transports[proxy] = transport
        return transport

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """Send ``request`` through the transport of its proxy."""
        proxy = self._network.proxy_for(str(request.url))
        return await self._for(proxy).handle_async_request(request)

    async def aclose(self) -> None:
        """Close every transport made."""
        transports, self._transports = self._transports, {}
        for transport in transports.values():
            await transport.aclose()


def _new_client(network: NetworkOptions | None) -> httpx2.AsyncClient:
    """The transport's own client: the network settings given, never the environment's."""
    if network is None:
        return httpx2.AsyncClient(
            limits=_LIMITS,
            follow_redirects=False,
            # Proxies and certificates come from the caller's own client,
            # not from whatever the environment happens to hold.
            trust_env=False,
            timeout=_library_timeout(Timeout()),
        )
    if network.env_proxies:
        # The environment's proxies, read when the client was made: per request.
        return httpx2.AsyncClient(
            transport=_ProxyRouter(network),
            follow_redirects=False,
            trust_env=False,
            timeout=_library_timeout(Timeout()),
        )
    return httpx2.AsyncClient(
        limits=_LIMITS,
        follow_redirects=False,
        trust_env=False,
        verify=network.ssl_context(),
        proxy=network.proxy,
        timeout=_library_timeout(Timeout()),
    )


class Httpx2Response:
    """A ``Response`` over a streamed ``httpx2.Response`` (see ``_base.Response``).

    Attributes:
        status_code: the HTTP status.
        headers: the headers, with lowercase names.
    """

    __slots__ = ("_chunks", "_closed", "_method", "_response", "_url", "headers", "status_code")

    def __init__(self, response: httpx2.Response, method: str, url: str) -> None:
        self._response = response
        self._chunks: AsyncGenerator[bytes, None] | None = None
        self._method = method
        self._url = url
        self._closed = False
        self.status_code: int = response.status_code
        # httpx2 already lowercases the names (and joins repeated headers).
        self.headers: Mapping[str, str] = dict(response.headers.items())

    async def aiter_bytes(self) -> AsyncGenerator[bytes, None]:
        """Yield body chunks as they arrive (decoded per ``Content-Encoding``).

        Raises:
            APITimeoutError: no byte came within the read timeout.
            APIConnectionError: the connection broke before the body's end.
            APIResponseValidationError: the body does not decode.
        """
        inner = self._response.aiter_bytes()
        self._chunks = inner
        try:
            async for chunk in inner:
                if chunk:
                    yield chunk
        except httpx2.HTTPError as exc:
            error = _translate(
                exc, self._method, self._url, reading=True, status_code=self.status_code
            )
        else:
            return
        raise error

    async def aread(self, limit: int) -> bytes:
        """Read the whole body, refusing more than ``limit`` bytes."""
        return await read_limited(self, limit, method=self._method, url=self._url)

    async def aclose(self) -> None:
        """Release a fully read connection to the pool, close a half-read one; idempotent."""
        if self._closed:
            return
        self._closed = True
        await self._response.aclose()
        chunks, self._chunks = self._chunks, None
        if chunks is not None and chunks.ag_frame is not None:  # type: ignore[attr-defined]
            # httpx2 reads through a chain of nested async generators, and closing
            # the outer one leaves the inner ones suspended: garbage collected so,
            # trio warns about each. Reading once more from the closed response
            # makes the innermost one end (EOF or an error), which ends them all.
            with contextlib.suppress(Exception):
                await chunks.__anext__()
            await chunks.aclose()

    def at_eof(self) -> bool:
        """Unknown with httpx2: ``False``.

        (Its ``is_stream_consumed`` turns true when reading *starts*, so it
        cannot tell whether the body's end has arrived.)
        """
        return False

    def close_now(self) -> bool:
        """httpx2 closes by awaiting: never done here (``aclose()`` must run)."""
        return self._closed


class Httpx2Transport:
    """Sends requests with httpx2: the default under trio, and usable on asyncio too.

    Args:
        client: an ``httpx2.AsyncClient`` to send with (its proxies, TLS
            settings, limits). It is shared, never closed by the transport;
            redirects are never followed and cookies never sent, whatever its
            settings. Without one the transport makes its own on first use and
            closes it in ``aclose()``.
        network: the TLS context and proxies of a client made here (the
            ``AsyncClient``'s ``verify``, ``trust_env`` and ``proxy``).

    Example:
        ```python
        import httpx2
        import socialwrite
        from socialwrite.transports import Httpx2Transport

        async with httpx2.AsyncClient(verify="corporate-ca.pem") as http:
            transport = Httpx2Transport(client=http)
            async with socialwrite.AsyncClient(transport=transport) as client:
                await client.write(platforms=["x"], content={"text": "Hello"})
        ```
    """

    def __init__(
        self, client: httpx2.AsyncClient | None = None, *, network: NetworkOptions | None = None
    ) -> None:
        self._client = client
        self._network = network
        self._owns_client = client is None
        self._closed = False

    @property
    def user_agent(self) -> str:
        """``httpx2/<version>``."""
        return f"httpx2/{httpx2.__version__}"

    def _get_client(self) -> httpx2.AsyncClient:
        if self._closed:
            msg = "this transport is closed; create a new AsyncClient"
            raise APIConnectionError(msg)
        if self._client is None:
            self._client = _new_client(self._network)
        return self._client

    async def send(self, request: Request) -> Response:
        """Send ``request``; return once the answer's headers arrived.

        Raises:
            APITimeoutError: connecting, sending, or waiting for the headers timed out.
            APIConnectionError: the request could not be sent, or the answer is not HTTP.
        """
        client = self._get_client()
        method, url = request.method, request.url
        try:
            response = await _send(client, request)
        except (httpx2.HTTPError, httpx2.InvalidURL) as exc:
            error = _translate(exc, method, url, reading=False)
        else:
            return Httpx2Response(response, method, url)
        # Raised here, outside ``except``: httpx2's exception, whose frames hold
        # the request's headers, is not chained.
        raise error

    async def aclose(self) -> None:
        """Close the client the transport made (a client it was given stays open)."""
        self._closed = True
        client, self._client = self._client, None
        if client is not None and self._owns_client:
            await client.aclose()
