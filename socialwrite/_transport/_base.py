"""The transport interface: send one request, get a streamed response.

Everything above this layer is backend-neutral (anyio); everything below it is
one HTTP library. A transport turns its library's exceptions into
``APIConnectionError`` / ``APITimeoutError`` and never lets one of its own
types reach the caller, nor chains one: the library's exception (whose
traceback holds the request and its ``Authorization`` header) is replaced by a
``sanitized`` copy, and the error is raised outside the ``except`` block, so
its ``__context__`` is empty.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Mapping
from contextlib import aclosing
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

import attrs

from .._errors import APIResponseValidationError
from .._instances import from_fields
from .._secret import Secret

__all__ = [
    "Body",
    "ByteChunks",
    "Request",
    "Response",
    "Timeout",
    "Transport",
    "TransportFailure",
    "new_request",
    "origin_of",
    "read_limited",
    "read_prefix",
    "sanitized",
    "with_auth",
]

Body = bytes | AsyncIterable[bytes] | None
"""A request body: bytes, an async iterable of chunks (streamed), or nothing."""


@attrs.frozen(kw_only=True)
class Timeout:
    """How long a request, and a write as a whole, may wait, in seconds (``None``: no limit).

    Attributes:
        connect: to open a connection (DNS, TCP, TLS).
        read: between two reads of the answer: a trickle of bytes keeps it alive.
        total: each attempt of a request as a whole, from sending to the last
            byte of the answer (an upload's ``PUT`` excepted: it is bound by
            ``read`` alone, however large the file). Off by default: a long
            publish must not trip it (and a blind retry of a publish that went
            through is how other SDKs post twice).
        idle: for a streamed write, the longest gap between two events
            (keep-alive pings reset it).
        deadline: the whole write call, from its first attempt to its answer,
            retries and the waits between them included (the uploads of local
            files before it are not counted: they have their own limits).
            When it passes, the write stops with ``APITimeoutError`` and is
            not retried; it may have been published, so send it again with the
            error's ``idempotency_key`` to get its answer. Default: 5 minutes.
        progress: for a streamed write, the longest time without an event that
            moves the write forward: a status with a new state or progress, a
            result, the final answer. Keep-alive pings and repeated statuses do
            not count. When it passes, the attempt fails with
            ``APITimeoutError`` and is retried with the same idempotency key,
            resuming after the last event seen. Default: 2 minutes.

    Example:
        >>> Timeout(connect=5.0, read=60.0)
        Timeout(connect=5.0, read=60.0, total=None, idle=None, deadline=300.0, progress=120.0)
        >>> Timeout(deadline=900.0).deadline
        900.0
    """

    connect: float | None = 10.0
    read: float | None = 30.0
    total: float | None = None
    idle: float | None = None
    deadline: float | None = 300.0
    progress: float | None = 120.0

    @classmethod
    def coerce(cls, value: float | Timeout | None) -> Timeout:
        """Build a ``Timeout`` from a number (connect and read), a ``Timeout``, or ``None``.

        A number sets ``connect`` and ``read``, the other limits keep their
        defaults; ``None`` turns every limit off.
        """
        if isinstance(value, Timeout):
            return value
        if value is None:
            return cls(connect=None, read=None, total=None, idle=None, deadline=None, progress=None)
        seconds = float(value)
        return cls(connect=seconds, read=seconds)


@attrs.frozen(kw_only=True, slots=False)
class Request:
    """An HTTP request as the transports see it.

    Attributes:
        method: ``GET``, ``POST``, ``PUT``, ``HEAD``, ...
        url: the absolute URL.
        headers: header names and values (sent as given); never ``Authorization``.
        body: bytes, an async iterable of chunks, or ``None``.
        timeout: the request's time limits.
        auth: the API key, for the API's own origin only: the transport adds
            the ``Authorization`` header from it inside its send (see
            ``with_auth``), so no mapping above the transport holds the key.
    """

    method: str
    url: str
    headers: Mapping[str, str] = attrs.field(factory=dict)
    body: Body = None
    timeout: Timeout = attrs.field(factory=Timeout)
    auth: Secret | None = None


def with_auth(request: Request) -> Mapping[str, str]:
    """The headers to send: ``request.headers`` and, with ``auth``, ``Authorization``.

    Call it in the argument list of the library's send, so that no local of a
    frame (shown by a traceback's locals) holds the result.
    """
    auth = request.auth
    if auth is None:
        return request.headers
    return {**request.headers, "Authorization": auth.authorization()}


class TransportFailure(Exception):  # noqa: N818 - named for what it stands for
    """The ``__cause__`` of a transport's error: the library's exception, as text only.

    The library's own exception is not chained: its traceback's frames (and the
    exceptions it chains) hold the request, its headers and so the API key.
    This one holds its type and message, and no traceback.
    """


def sanitized(exc: BaseException) -> TransportFailure:
    """A ``TransportFailure`` naming ``exc``'s type and message, with no traceback or chain."""
    kind = type(exc)
    return TransportFailure(f"{kind.__module__}.{kind.__qualname__}: {exc}")


def new_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: Body,
    timeout: Timeout,
    *,
    auth: Secret | None = None,
) -> Request:
    """``Request(...)`` with every field given, made in one step (see ``_instances``).

    One is made per write; that is why ``Request`` has ``slots=False``.
    """
    return from_fields(
        Request,
        {
            "method": method,
            "url": url,
            "headers": headers,
            "body": body,
            "timeout": timeout,
            "auth": auth,
        },
    )


class ByteChunks(Protocol):
    """The chunks of a body as they arrive: ``async for``, and ``aclose()`` to stop early.

    An async generator is one; a transport may also return a class of its own.
    """

    def __aiter__(self) -> AsyncIterator[bytes]:
        """Return the iterator (the object itself)."""
        ...

    def __anext__(self) -> Awaitable[bytes]:
        """The next chunk; ``StopAsyncIteration`` at the end of the body."""
        ...

    def aclose(self) -> Awaitable[None]:
        """Stop reading: release what the iteration holds (safe to call more than once)."""
        ...


class Response(Protocol):
    """A response whose headers have arrived; the body is read on demand.

    ``headers`` has lowercase names. The caller must ``aclose()`` it (which
    returns a fully read connection to the pool, or closes a half-read one).
    """

    @property
    def status_code(self) -> int:
        """The HTTP status."""
        ...

    @property
    def headers(self) -> Mapping[str, str]:
        """The headers, with lowercase names."""
        ...

    def aiter_bytes(self) -> ByteChunks:
        """Yield the body in chunks as they arrive.

        Close it (``contextlib.aclosing``) when leaving before its end, so no
        half-run generator is left for the garbage collector.
        """
        ...

    async def aread(self, limit: int) -> bytes:
        """Read the whole body; raise ``APIResponseValidationError`` past ``limit`` bytes."""
        ...

    async def aclose(self) -> None:
        """Release the connection; safe to call more than once."""
        ...

    def at_eof(self) -> bool:
        """True when the whole body has already arrived (no I/O; ``False`` when unknown)."""
        ...

    def close_now(self) -> bool:
        """Close without awaiting, when the transport can; ``False`` means: ``await aclose()``.

        Lets a caller skip shielding the close from cancellation when there is
        nothing to await.
        """
        ...


@runtime_checkable
class Transport(Protocol):
    """Sends requests. One transport is shared by every task of a client."""

    @property
    def user_agent(self) -> str:
        """The library and version for the ``User-Agent`` header (``aiohttp/3.10.5``)."""
        ...

    async def send(self, request: Request) -> Response:
        """Send ``request`` and return once the answer's headers arrived.

        Raises:
            APITimeoutError: a time limit passed.
            APIConnectionError: the request could not be sent or the connection broke.
        """
        ...

    async def aclose(self) -> None:
        """Close every connection the transport opened (not a session it was given)."""
        ...


async def read_limited(
    response: Response, limit: int, *, method: str | None = None, url: str | None = None
) -> bytes:
    """Read a response's whole body, refusing more than ``limit`` bytes.

    Raises:
        APIResponseValidationError: the body is larger than ``limit``.
    """
    parts: list[bytes] = []
    size = 0
    async with aclosing(response.aiter_bytes()) as chunks:
        async for chunk in chunks:
            size += len(chunk)
            if size > limit:
                where = f" to {method} {url}" if method and url else ""
                msg = f"the answer{where} is larger than {limit} bytes; refusing to read more"
                raise APIResponseValidationError(
                    msg, status_code=response.status_code, method=method, url=url
                )
            parts.append(chunk)
    return b"".join(parts)


async def read_prefix(response: Response, limit: int) -> tuple[bytes, bool]:
    """Read at most ``limit`` bytes of a response's body, never failing for its size.

    For answers whose start is all that is wanted (an error page): a body of
    any size gives its first ``limit`` bytes, and the rest is left unread
    (closing the response then closes its connection).

    Returns:
        The bytes read (at most ``limit``), and whether the body went on past them.
    """
    parts: list[bytes] = []
    size = 0
    async with aclosing(response.aiter_bytes()) as chunks:
        async for chunk in chunks:
            if size + len(chunk) > limit:
                parts.append(chunk[: limit - size])
                return b"".join(parts), True
            size += len(chunk)
            parts.append(chunk)
    return b"".join(parts), False


def origin_of(url: str) -> tuple[str, str, int]:
    """Return ``(scheme, host, port)`` of an absolute URL: what "same origin" compares."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower(), port
