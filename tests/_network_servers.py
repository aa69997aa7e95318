"""Loopback servers for the network tests: a forward proxy and a TLS front for the sandbox.

Both run on an asyncio loop of their own in a background thread, so that any
test (asyncio, trio, blocking) can use them, and both listen on 127.0.0.1 only.

- ``ForwardProxy``: an HTTP proxy that takes absolute-URI requests and
  ``CONNECT``, and resolves the made-up host ``api.socialwrite.test`` (and any
  ``*.socialwrite.test``) to 127.0.0.1 itself: a client that reaches such a
  host reached it through the proxy.
- ``TLSFront``: TLS on a port of its own, relayed in clear to a server behind
  it (the sandbox); it counts the TCP connections it accepted and the TLS
  handshakes that succeeded.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future
from urllib.parse import urlsplit

import attrs

__all__ = ["FAKE_HOST", "ForwardProxy", "TLSFront", "serving"]

FAKE_HOST = "api.socialwrite.test"
"""A host name only the proxy resolves."""


def _resolve(host: str) -> str:
    """The proxy's own resolver: ``*.socialwrite.test`` is 127.0.0.1."""
    if host == FAKE_HOST or host.endswith(".socialwrite.test"):
        return "127.0.0.1"
    return host


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()


async def _relay(
    one: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    other: tuple[asyncio.StreamReader, asyncio.StreamWriter],
) -> None:
    """Copy both ways until either side is done, then close both."""
    tasks = [
        asyncio.ensure_future(_pipe(one[0], other[1])),
        asyncio.ensure_future(_pipe(other[0], one[1])),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for writer in (one[1], other[1]):
            writer.close()


@attrs.define
class ForwardProxy:
    """An HTTP forward proxy on 127.0.0.1 (see the module's docstring).

    Attributes:
        port: the port it listens on (once started).
        seen: each request it took: ``"CONNECT host:port"`` or ``"GET http://..."``.
    """

    port: int = 0
    seen: list[str] = attrs.field(factory=list)

    @property
    def url(self) -> str:
        """The proxy's URL, for ``proxy=`` or ``HTTP_PROXY``."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> asyncio.Server:
        """Listen; return the server."""
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        return server

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        request_line, _, rest = head.decode("latin-1").partition("\r\n")
        method, target, version = request_line.split(" ", 2)
        self.seen.append(f"{method} {target}")
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            upstream = await asyncio.open_connection(_resolve(host), int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await _relay((reader, writer), upstream)
            return
        url = urlsplit(target)
        path = url.path or "/"
        if url.query:
            path += "?" + url.query
        # One request per connection: the server closes after its answer.
        headers = [
            line
            for line in rest.split("\r\n")
            if line and line.split(":", 1)[0].lower() not in ("connection", "proxy-connection")
        ]
        new_head = "\r\n".join(
            [f"{method} {path} {version}", *headers, "Connection: close", "", ""]
        )
        upstream = await asyncio.open_connection(_resolve(url.hostname or ""), url.port or 80)
        upstream[1].write(new_head.encode("latin-1"))
        await _relay((reader, writer), upstream)


@attrs.define
class TLSFront:
    """TLS on 127.0.0.1, relayed in clear to ``upstream_port`` (see the module's docstring).

    Attributes:
        connections: TCP connections accepted (a failed handshake counts too).
        handshakes: TLS handshakes that succeeded.
    """

    upstream_port: int
    context: ssl.SSLContext
    port: int = 0
    connections: int = 0
    handshakes: int = 0

    async def start(self) -> asyncio.Server:
        """Listen; return the server."""
        loop = asyncio.get_running_loop()

        def protocol() -> asyncio.StreamReaderProtocol:
            # Called when a connection is accepted, before its TLS handshake.
            self.connections += 1
            return asyncio.StreamReaderProtocol(asyncio.StreamReader(), self._handle)

        server = await loop.create_server(protocol, "127.0.0.1", 0, ssl=self.context)
        self.port = server.sockets[0].getsockname()[1]
        return server

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.handshakes += 1
        upstream = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        await _relay((reader, writer), upstream)


@contextlib.contextmanager
def serving(*starts: Callable[[], Awaitable[asyncio.Server]]) -> Iterator[None]:
    """Run servers on an asyncio loop in a background thread while the block runs."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    servers: list[asyncio.Server] = []
    try:
        for start in starts:
            future: Future[asyncio.Server] = asyncio.run_coroutine_threadsafe(_call(start), loop)
            servers.append(future.result(timeout=30))
        yield
    finally:
        asyncio.run_coroutine_threadsafe(_stop(servers), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()


async def _call(start: Callable[[], Awaitable[asyncio.Server]]) -> asyncio.Server:
    return await start()


async def _stop(servers: list[asyncio.Server]) -> None:
    for server in servers:
        server.close()
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
