"""A write server that answers JSON only, each platform after its own delay, for the tests.

Like many real services, it ignores ``Accept: text/event-stream`` and answers
a write with the plain JSON answer once its slowest platform is done. Each
test says how long each platform takes and which statuses a platform's
requests get first; the server records what it received, notices a client
that hangs up while it waits, and counts the connections still open.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs

__all__ = ["JsonServer", "Write", "json_server"]

CREDITS_PER_PLATFORM = 0.0075
_ERRORS = {
    401: ("authentication_error", "invalid_api_key", "the API key is not valid"),
    422: ("invalid_request_error", "idempotency_key_reused", "the key was used for another body"),
    500: ("api_error", "internal_error", "something broke"),
    503: ("api_error", "upstream_unavailable", "the platform's API is down"),
}


@attrs.frozen
class Write:
    """A write request the server got: its platforms, key and body."""

    platforms: tuple[str, ...]
    key: str | None
    body: Mapping[str, Any]
    accept: str | None


@attrs.define
class JsonServer:
    """The running server: its URL, its script, and what it saw."""

    base_url: str
    delays: dict[str, float]
    statuses: dict[str, list[int]]
    writes: list[Write] = attrs.field(factory=list)
    hung_up: list[tuple[str, ...]] = attrs.field(factory=list)
    open_connections: int = 0
    lock: threading.Lock = attrs.field(factory=threading.Lock)

    def idempotency_keys(self) -> list[str | None]:
        """The idempotency key of each write received, in order."""
        return [write.key for write in self.writes]

    def wait_until_idle(self, seconds: float = 10.0) -> bool:
        """Wait until no connection is open (at most ``seconds``); return whether it happened."""
        return _wait_for(lambda: self.open_connections == 0, seconds)

    def wait_for_writes(self, count: int, seconds: float = 10.0) -> bool:
        """Wait until ``count`` writes arrived (at most ``seconds``); return whether they did."""
        return _wait_for(lambda: len(self.writes) >= count, seconds)


def _wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def _hung_up(connection: socket.socket, seconds: float) -> bool:
    """Wait ``seconds``; return early with True when the client closes the connection."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select([connection], [], [], min(left, 0.05))
        if readable:
            try:
                if connection.recv(1, socket.MSG_PEEK) == b"":
                    return True
            except OSError:
                return True
            time.sleep(min(left, 0.01))  # bytes of a next request: not a hang-up
    return False


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        """Print nothing."""

    def setup(self) -> None:
        super().setup()
        with self.server.state.lock:
            self.server.state.open_connections += 1

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        with self.server.state.lock:
            self.server.state.open_connections -= 1

    def do_POST(self) -> None:
        """Answer a write after its slowest platform's delay, in JSON."""
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length))
        platforms = tuple(body["platforms"])
        write = Write(
            platforms, self.headers.get("Idempotency-Key"), body, self.headers.get("Accept")
        )
        with state.lock:
            state.writes.append(write)
            status = next(
                (state.statuses[p].pop(0) for p in platforms if state.statuses.get(p)), 200
            )
        delay = max(state.delays.get(p, 0.0) for p in platforms)
        if _hung_up(self.connection, delay):
            with state.lock:
                state.hung_up.append(platforms)
            self.close_connection = True
            return
        self._answer(status, platforms)

    def _answer(self, status: int, platforms: Sequence[str]) -> None:
        if status == 200:
            answer: dict[str, Any] = {
                "results": [
                    {
                        "platform": p,
                        "success": True,
                        "post_id": f"{p}_1",
                        "url": f"https://{p}.example/p/1",
                    }
                    for p in platforms
                ],
                "credits_used": CREDITS_PER_PLATFORM * len(platforms),
            }
        else:
            kind, code, message = _ERRORS[status]
            answer = {"error": {"type": kind, "code": code, "message": message}}
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Request-Id", f"req_{'_'.join(platforms)}")
        if status == 503:
            self.send_header("Retry-After", "0")
        self.send_header("Connection", "close")
        self.end_headers()
        with contextlib.suppress(ConnectionError):
            self.wfile.write(data)
        self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: JsonServer

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hung up is not worth a traceback."""


@contextlib.contextmanager
def json_server(
    delays: Mapping[str, float] | None = None,
    statuses: Mapping[str, Sequence[int]] | None = None,
) -> Iterator[JsonServer]:
    """Serve writes on a free loopback port, in a thread, for the ``with`` block.

    Args:
        delays: seconds each platform takes (a write waits for its slowest).
        statuses: per platform, the statuses its requests get first, in turn
            (then 200): ``{"x": [503]}`` fails x's first request only.
    """
    server = _Server(("127.0.0.1", 0), _Handler)
    port = server.server_address[1]
    server.state = JsonServer(
        f"http://127.0.0.1:{port}",
        dict(delays or {}),
        {platform: list(codes) for platform, codes in (statuses or {}).items()},
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server.state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
