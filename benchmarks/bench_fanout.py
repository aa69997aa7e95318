"""Fan-out: time to the first result from a JSON-only server, and client CPU per write.

Latency. A loopback server that answers JSON only (it ignores ``Accept:
text/event-stream``, as protocol.md allows servers to) answers a write when
its slowest platform is done: x after 50 ms, instagram after 1.5 s. Streaming
a write to instagram and x, the first result reaches the caller after about
1.5 s without ``fan_out`` (one request, every result at once) and about 50 ms
with it (one request per platform, each result as its request returns).
Medians of ``--runs`` streamed writes of each kind, on asyncio and trio.

CPU. Client CPU per streamed write (``time.process_time()`` of this process;
the servers run in another one) to 2 and to 5 platforms, side by side:

* ``SSE write``: one request, answered as an event stream (the default
  against a server that streams);
* ``JSON write``: one request, answered in plain JSON (a server without SSE);
* ``fan-out, JSON``: ``fan_out=True`` against the JSON-only server, one
  request per platform;
* ``fan-out, SSE``: ``fan_out=True`` against the streaming server.

Each round measures every contender in turn, so a noisy moment of the
machine does not land on one only; figures are medians over the rounds.

Run: ``python benchmarks/bench_fanout.py`` (``--only latency`` or ``--only
cpu``; ``--json`` prints the figures as JSON).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio

import socialwrite

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _drive import Measurement, drive_asyncio, drive_trio
from _machine import describe, machine_info

API_KEY = "bench"
X_LATENCY = 0.05
IG_LATENCY = 1.5
SIZES = {2: ("x", "bluesky"), 5: ("x", "bluesky", "threads", "mastodon", "linkedin")}
TEXT = "Markets today: the benchmark's post"
BACKENDS = ("asyncio", "trio")

# -- the servers: JSON only (with latencies) and streaming, in another process ----------------


def _result(platform: str) -> bytes:
    return (
        b'{"platform": "%s", "success": true, "post_id": "1861", '
        b'"url": "https://%s.example/p/1861", "error": null, '
        b'"published_at": "2026-11-28T14:26:38Z"}' % (platform.encode(), platform.encode())
    )


def _json_body(platforms: tuple[str, ...]) -> bytes:
    results = b", ".join(_result(p) for p in platforms)
    return b'{"results": [%s], "credits_used": %s}' % (
        results,
        str(0.0075 * len(platforms)).encode(),
    )


def _chunked(parts: list[bytes]) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts) + b"0\r\n\r\n"


def _answer(platforms: tuple[str, ...], *, sse: bool) -> bytes:
    """The whole HTTP answer to a write to ``platforms``."""
    body = _json_body(platforms)
    if not sse:
        return (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Request-Id: req_b\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
    events: list[bytes] = []
    for index, platform in enumerate(platforms):
        events.append(
            b'id: %d\nevent: status\ndata: {"index": %d, "platform": "%s", '
            b'"state": "publishing", "progress": null}\n\n'
            % (len(events) + 1, index, platform.encode())
        )
    for index, platform in enumerate(platforms):
        result = _result(platform)
        events.append(
            b'id: %d\nevent: result\ndata: {"index": %d, %s\n\n'
            % (len(events) + 1, index, result[1:])
        )
    events.append(b"id: %d\nevent: done\ndata: %s\n\n" % (len(events) + 1, body))
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nX-Request-Id: req_b\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + _chunked(events)
    )


class _WriteServer(asyncio.Protocol):
    """HTTP/1.1 with keep-alive, enough for writes (requests carry Content-Length).

    ``streams``: whether it answers ``Accept: text/event-stream`` with a stream
    (else always JSON); ``latency``: seconds per platform (a write waits for
    its slowest).
    """

    answers: dict[tuple[tuple[str, ...], bool], bytes] = {}  # noqa: RUF012 - one cache for all

    def __init__(self, *, streams: bool, latency: dict[str, float]) -> None:
        self._streams = streams
        self._latency = latency
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while (end := self._buffer.find(b"\r\n\r\n")) >= 0:
            head = bytes(self._buffer[:end]).lower()
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name == b"content-length":
                    length = int(value)
            if len(self._buffer) < end + 4 + length:
                return
            body = bytes(self._buffer[end + 4 : end + 4 + length])
            del self._buffer[: end + 4 + length]
            platforms = tuple(json.loads(body)["platforms"])
            sse = self._streams and b"text/event-stream" in head
            key = (platforms, sse)
            answer = self.answers.get(key)
            if answer is None:
                answer = self.answers[key] = _answer(platforms, sse=sse)
            delay = max(self._latency.get(p, 0.0) for p in platforms)
            if delay:
                asyncio.get_running_loop().call_later(delay, self._send, answer)
            else:
                self._send(answer)

    def _send(self, answer: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(answer)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None


async def _serve(latency: dict[str, float]) -> None:
    loop = asyncio.get_running_loop()
    urls = []
    for streams in (False, True):
        server = await loop.create_server(
            lambda streams=streams: _WriteServer(streams=streams, latency=latency),  # type: ignore[misc]
            "127.0.0.1",
            0,
            backlog=1024,
        )
        urls.append(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
    print(*urls, flush=True)
    await loop.run_in_executor(None, sys.stdin.read)


@contextlib.contextmanager
def servers(*, latency: bool) -> Iterator[tuple[str, str]]:
    """Start the JSON-only and the streaming server in another process; yield their URLs."""
    args = [sys.executable, __file__, "--serve"] + (["--latency"] if latency else [])
    process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        json_url, sse_url = process.stdout.readline().split()
        yield json_url, sse_url
    finally:
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- latency: the first result, with and without fan-out ----------------------------------------


async def _stream_once(client: socialwrite.AsyncClient, *, fan_out: bool) -> tuple[float, float]:
    """Stream a write to instagram and x; return the first result's and the last's time."""
    start = time.perf_counter()
    first: float | None = None
    async with client.write(
        platforms=["instagram", "x"], content={"text": TEXT}, fan_out=fan_out
    ) as stream:
        async for _ in stream:
            if first is None:
                first = time.perf_counter() - start
    assert first is not None
    assert stream.result.ok
    return first, time.perf_counter() - start


async def _latency(base_url: str, runs: int) -> dict[str, dict[str, float]]:
    times: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    async with socialwrite.AsyncClient(API_KEY, base_url=base_url) as client:
        # Warm-up: the transport is made and a connection opened before timing.
        await client.write(platforms=["x"], content={"text": "warm-up"}, fan_out=True)
        for _ in range(runs):
            for fan_out in (False, True):  # interleaved: a noisy moment hits both
                times[fan_out].append(await _stream_once(client, fan_out=fan_out))
    return {
        "fan_out" if fan_out else "single": {
            "first_ms": statistics.median(t[0] for t in pairs) * 1000,
            "last_ms": statistics.median(t[1] for t in pairs) * 1000,
        }
        for fan_out, pairs in times.items()
    }


def measure_latency(runs: int) -> dict[str, Any]:
    """Time to the first and last result, fan-out or not, on each backend."""
    with servers(latency=True) as (json_url, _):
        backends = {
            backend: anyio.run(_latency, json_url, runs, backend=backend) for backend in BACKENDS
        }
    return {"runs": runs, "x_ms": X_LATENCY * 1000, "ig_ms": IG_LATENCY * 1000, **backends}


# -- CPU per write -------------------------------------------------------------------------------

CONTENDERS = {
    "sse": ("SSE write (1 request)", "sse", False),
    "json": ("JSON write (1 request)", "json", False),
    "fanout-json": ("fan-out, JSON server (N requests)", "json", True),
    "fanout-sse": ("fan-out, SSE server (N requests)", "sse", True),
}


def _writer(
    client: socialwrite.AsyncClient, size: int, *, fan_out: bool
) -> Callable[[], Awaitable[None]]:
    platforms = list(SIZES[size])

    async def write_once() -> None:
        async with client.write(
            platforms=platforms, content={"text": TEXT}, fan_out=fan_out
        ) as stream:
            async for _ in stream:
                pass
        if not stream.result.ok:
            raise RuntimeError(stream.result)

    return write_once


async def _cpu(
    urls: dict[str, str], rounds: int, writes: int, concurrencies: list[int]
) -> dict[str, list[Measurement]]:
    drive = drive_trio if _on_trio() else drive_asyncio
    clients = {kind: socialwrite.AsyncClient(API_KEY, base_url=url) for kind, url in urls.items()}
    runs: dict[str, list[Measurement]] = {}
    try:
        for _ in range(rounds + 1):  # the first round warms up, and is dropped
            for size in SIZES:
                for concurrency in concurrencies:
                    for name, (_, server, fan_out) in CONTENDERS.items():
                        write_once = _writer(clients[server], size, fan_out=fan_out)
                        measured = await drive(write_once, writes, concurrency)
                        runs.setdefault(f"{name}/{size}/{concurrency}", []).append(measured)
    finally:
        for client in clients.values():
            await client.aclose()
    return {key: measured[1:] for key, measured in runs.items()}


def _on_trio() -> bool:
    import sniffio

    return sniffio.current_async_library() == "trio"


def measure_cpu(rounds: int, writes: int, concurrencies: list[int]) -> dict[str, Any]:
    """Client CPU per streamed write of each contender, at each size and concurrency."""
    rows: list[dict[str, Any]] = []
    with servers(latency=False) as (json_url, sse_url):
        urls = {"json": json_url, "sse": sse_url}
        for backend in BACKENDS:
            runs = anyio.run(_cpu, urls, rounds, writes, concurrencies, backend=backend)
            for key, measured in runs.items():
                name, size, concurrency = key.split("/")
                rows.append(
                    {
                        "backend": backend,
                        "contender": name,
                        "label": CONTENDERS[name][0],
                        "platforms": int(size),
                        "concurrency": int(concurrency),
                        "cpu_us_per_write": statistics.median(
                            m.cpu_seconds / m.writes for m in measured
                        )
                        * 1e6,
                        "writes_per_second": statistics.median(
                            m.writes / m.seconds for m in measured
                        ),
                    }
                )
    return {"rounds": rounds, "writes": writes, "rows": rows}


# -- the report ---------------------------------------------------------------------------------


def print_report(figures: dict[str, Any]) -> None:
    """Print the figures as markdown tables."""
    print(describe(figures["machine"]))
    latency = figures.get("latency")
    if latency:
        print(
            f"\nJSON-only server: x answers after {latency['x_ms']:.0f} ms, instagram after "
            f"{latency['ig_ms']:.0f} ms; medians of {latency['runs']} streamed writes.\n"
        )
        print("| backend | write | first result | last result |")
        print("|---|---|---:|---:|")
        for backend in BACKENDS:
            for kind, label in (("single", "one request"), ("fan_out", "fan_out=True")):
                row = latency[backend][kind]
                print(
                    f"| {backend} | {label} | {row['first_ms']:.1f} ms | {row['last_ms']:.1f} ms |"
                )
    cpu = figures.get("cpu")
    if cpu:
        print(
            f"\nClient CPU per streamed write (µs), medians of {cpu['rounds']} rounds of "
            f"{cpu['writes']} writes; the servers run in another process.\n"
        )
        columns = sorted({(r["platforms"], r["concurrency"]) for r in cpu["rows"]})
        header = " | ".join(f"{p} platforms, c={c}" for p, c in columns)
        print(f"| backend | contender | {header} |")
        print("|---|---|" + "---:|" * len(columns))
        table: dict[tuple[str, str], dict[tuple[int, int], float]] = {}
        labels: dict[str, str] = {}
        for row in cpu["rows"]:
            cell = table.setdefault((row["backend"], row["contender"]), {})
            cell[row["platforms"], row["concurrency"]] = row["cpu_us_per_write"]
            labels[row["contender"]] = row["label"]
        for (backend, name), cells in table.items():
            shown = " | ".join(f"{cells[column]:.0f}" for column in columns)
            print(f"| {backend} | {labels[name]} | {shown} |")
        print("\n| backend | ratio | " + " | ".join(f"{p}p, c={c}" for p, c in columns) + " |")
        print("|---|---|" + "---:|" * len(columns))
        for backend in BACKENDS:
            for name in ("fanout-json", "fanout-sse", "json"):
                top, bottom = table.get((backend, name)), table.get((backend, "sse"))
                if top is None or bottom is None:
                    continue
                shown = " | ".join(f"{top[c] / bottom[c]:.2f}x" for c in columns)
                print(f"| {backend} | {labels[name]} / SSE write | {shown} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["latency", "cpu"])
    parser.add_argument("--runs", type=int, default=5, help="streamed writes per latency figure")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of CPU measurements")
    parser.add_argument("--writes", type=int, default=400, help="writes per CPU measurement")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--latency", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        latency = {"x": X_LATENCY, "instagram": IG_LATENCY} if args.latency else {}
        asyncio.run(_serve(latency))
        return
    figures: dict[str, Any] = {"machine": machine_info()}
    if args.only in (None, "latency"):
        figures["latency"] = measure_latency(args.runs)
    if args.only in (None, "cpu"):
        figures["cpu"] = measure_cpu(args.rounds, args.writes, args.concurrency)
    if args.json:
        print(json.dumps(figures))
    else:
        print_report(figures)


if __name__ == "__main__":
    main()
