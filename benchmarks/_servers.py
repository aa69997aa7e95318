"""Loopback servers for the benchmarks, run in their own process.

``canned`` answers every ``POST /v1/social/write`` with one fixed answer (the
sandbox's own answer to a write to x and bluesky, as an SSE stream or as
JSON), keeping connections alive. Its cost per request is a few dozen
microseconds, so a benchmark's client, not the server, is the bottleneck.
It also answers the peer SDKs' own write endpoints with the same result (two
platforms published) in the shape each of them expects:

* Ayrshare (``social-post-api``): ``POST /api/post``, base ``{url}/api/``;
* Zernio (``zernio-sdk``): ``POST /api/v1/posts``, base URL ``{url}/api``.

``sandbox`` runs the real sandbox instead.

Run: ``python benchmarks/_servers.py canned`` prints the base URL and the API
key on one line, then serves until its standard input closes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

API_KEY = "sandbox"
PLATFORMS = ("x", "bluesky")

_RESULTS = (
    b'[{"platform": "x", "success": true, "post_id": "2053492101669848719", '
    b'"url": "https://x.com/sandbox/status/2053492101669848719", "error": null, '
    b'"published_at": "2026-11-28T14:26:38Z"}, {"platform": "bluesky", "success": true, '
    b'"post_id": "at://did:plc:uhrfxw3ttwlo7dhwf3md44u7/app.bsky.feed.post/3lq6va2bgpng2", '
    b'"url": "https://bsky.app/profile/sandbox.bsky.social/post/3lq6va2bgpng2", '
    b'"error": null, "published_at": "2026-11-28T14:26:38Z"}]'
)
_JSON_BODY = b'{"results": ' + _RESULTS + b', "credits_used": 0.015}'
_EVENTS = (
    b'id: 1\nevent: status\ndata: {"index": 0, "platform": "x", "state": "queued", '
    b'"progress": null}\n\n',
    b'id: 2\nevent: status\ndata: {"index": 1, "platform": "bluesky", "state": "queued", '
    b'"progress": null}\n\n',
    b'id: 3\nevent: status\ndata: {"index": 0, "platform": "x", "state": "publishing", '
    b'"progress": null}\n\n',
    b'id: 4\nevent: status\ndata: {"index": 1, "platform": "bluesky", '
    b'"state": "publishing", "progress": null}\n\n',
    b'id: 5\nevent: result\ndata: {"index": 0, "platform": "x", "success": true, '
    b'"post_id": "2053492101669848719", '
    b'"url": "https://x.com/sandbox/status/2053492101669848719", "error": null, '
    b'"published_at": "2026-11-28T14:26:38Z"}\n\n',
    b'id: 6\nevent: result\ndata: {"index": 1, "platform": "bluesky", "success": true, '
    b'"post_id": "at://did:plc:uhrfxw3ttwlo7dhwf3md44u7/app.bsky.feed.post/3lq6va2bgpng2", '
    b'"url": "https://bsky.app/profile/sandbox.bsky.social/post/3lq6va2bgpng2", '
    b'"error": null, "published_at": "2026-11-28T14:26:38Z"}\n\n',
    b"id: 7\nevent: done\ndata: " + _JSON_BODY + b"\n\n",
)


def _chunked(parts: tuple[bytes, ...]) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts) + b"0\r\n\r\n"


# Chunked, one chunk per event, the way the sandbox streams them.
_SSE_ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    b"Transfer-Encoding: chunked\r\nX-Request-Id: req_canned\r\n\r\n" + _chunked(_EVENTS)
)
_JSON_ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
    b"X-Request-Id: req_canned\r\nContent-Length: %d\r\n\r\n%s" % (len(_JSON_BODY), _JSON_BODY)
)
# Ayrshare's answer to a post published to two networks (its documented shape).
_AYRSHARE_BODY = (
    b'{"status": "success", "errors": [], "postIds": ['
    b'{"status": "success", "id": "2053492101669848719", '
    b'"postUrl": "https://x.com/sandbox/status/2053492101669848719", "platform": "twitter"}, '
    b'{"status": "success", '
    b'"id": "at://did:plc:uhrfxw3ttwlo7dhwf3md44u7/app.bsky.feed.post/3lq6va2bgpng2", '
    b'"postUrl": "https://bsky.app/profile/sandbox.bsky.social/post/3lq6va2bgpng2", '
    b'"platform": "bluesky"}], '
    b'"id": "TBeB9nYg8jU5iTGbnhB4", "refId": "9abf1426d6ce9122ef11c72bd62e59807c5cc083", '
    b'"post": "Markets today: the benchmark\'s post"}'
)
# Zernio's answer to a post created with publishNow and published on both
# (the shape of its PostCreateResponse model).
_ZERNIO_BODY = (
    b'{"message": "Post created and published successfully", "post": {'
    b'"_id": "6740a1c2e4b0f5a1c2d3e4f5", "userId": "6740a1c2e4b0f5a1c2d3e400", '
    b'"content": "Markets today: the benchmark\'s post", "status": "published", '
    b'"scheduledFor": "2026-11-28T14:26:38.000Z", "timezone": "UTC", "platforms": ['
    b'{"platform": "twitter", "accountId": "acc_x", "status": "published", '
    b'"platformPostId": "2053492101669848719", '
    b'"platformPostUrl": "https://x.com/sandbox/status/2053492101669848719", '
    b'"publishedAt": "2026-11-28T14:26:38.000Z"}, '
    b'{"platform": "bluesky", "accountId": "acc_bsky", "status": "published", '
    b'"platformPostId": "at://did:plc:uhrfxw3ttwlo7dhwf3md44u7/app.bsky.feed.post/3lq6va2bgpng2", '
    b'"platformPostUrl": "https://bsky.app/profile/sandbox.bsky.social/post/3lq6va2bgpng2", '
    b'"publishedAt": "2026-11-28T14:26:38.000Z"}], '
    b'"createdAt": "2026-11-28T14:26:38.000Z", "updatedAt": "2026-11-28T14:26:38.000Z"}}'
)


def _json_answer(body: bytes, status: bytes = b"200 OK") -> bytes:
    return (
        b"HTTP/1.1 %s\r\nContent-Type: application/json; charset=utf-8\r\n"
        b"X-Request-Id: req_canned\r\nContent-Length: %d\r\n\r\n%s" % (status, len(body), body)
    )


_AYRSHARE_ANSWER = _json_answer(_AYRSHARE_BODY)
_ZERNIO_ANSWER = _json_answer(_ZERNIO_BODY, b"201 Created")
_NOT_FOUND = (
    b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 62\r\n\r\n"
    b'{"error": {"type": "not_found_error", "message": "not found"}}'
)
_NEEDS_CONTENT_LENGTH = (
    b"HTTP/1.1 411 Length Required\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
)


class _CannedProtocol(asyncio.Protocol):
    """HTTP/1.1 with keep-alive, just enough for the write: requests carry Content-Length."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self._buffer[:end]).lower()
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name == b"content-length":
                    length = int(value)
                elif name == b"transfer-encoding":
                    assert self._transport is not None
                    self._transport.write(_NEEDS_CONTENT_LENGTH)
                    self._transport.close()
                    return
            if len(self._buffer) < end + 4 + length:
                return
            del self._buffer[: end + 4 + length]
            self._answer(head)

    def _answer(self, head: bytes) -> None:
        assert self._transport is not None
        request_line = head.split(b"\r\n", 1)[0]
        if request_line.startswith(b"post /v1/social/write "):
            sse = b"text/event-stream" in head
            self._transport.write(_SSE_ANSWER if sse else _JSON_ANSWER)
        elif request_line.startswith(b"post /api/post "):
            self._transport.write(_AYRSHARE_ANSWER)
        elif request_line.startswith(b"post /api/v1/posts "):
            self._transport.write(_ZERNIO_ANSWER)
        else:
            self._transport.write(_NOT_FOUND)


async def _serve_canned(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_CannedProtocol, "127.0.0.1", port, backlog=1024)
    bound = server.sockets[0].getsockname()[1]
    print(f"http://127.0.0.1:{bound} {API_KEY}", flush=True)
    # Serve until the parent process closes our standard input (or dies).
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()
    await server.wait_closed()


def _serve_sandbox(port: int) -> None:
    from socialwrite.sandbox import Sandbox, SandboxConfig

    config = SandboxConfig(api_key=API_KEY)
    with Sandbox(config, port=port).run_in_thread() as sandbox:
        print(f"{sandbox.base_url} {sandbox.api_key}", flush=True)
        sys.stdin.read()


@contextlib.contextmanager
def serve_in_subprocess(kind: str) -> Iterator[tuple[str, str]]:
    """Start a server of ``kind`` in another process; yield its base URL and API key."""
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), kind],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().split()
        if len(line) != 2:
            msg = f"the {kind} server did not start (it printed {line!r})"
            raise RuntimeError(msg)
        yield line[0], line[1]
    finally:
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=["canned", "sandbox"])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    if args.kind == "canned":
        asyncio.run(_serve_canned(args.port))
    else:
        _serve_sandbox(args.port)


if __name__ == "__main__":
    main()
