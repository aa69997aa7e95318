"""The API key leaks nowhere: errors, their chains, traceback locals, logs, results, events.

Each failure a write can meet (401, 5xx after retries, a refused connection, a
timeout, a malformed answer) and a server that echoes the key (in
``X-Request-Id``, in an SSE result's ``error`` and ``extra``, in an error body)
runs on a real transport (aiohttp on asyncio, httpx2 on trio) against a raw
loopback server, and every way of showing the outcome is searched for the key.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import pickle
import socket
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
import pytest
from anyio.abc import SocketAttribute, SocketStream
from rich.console import Console
from rich.traceback import Traceback

import socialwrite
from socialwrite._secret import Secret

pytestmark = pytest.mark.anyio

KEY = "sk_live_leak_0123456789abcdef"
Handler = Callable[[SocketStream, dict[str, str]], Awaitable[None]]
BEARER = f"Bearer {KEY}"


async def read_request(stream: SocketStream) -> dict[str, str]:
    """Read one request (headers and a Content-Length body); return its headers, lowercased."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += await stream.receive()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")[1:]
    headers = {name.lower(): value.strip() for name, _, value in (h.partition(":") for h in lines)}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        body += await stream.receive()
    return headers


@asynccontextmanager
async def raw_server(handle: Handler, seen: list[bool]) -> AsyncIterator[str]:
    """Serve ``handle`` on a free loopback port, recording whether each request had the key."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(SocketAttribute.local_port)  # noqa: S610 - not Django

    async def serve_one(stream: SocketStream) -> None:
        async with stream:
            with contextlib.suppress(
                anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError
            ):
                while True:
                    headers = await read_request(stream)
                    seen.append(headers.get("authorization") == BEARER)
                    await handle(stream, headers)

    async with listener, anyio.create_task_group() as task_group:
        task_group.start_soon(listener.serve, serve_one)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            task_group.cancel_scope.cancel()


def answer(status: str, headers: dict[str, str], body: bytes) -> bytes:
    """An HTTP/1.1 answer's bytes."""
    head = f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return head.encode() + b"\r\n" + body


def replying(data: bytes) -> Handler:
    """A handler that sends ``data`` to every request."""

    async def handle(stream: SocketStream, headers: dict[str, str]) -> None:
        await stream.send(data)

    return handle


async def hang(stream: SocketStream, headers: dict[str, str]) -> None:
    """Never answer."""
    await anyio.sleep_forever()


ERROR_BODY = json.dumps({"error": {"message": f"bad key {KEY}", "type": "auth"}}).encode()
ECHO = {"X-Request-Id": f"req-{KEY}", "Content-Type": "application/json"}
FAILURES: dict[str, tuple[Handler | None, type[socialwrite.APIError]]] = {
    "401": (replying(answer("401 Unauthorized", ECHO, ERROR_BODY)), socialwrite.APIStatusError),
    "503": (
        replying(answer("503 Service Unavailable", ECHO | {"Retry-After": "0"}, ERROR_BODY)),
        socialwrite.APIStatusError,
    ),
    "refused": (None, socialwrite.APIConnectionError),
    "timeout": (hang, socialwrite.APITimeoutError),
    "malformed": (replying(b"NOT HTTP AT ALL\r\n\r\n"), socialwrite.APIConnectionError),
}


def chain(error: BaseException) -> list[BaseException]:
    """The error and every exception in its ``__cause__``/``__context__`` chain."""
    found: list[BaseException] = []
    todo: list[BaseException | None] = [error]
    while todo:
        current = todo.pop()
        if current is None or any(current is seen for seen in found):
            continue
        found.append(current)
        todo += [current.__cause__, current.__context__]
    return found


def rendered(error: BaseException) -> str:
    """Every way of showing ``error``: str, repr, its chain, both tracebacks with locals."""
    parts = [f"{link!s} {link!r}" for link in chain(error)]
    parts += traceback.TracebackException.from_exception(error, capture_locals=True).format()
    console = Console(file=io.StringIO(), width=200)
    console.print(
        Traceback.from_exception(type(error), error, error.__traceback__, show_locals=True)
    )
    parts.append(console.file.getvalue())  # type: ignore[attr-defined]
    return "\n".join(parts)


def unused_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_the_secret_never_shows_itself() -> None:
    """repr, str, format and pickling of a Secret hide the key; the header is given on demand."""
    secret = Secret(KEY)
    assert repr(secret) == str(secret) == f"{secret}" == "Secret('***')"
    assert KEY not in repr({"auth": secret})
    with pytest.raises(TypeError):
        pickle.dumps(secret)
    assert secret.authorization() == f"Bearer {KEY}"


@pytest.mark.parametrize("failure", list(FAILURES))
async def test_a_failed_write_shows_no_key(failure: str, caplog: pytest.LogCaptureFixture) -> None:
    """Each failure: no key in the error, its chain, traceback locals (both kinds) or logs."""
    caplog.set_level(logging.DEBUG, logger="socialwrite")
    handler, kind = FAILURES[failure]
    seen: list[bool] = []
    timeout = socialwrite.Timeout(connect=2.0, read=0.3)
    async with contextlib.AsyncExitStack() as stack:
        if handler is None:
            base_url = f"http://127.0.0.1:{unused_port()}"
        else:
            base_url = await stack.enter_async_context(raw_server(handler, seen))
        client = socialwrite.AsyncClient(
            KEY, base_url=base_url, timeout=timeout, max_retries=1 if failure == "503" else 0
        )
        async with client:
            with pytest.raises(kind) as caught:
                await client.write(platforms=["x"], content={"text": "hi"})
    assert all(seen)
    shown = rendered(caught.value)
    assert KEY not in shown
    assert "auth=Secret('***')" in shown  # the locals were shown, the key not
    assert KEY not in caplog.text
    if failure in {"401", "503"}:
        assert isinstance(caught.value, socialwrite.APIStatusError)
        assert caught.value.request_id == "req-[redacted]"


def sse(*events: tuple[str, dict[str, object]]) -> bytes:
    """An event stream of ``(name, data)`` events."""
    return b"".join(
        f"id: {n}\nevent: {name}\ndata: {json.dumps(data)}\n\n".encode()
        for n, (name, data) in enumerate(events, 1)
    )


async def test_an_echoing_server_gets_no_key_into_results_or_events(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The key echoed in X-Request-Id, a result's error and extra, split across chunks: removed."""
    caplog.set_level(logging.DEBUG, logger="socialwrite")
    failed = {
        "platform": "x",
        "success": False,
        "post_id": None,
        "url": None,
        "error": f"token {KEY} rejected",
        "error_code": "auth",
        "echo": KEY,
    }
    stream = sse(
        ("result", {"index": 0, **failed}),
        ("done", {"results": [failed], "credits_used": 0, "echo": KEY}),
    )
    cut = stream.index(KEY.encode()) + 5  # the key split across two chunks
    head = answer(
        "200 OK", {"Content-Type": "text/event-stream", "X-Request-Id": f"r-{KEY}"}, stream
    )
    split = len(head) - len(stream) + cut

    async def handle(sock: SocketStream, headers: dict[str, str]) -> None:
        await sock.send(head[:split])
        await anyio.sleep(0.05)
        await sock.send(head[split:])

    seen: list[bool] = []
    async with raw_server(handle, seen) as base_url:
        async with socialwrite.AsyncClient(KEY, base_url=base_url, max_retries=0) as client:
            async with client.write(platforms=["x"], content={"text": "hi"}) as live:
                events = [event async for event in live.events()]
            result = live.result
    shown = repr(events) + repr(result) + repr(result.extra) + repr(result.results[0].extra)
    shown += str(result.request_id) + str(result.results[0].error)
    assert KEY not in shown
    assert "[redacted]" in str(result.results[0].error)
    assert KEY not in caplog.text


async def test_a_transport_of_ones_own_sends_the_key_with_with_auth() -> None:
    """Request.headers never holds the key; with_auth adds it, for the API's origin only."""
    from socialwrite.transports import MockResponse, Request, with_auth

    sent: list[Request] = []

    class Recording:
        user_agent = "mine/1"

        async def send(self, request: Request) -> MockResponse:
            sent.append(request)
            assert dict(with_auth(request)).get("Authorization") == BEARER
            done = {"results": [], "credits_used": 0}
            body = json.dumps(done).encode()
            return MockResponse(headers={"content-type": "application/json"}, body=body)

        async def aclose(self) -> None:
            """Nothing to close."""

    async with socialwrite.AsyncClient(
        KEY, base_url="https://api.example.com", transport=Recording(), max_retries=0
    ) as client:
        with contextlib.suppress(socialwrite.APIError):
            await client.write(platforms=["x"], content={"text": "hi"})
    assert sent
    assert all("Authorization" not in request.headers for request in sent)
    assert all(repr(request.auth) == "Secret('***')" for request in sent)
