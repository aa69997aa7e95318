"""A server shaped like a real vendor's, for the tests: canned answers over a real socket.

Unlike the sandbox it speaks no protocol: each test says what every path
answers (a flat JSON error, an HTML page from a proxy, a 402, a redirect), and
reads back what arrived.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import attrs

__all__ = ["Answer", "Received", "VendorServer", "dripping", "vendor_server"]


@attrs.frozen
class Answer:
    """What the server sends: a status, headers, and a body (bytes, or chunks sent in turn)."""

    status: int
    headers: Mapping[str, str] = attrs.field(factory=dict)
    body: bytes | Callable[[], Iterable[bytes]] = b""


@attrs.frozen
class Received:
    """A request the server got."""

    method: str
    path: str
    headers: Mapping[str, str]


NOT_FOUND = Answer(404, {"Content-Type": "application/json"}, b'{"detail": "Not Found"}')


def dripping(
    chunks: Iterable[bytes], *, gap: float, for_at_most: float = 20.0
) -> Callable[[], Iterator[bytes]]:
    """A body of ``chunks``, one every ``gap`` seconds: endless keep-alives, a trickle, silence.

    ``chunks`` may be endless: the body stops after ``for_at_most`` seconds, or
    as soon as the client hangs up, so no server thread outlives its test long.
    """

    def body() -> Iterator[bytes]:
        ends = time.monotonic() + for_at_most
        for chunk in chunks:
            time.sleep(gap)
            if time.monotonic() > ends:
                return
            yield chunk

    return body


@attrs.define
class VendorServer:
    """The running server: its URL, its answers by ``(method, path)``, what it received."""

    base_url: str
    answers: dict[tuple[str, str], Answer]
    received: list[Received] = attrs.field(factory=list)

    def paths(self) -> list[str]:
        """The method and path of each request received, in order."""
        return [f"{r.method} {r.path}" for r in self.received]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        """Print nothing."""

    def _serve(self) -> None:
        vendor = self.server.vendor
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        vendor.received.append(
            Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
        )
        answer = vendor.answers.get((self.command, self.path.split("?")[0]), NOT_FOUND)
        chunks = [answer.body] if isinstance(answer.body, bytes) else answer.body()
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if isinstance(answer.body, bytes):
            self.send_header("Content-Length", str(len(answer.body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        # The client may stop reading and hang up: that is what some tests check.
        with contextlib.suppress(ConnectionError):
            for chunk in chunks:
                self.wfile.write(chunk)

    do_GET = do_POST = do_PUT = do_HEAD = _serve  # noqa: N815 - http.server's names


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    vendor: VendorServer

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hung up is not worth a traceback."""


@contextlib.contextmanager
def vendor_server(answers: Mapping[tuple[str, str], Answer]) -> Iterator[VendorServer]:
    """Serve ``answers`` on a free loopback port, in a thread, for the ``with`` block."""
    server = _Server(("127.0.0.1", 0), _Handler)
    port = server.server_address[1]
    server.vendor = VendorServer(f"http://127.0.0.1:{port}", dict(answers))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server.vendor
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
