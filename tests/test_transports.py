"""The transports over real loopback sockets: error mapping, connection reuse, cleanup.

Each test runs on asyncio with aiohttp, on asyncio with httpx2, and on trio with
httpx2, against small raw socket servers made with anyio, so that every failure
(nothing listening, no answer, a body cut short, bytes that are not HTTP) is
produced for real rather than mocked.
"""

from __future__ import annotations

import contextlib
import gc
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing, asynccontextmanager
from typing import Any

import anyio
import anyio.lowlevel
import attrs
import pytest
from anyio.abc import SocketAttribute, SocketStream

import socialwrite
import socialwrite.transports
from socialwrite import APIConnectionError, APIResponseValidationError, APITimeoutError
from socialwrite._secret import Secret
from socialwrite._transport import default_transport
from socialwrite._transport._base import new_request
from socialwrite.transports import (
    AiohttpTransport,
    Httpx2Transport,
    MockResponse,
    MockTransport,
    Request,
    Response,
    Timeout,
    Transport,
)

pytestmark = pytest.mark.anyio

SECRET = "sk_live_do_not_print_me"
Handler = Callable[[SocketStream], Awaitable[None]]

CASES = [
    pytest.param(("asyncio", "aiohttp"), id="asyncio+aiohttp"),
    pytest.param(("asyncio", "httpx2"), id="asyncio+httpx2"),
    pytest.param(("trio", "httpx2"), id="trio+httpx2"),
]


@pytest.fixture(params=CASES)
def case(request: pytest.FixtureRequest) -> tuple[str, str]:
    """An event loop and the transport library that runs on it."""
    backend, library = request.param
    return str(backend), str(library)


@pytest.fixture
def anyio_backend(case: tuple[str, str]) -> str:
    """The loop of the case (this module picks its transports itself)."""
    return case[0]


@pytest.fixture
def make_transport(case: tuple[str, str]) -> Callable[[], Transport]:
    """Build a fresh transport of the case's library."""
    if case[1] == "aiohttp":
        return AiohttpTransport
    return Httpx2Transport


# -- raw servers ------------------------------------------------------------------------


async def read_request(stream: SocketStream) -> bytes:
    """Read one request (headers and a Content-Length body); return its head."""
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        buffer += await stream.receive()
    head, _, body = buffer.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += await stream.receive()
    return head


@asynccontextmanager
async def raw_server(handle: Handler) -> AsyncIterator[str]:
    """Serve ``handle`` on a free loopback port; yield the base URL."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(SocketAttribute.local_port)  # noqa: S610 - not Django

    async def serve_one(stream: SocketStream) -> None:
        async with stream:
            # The client may hang up first: then there is nothing left to answer.
            with contextlib.suppress(
                anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError
            ):
                await handle(stream)

    async with listener, anyio.create_task_group() as task_group:
        task_group.start_soon(listener.serve, serve_one)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            task_group.cancel_scope.cancel()


def unused_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def request_to(base_url: str, *, read_timeout: float = 5.0) -> Request:
    """A write-like request carrying a secret that no error may echo."""
    return Request(
        method="POST",
        url=f"{base_url}/v1/social/write",
        headers={"Authorization": f"Bearer {SECRET}", "Content-Type": "application/json"},
        body=b'{"platforms": ["x"], "content": {"text": "hi"}}',
        timeout=Timeout(connect=5.0, read=read_timeout),
    )


def check_mapped(error: BaseException, request: Request) -> None:
    """Ours, raised ``from`` the library's exception, naming the call, never the key."""
    assert isinstance(error, socialwrite.APIError)
    assert error.__cause__ is not None
    assert not isinstance(error.__cause__, socialwrite.SocialWriteError)
    assert error.method == request.method
    assert error.url == request.url
    assert request.url in str(error)
    assert SECRET not in str(error)
    assert SECRET not in repr(error)


async def answer(stream: SocketStream, raw: bytes) -> None:
    """Read a request, then send ``raw`` bytes back."""
    await read_request(stream)
    await stream.send(raw)


OK_SSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nX-Request-Id: req_1\r\n"
    b"Content-Length: 19\r\n\r\nevent: done\ndata: 1"
)


# -- error mapping ----------------------------------------------------------------------


async def test_connection_refused_is_a_connection_error(
    make_transport: Callable[[], Transport],
) -> None:
    """Nothing listening: APIConnectionError (not a timeout), from the library's error."""
    request = request_to(f"http://127.0.0.1:{unused_port()}")
    transport = make_transport()
    try:
        with pytest.raises(APIConnectionError) as caught:
            await transport.send(request)
    finally:
        await transport.aclose()
    assert not isinstance(caught.value, APITimeoutError)
    check_mapped(caught.value, request)
    assert "connect" in str(caught.value)


async def test_no_answer_is_a_timeout(make_transport: Callable[[], Transport]) -> None:
    """A server that accepts and never answers: APITimeoutError after the read timeout."""

    async def silent(stream: SocketStream) -> None:
        await read_request(stream)
        await anyio.sleep_forever()

    transport = make_transport()
    async with raw_server(silent) as base_url:
        request = request_to(base_url, read_timeout=0.2)
        try:
            with pytest.raises(APITimeoutError) as caught:
                await transport.send(request)
        finally:
            await transport.aclose()
    check_mapped(caught.value, request)


async def test_a_stalled_body_is_a_timeout(make_transport: Callable[[], Transport]) -> None:
    """Headers, one event, then silence: reading the body raises APITimeoutError."""

    async def stall(stream: SocketStream) -> None:
        await answer(
            stream,
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n6\r\nid: 1\n\r\n",
        )
        await anyio.sleep_forever()

    transport = make_transport()
    async with raw_server(stall) as base_url:
        request = request_to(base_url, read_timeout=0.2)
        try:
            response = await transport.send(request)
            try:
                assert response.status_code == 200
                with pytest.raises(APITimeoutError) as caught:
                    await response.aread(1024)
            finally:
                await response.aclose()
        finally:
            await transport.aclose()
    check_mapped(caught.value, request)


@pytest.mark.parametrize(
    "head",
    [
        pytest.param(b"Content-Length: 1000\r\n", id="content-length"),
        pytest.param(b"Transfer-Encoding: chunked\r\n", id="chunked"),
    ],
)
async def test_a_body_cut_short_is_a_connection_error(
    make_transport: Callable[[], Transport], head: bytes
) -> None:
    """The server closes mid-body: APIConnectionError (retryable), not a timeout."""
    first_chunk = b"6\r\nid: 1\n\r\n" if b"chunked" in head else b"id: 1\n"

    async def cut(stream: SocketStream) -> None:
        await answer(
            stream,
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            + head
            + b"\r\n"
            + first_chunk,
        )

    transport = make_transport()
    async with raw_server(cut) as base_url:
        request = request_to(base_url)
        try:
            response = await transport.send(request)
            try:
                with pytest.raises(APIConnectionError) as caught:
                    await response.aread(1024)
            finally:
                await response.aclose()
        finally:
            await transport.aclose()
    assert not isinstance(caught.value, APITimeoutError)
    check_mapped(caught.value, request)


async def test_hanging_up_before_answering_is_a_connection_error(
    make_transport: Callable[[], Transport],
) -> None:
    """The server reads the request and closes: APIConnectionError."""

    async def hang_up(stream: SocketStream) -> None:
        await read_request(stream)

    transport = make_transport()
    async with raw_server(hang_up) as base_url:
        request = request_to(base_url)
        try:
            with pytest.raises(APIConnectionError) as caught:
                await transport.send(request)
        finally:
            await transport.aclose()
    assert not isinstance(caught.value, APITimeoutError)
    check_mapped(caught.value, request)


@pytest.mark.parametrize(
    "garbage",
    [
        pytest.param(b"SSH-2.0-OpenSSH_9.6\r\n\r\n", id="not-http"),
        pytest.param(b"HTTP/1.1 200 OK\r\nno colon in this header\r\n\r\n", id="bad-header"),
    ],
)
async def test_an_answer_that_is_not_http_is_a_connection_error(
    make_transport: Callable[[], Transport], garbage: bytes
) -> None:
    """Garbage instead of HTTP: APIConnectionError, the same on every transport."""

    async def babble(stream: SocketStream) -> None:
        await answer(stream, garbage)

    transport = make_transport()
    async with raw_server(babble) as base_url:
        request = request_to(base_url)
        try:
            with pytest.raises(APIConnectionError) as caught:
                await transport.send(request)
        finally:
            await transport.aclose()
    assert not isinstance(caught.value, APITimeoutError)
    check_mapped(caught.value, request)


async def test_a_client_with_such_a_server_raises_the_mapped_error(
    make_transport: Callable[[], Transport],
) -> None:
    """The mapping reaches the caller of ``write()`` unchanged (no retries asked)."""

    async def babble(stream: SocketStream) -> None:
        await answer(stream, b"SSH-2.0-OpenSSH_9.6\r\n\r\n")

    transport = make_transport()
    async with raw_server(babble) as base_url:
        client = socialwrite.AsyncClient(
            SECRET, base_url=base_url, transport=transport, max_retries=0
        )
        try:
            async with client:
                with pytest.raises(APIConnectionError) as caught:
                    await client.write(platforms=["x"], content={"text": "hi"})
        finally:
            await transport.aclose()
    assert SECRET not in str(caught.value)
    assert caught.value.__cause__ is not None


# -- responses and connections ----------------------------------------------------------


async def test_a_read_response_returns_its_connection_to_the_pool(
    make_transport: Callable[[], Transport],
) -> None:
    """Two requests in a row, each read to its end, share one connection."""
    connections = 0

    async def keep_alive(stream: SocketStream) -> None:
        nonlocal connections
        connections += 1
        for _ in range(2):
            await answer(stream, OK_SSE)
        await anyio.sleep_forever()

    transport = make_transport()
    async with raw_server(keep_alive) as base_url:
        try:
            for _ in range(2):
                response = await transport.send(request_to(base_url))
                try:
                    assert await response.aread(1024) == b"event: done\ndata: 1"
                    assert response.headers["x-request-id"] == "req_1"
                    assert response.headers["content-type"] == "text/event-stream"
                finally:
                    await response.aclose()
                await response.aclose()  # a second close does nothing
        finally:
            await transport.aclose()
    assert connections == 1


async def test_aread_refuses_a_body_over_its_limit(
    make_transport: Callable[[], Transport],
) -> None:
    """A body larger than the limit raises APIResponseValidationError, not a MemoryError."""

    async def big(stream: SocketStream) -> None:
        await answer(stream, OK_SSE)

    transport = make_transport()
    async with raw_server(big) as base_url:
        try:
            response = await transport.send(request_to(base_url))
            try:
                with pytest.raises(APIResponseValidationError):
                    await response.aread(5)
            finally:
                await response.aclose()
        finally:
            await transport.aclose()


async def test_leaving_a_body_early_leaves_nothing_behind(
    make_transport: Callable[[], Transport],
) -> None:
    """Stop after one chunk of a long stream: closing it leaves no generator to warn about."""

    async def endless(stream: SocketStream) -> None:
        await answer(
            stream,
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n",
        )
        while True:
            await stream.send(b"7\r\n: ping\n\r\n")
            await anyio.sleep(0.01)

    transport = make_transport()
    async with raw_server(endless) as base_url:
        try:
            response = await transport.send(request_to(base_url))
            try:
                async with aclosing(response.aiter_bytes()) as chunks:
                    async for chunk in chunks:
                        assert chunk.startswith(b"7\r\n") or b"ping" in chunk
                        break
            finally:
                await response.aclose()
        finally:
            await transport.aclose()
    # Warnings are errors: a half-run generator collected here would fail the test.
    gc.collect()
    await anyio.lowlevel.checkpoint()


async def test_a_given_library_client_is_never_closed(case: tuple[str, str]) -> None:
    """The transport uses the caller's session or client and leaves it open."""
    async with raw_server(lambda stream: answer(stream, OK_SSE)) as base_url:
        if case[1] == "aiohttp":
            import aiohttp

            async with aiohttp.ClientSession() as session:
                transport: Transport = AiohttpTransport(session)
                response = await transport.send(request_to(base_url))
                await response.aread(1024)
                await response.aclose()
                await transport.aclose()
                assert not session.closed
        else:
            import httpx2

            async with httpx2.AsyncClient() as http:
                transport = Httpx2Transport(client=http)
                response = await transport.send(request_to(base_url))
                await response.aread(1024)
                await response.aclose()
                await transport.aclose()
                assert not http.is_closed


REDIRECT = (
    b"HTTP/1.1 302 Found\r\nLocation: /v1/elsewhere\r\nContent-Type: application/json\r\n"
    b"Content-Length: 2\r\n\r\n{}"
)


@pytest.mark.parametrize("given", [False, True], ids=["own", "given-following-client"])
async def test_a_redirect_is_never_followed(case: tuple[str, str], given: bool) -> None:
    """A 302 comes back as the answer, on one request, even from a client set to follow."""
    requests: list[bytes] = []

    async def redirect(stream: SocketStream) -> None:
        requests.append(await read_request(stream))
        await stream.send(REDIRECT)

    async with raw_server(redirect) as base_url, contextlib.AsyncExitStack() as stack:
        transport: Transport
        if case[1] == "aiohttp":
            import aiohttp

            session = None
            if given:
                session = await stack.enter_async_context(aiohttp.ClientSession())
            transport = AiohttpTransport(session)
        else:
            import httpx2

            client = None
            if given:
                client = await stack.enter_async_context(httpx2.AsyncClient(follow_redirects=True))
            transport = Httpx2Transport(client=client)
        try:
            response = await transport.send(request_to(base_url))
            try:
                assert response.status_code == 302
                assert response.headers["location"] == "/v1/elsewhere"
            finally:
                await response.aclose()
        finally:
            await transport.aclose()
    assert len(requests) == 1
    assert requests[0].startswith(b"POST /v1/social/write ")


async def test_a_closed_transport_refuses_to_send(
    make_transport: Callable[[], Transport],
) -> None:
    """After ``aclose()`` a transport raises APIConnectionError instead of reopening."""
    transport = make_transport()
    await transport.aclose()
    with pytest.raises(APIConnectionError, match="closed"):
        await transport.send(request_to(f"http://127.0.0.1:{unused_port()}"))


async def test_user_agent_names_the_library(case: tuple[str, str]) -> None:
    """``user_agent`` is ``<library>/<version>``, for the client's User-Agent header."""
    transport: Transport = AiohttpTransport() if case[1] == "aiohttp" else Httpx2Transport()
    name, _, version = transport.user_agent.partition("/")
    assert name == case[1]
    assert version[:1].isdigit()
    await transport.aclose()


# -- choosing a transport ---------------------------------------------------------------


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_a_client_uses_the_transport_it_is_given(anyio_backend: str) -> None:
    """``AsyncClient(transport=...)`` sends through it and does not close it."""

    def handler(request: Request) -> MockResponse:
        return MockResponse(
            headers={"Content-Type": "application/json"},
            body=b'{"results": [{"platform": "x", "success": true}], "credits_used": 0.0075}',
        )

    transport = MockTransport(handler)
    async with socialwrite.AsyncClient("key", base_url="http://api.test", transport=transport):
        pass
    assert not transport.closed
    async with socialwrite.AsyncClient(
        "key", base_url="http://api.test", transport=transport
    ) as client:
        result = await client.write(platforms=["x"], content={"text": "hi"})
    assert result.ok
    assert [r.url for r in transport.requests] == ["http://api.test/v1/social/write"]
    assert not transport.closed


def test_default_transports_per_loop() -> None:
    """aiohttp on asyncio, httpx2 on trio, and a clear refusal of any other loop."""
    assert isinstance(default_transport("asyncio"), AiohttpTransport)
    assert isinstance(default_transport("trio"), Httpx2Transport)
    with pytest.raises(RuntimeError, match="asyncio or trio"):
        default_transport("curio")


def test_trio_without_the_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """With httpx2 missing, the trio default names the extra to install."""
    monkeypatch.setitem(sys.modules, "httpx2", None)  # makes ``import httpx2`` fail
    monkeypatch.delitem(sys.modules, "socialwrite._transport._httpx2", raising=False)
    with pytest.raises(RuntimeError, match=r'pip install "socialwrite\[trio\]"') as caught:
        default_transport("trio")
    assert isinstance(caught.value.__cause__, ImportError)


def test_a_trio_client_without_the_extra_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A write under trio without httpx2 fails with the install hint, before any request."""
    import trio

    monkeypatch.setitem(sys.modules, "httpx2", None)
    monkeypatch.delitem(sys.modules, "socialwrite._transport._httpx2", raising=False)

    async def write() -> None:
        async with socialwrite.AsyncClient("key", base_url="http://127.0.0.1:9") as client:
            await client.write(platforms=["x"], content={"text": "hi"})

    with pytest.raises(RuntimeError, match=r'pip install "socialwrite\[trio\]"'):
        trio.run(write)


def test_the_transports_module_names_its_library_when_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``from socialwrite.transports import Httpx2Transport`` without httpx2 names the extra."""
    monkeypatch.setitem(sys.modules, "httpx2", None)
    monkeypatch.delitem(sys.modules, "socialwrite._transport._httpx2", raising=False)
    monkeypatch.delitem(vars(socialwrite.transports), "Httpx2Transport", raising=False)
    with pytest.raises(ImportError, match=r'pip install "socialwrite\[trio\]"'):
        socialwrite.transports.__getattr__("Httpx2Transport")


def test_the_transports_module_is_complete_and_documented() -> None:
    """``__all__`` is sorted, every name resolves, and every name has a docstring."""
    names = socialwrite.transports.__all__
    assert list(names) == sorted(names)
    for name in names:
        value = getattr(socialwrite.transports, name)
        assert value.__doc__, name
        assert name in dir(socialwrite.transports)
    with pytest.raises(AttributeError, match="NoSuchTransport"):
        socialwrite.transports.__getattr__("NoSuchTransport")
    assert isinstance(Httpx2Transport(), Transport)
    assert Response.__doc__


def test_importing_the_transports_module_imports_no_http_library() -> None:
    """aiohttp and httpx2 are imported only when their transport is looked up."""
    import subprocess

    code = (
        "import sys, socialwrite.transports as t\n"
        "assert 'aiohttp' not in sys.modules and 'httpx2' not in sys.modules\n"
        "t.Httpx2Transport\n"
        "assert 'httpx2' in sys.modules and 'aiohttp' not in sys.modules\n"
        "t.AiohttpTransport\n"
        "assert 'aiohttp' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_quick_request_builder_makes_what_the_constructor_makes() -> None:
    """The write's request builder sets every field, as Request's own __init__ does."""
    fields: dict[str, Any] = {
        "method": "POST",
        "url": "http://127.0.0.1:1/v1/social/write",
        "headers": {"Idempotency-Key": "sw-1"},
        "body": b"{}",
        "timeout": Timeout(connect=1.0, read=2.0),
        "auth": Secret("sk-1"),
    }
    *positional, auth = fields.values()
    built = new_request(*positional, auth=auth)
    assert built == Request(**fields)
    assert vars(built) == fields
    assert list(fields) == [f.name for f in attrs.fields(Request)]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        built.url = "http://elsewhere.example"  # type: ignore[misc]
