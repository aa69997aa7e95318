"""An in-memory transport for tests: a function answers each request, no sockets.

Like httpx's ``MockTransport``: tests of the client's logic (headers, error
mapping, parsing) run without a server, and can count what was sent.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Mapping

import attrs

from ._base import Request, Response, new_request, read_limited, with_auth

__all__ = ["MockResponse", "MockTransport"]


@attrs.define(kw_only=True)
class MockResponse:
    """A canned answer: status, headers, and the body as bytes or chunks.

    Attributes:
        status_code: the HTTP status.
        headers: header names (any case) and values.
        body: the whole body, or an iterable of chunks sent one by one.
    """

    status_code: int = 200
    headers: Mapping[str, str] = attrs.field(factory=dict)
    body: bytes | Iterable[bytes] = b""
    closed: bool = False

    def __attrs_post_init__(self) -> None:
        self.headers = {k.lower(): v for k, v in self.headers.items()}

    async def aiter_bytes(self) -> AsyncGenerator[bytes, None]:
        """Yield the canned body (an iterable of chunks is read lazily: it may raise)."""
        chunks = [self.body] if isinstance(self.body, bytes) else self.body
        for chunk in chunks:
            if chunk:
                yield chunk

    async def aread(self, limit: int) -> bytes:
        """Return the canned body, refusing more than ``limit`` bytes."""
        return await read_limited(self, limit)

    async def aclose(self) -> None:
        """Mark the response closed."""
        self.closed = True

    def at_eof(self) -> bool:
        """Unknown for a canned body: ``False``."""
        return False

    def close_now(self) -> bool:
        """Mark the response closed, at once."""
        self.closed = True
        return True


Handler = Callable[[Request], "MockResponse | Awaitable[MockResponse]"]


class MockTransport:
    """Answers every request with ``handler(request)`` and records what was sent.

    Attributes:
        requests: every request sent, in order.
        responses: every response handed out, to check they were all closed.
    """

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self.requests: list[Request] = []
        self.responses: list[MockResponse] = []
        self.closed = False

    @property
    def user_agent(self) -> str:
        """``mock/1``."""
        return "mock/1"

    async def send(self, request: Request) -> Response:
        """Record ``request`` and return the handler's answer.

        Like a server, the handler (and ``requests``) sees the ``Authorization``
        header, added from ``request.auth`` as the other transports do.
        """
        if request.auth is not None:
            request = new_request(
                request.method, request.url, with_auth(request), request.body, request.timeout
            )
        self.requests.append(request)
        answer = self._handler(request)
        if inspect.isawaitable(answer):
            answer = await answer
        self.responses.append(answer)
        return answer

    async def aclose(self) -> None:
        """Mark the transport closed."""
        self.closed = True
