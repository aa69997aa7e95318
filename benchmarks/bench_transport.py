"""Client CPU per write under trio: the SDK against the raw HTTP library, httpx against httpx2.

The server runs in another process (``_servers.py``: a canned loopback server
by default, or the real sandbox), so ``time.process_time()`` deltas in this
process count only the client's CPU. Each figure is the median of several
rounds; the configurations take turns within a round, so that a noisy moment
of the machine does not land on one of them only.

* "raw" makes the same HTTP call with the library alone: the headers and
  body the SDK sends (taken from a real SDK request), a fresh idempotency key
  per call, the SSE answer streamed to its end, and the ``done`` event's JSON
  decoded.
* "sdk" is ``await client.write(...)`` on an ``AsyncClient`` with that
  library's transport: validation, the request, SSE decoding, events and
  results structured into ``WriteResult``.

Run: ``python benchmarks/bench_transport.py`` (``--help`` for options). It
first compares the trio-capable libraries that are installed (httpx, httpx2):
raw, and through the SDK where the SDK has a transport for it (the httpx one
was measured, then removed, at the commit that chose httpx2); then it puts the
default trio transport against its raw library at concurrency 1 and 32.
``--profile`` prints where the SDK's time goes.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import importlib
import io
import json
import os
import platform
import pstats
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _drive import Measurement, drive_trio
from _servers import PLATFORMS, serve_in_subprocess

import socialwrite
from socialwrite._transport import default_transport
from socialwrite.transports import Request, Response, Transport

TEXT = "Markets today: the benchmark's post"
WriteOnce = Callable[[], Awaitable[None]]

# The SDK transport module and class for each library.
TRANSPORTS = {
    "httpx": ("socialwrite._transport._httpx", "HttpxTransport"),
    "httpx2": ("socialwrite._transport._httpx2", "Httpx2Transport"),
}


@dataclass
class Config:
    name: str
    concurrency: int
    write_once: WriteOnce
    runs: list[Measurement]

    def median(self) -> Measurement:
        return Measurement.median(self.runs)


class _Recorder:
    """A transport that passes requests on, keeping the first write request it saw."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.request: Request | None = None

    @property
    def user_agent(self) -> str:
        return self.inner.user_agent

    async def send(self, request: Request) -> Response:
        if self.request is None:
            self.request = request
        return await self.inner.send(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def load_transport(library: str) -> type[Any] | None:
    module_name, class_name = TRANSPORTS[library]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return getattr(module, class_name)  # type: ignore[no-any-return]


def installed(library: str) -> ModuleType | None:
    try:
        return importlib.import_module(library)
    except ImportError:
        return None


async def sample_request(base_url: str, api_key: str, transport: Transport) -> Request:
    """The request the SDK sends for the benchmark's write (its headers and body)."""
    recorder = _Recorder(transport)
    client = socialwrite.AsyncClient(api_key, base_url=base_url, transport=recorder)
    try:
        async with client:
            await client.write(platforms=list(PLATFORMS), content={"text": TEXT})
    finally:
        await recorder.aclose()
    assert recorder.request is not None
    return recorder.request


@contextlib.asynccontextmanager
async def sdk_writer(
    base_url: str, api_key: str, transport_class: type[Any]
) -> AsyncIterator[WriteOnce]:
    transport: Transport = transport_class()
    client = socialwrite.AsyncClient(api_key, base_url=base_url, transport=transport)
    try:
        async with client:

            async def write_once() -> None:
                await client.write(platforms=list(PLATFORMS), content={"text": TEXT})

            yield write_once
    finally:
        await transport.aclose()


@contextlib.asynccontextmanager
async def raw_writer(library: ModuleType, sample: Request) -> AsyncIterator[WriteOnce]:
    """The same call with the library alone (same limits as the SDK's transport)."""
    http = library.AsyncClient(
        limits=library.Limits(max_connections=512, max_keepalive_connections=64),
        follow_redirects=False,
        trust_env=False,
    )
    template: Mapping[str, str] = {
        k: v for k, v in sample.headers.items() if k.lower() != "idempotency-key"
    }
    seconds = sample.timeout.read
    timeout = library.Timeout(connect=seconds, read=seconds, write=seconds, pool=seconds)
    body = sample.body
    url = sample.url
    async with http:

        async def write_once() -> None:
            headers = dict(template)
            headers["Idempotency-Key"] = "sw-" + os.urandom(16).hex()  # as the SDK makes its keys
            request = http.build_request(
                "POST", url, headers=headers, content=body, timeout=timeout
            )
            response = await http.send(request, stream=True)
            try:
                data = b"".join([chunk async for chunk in response.aiter_bytes()])
            finally:
                await response.aclose()
            if response.status_code != 200:
                msg = f"the server answered {response.status_code}: {data[:200]!r}"
                raise RuntimeError(msg)
            json.loads(data[data.rindex(b"\ndata: ") + 7 :])

        yield write_once


async def run_configs(configs: list[Config], writes: int, rounds: int, warmup: int) -> None:
    for config in configs:
        await drive_trio(config.write_once, warmup, config.concurrency)
    for _ in range(rounds):
        for config in configs:
            # Concurrency 1 is latency-bound: fewer writes give as steady a figure.
            count = writes if config.concurrency > 1 else max(writes // 4, 1)
            config.runs.append(await drive_trio(config.write_once, count, config.concurrency))


def print_table(title: str, configs: list[Config]) -> None:
    print(f"\n{title}")
    print(f"{'configuration':<28} {'conc.':>5} {'writes/s':>10} {'CPU us/write':>13}")
    for config in configs:
        median = config.median()
        print(
            f"{config.name:<28} {config.concurrency:>5} "
            f"{median.writes_per_second:>10.0f} {median.cpu_us_per_write:>13.1f}"
        )


async def bench(args: argparse.Namespace, base_url: str, api_key: str) -> None:
    async with contextlib.AsyncExitStack() as stack:
        libraries = [lib for lib in ("httpx", "httpx2") if installed(lib)]
        default = default_transport("trio")
        library = default.user_agent.split("/")[0]
        sample = await sample_request(base_url, api_key, default)

        # 1. The libraries side by side at the high concurrency: raw for each
        # installed one, and the SDK on each that has a transport.
        compare: list[Config] = []
        for lib in libraries:
            module = installed(lib)
            assert module is not None
            transport_class = load_transport(lib)
            if transport_class is not None:
                sdk = await stack.enter_async_context(
                    sdk_writer(base_url, api_key, transport_class)
                )
                compare.append(
                    Config(f"sdk on {lib} {module.__version__}", args.concurrency, sdk, [])
                )
            raw = await stack.enter_async_context(raw_writer(module, sample))
            compare.append(Config(f"raw {lib} {module.__version__}", args.concurrency, raw, []))
        if not args.skip_libraries:
            await run_configs(compare, args.writes, args.rounds, args.warmup)
            print_table(f"trio, concurrency {args.concurrency}: the libraries", compare)

        # 2. The default trio transport against its raw library, at 1 and at the high level.
        module = installed(library)
        transport_class = load_transport(library)
        assert module is not None
        assert transport_class is not None
        pairs: list[tuple[Config, Config]] = []
        for concurrency in (1, args.concurrency):
            sdk = await stack.enter_async_context(sdk_writer(base_url, api_key, transport_class))
            raw = await stack.enter_async_context(raw_writer(module, sample))
            pairs.append(
                (
                    Config(f"sdk on {library}", concurrency, sdk, []),
                    Config(f"raw {library}", concurrency, raw, []),
                )
            )
        await run_configs(
            [c for pair in pairs for c in pair], args.writes, args.rounds, args.warmup
        )
        print_table(
            f"trio, the default transport ({library}) against the raw library",
            [c for pair in pairs for c in pair],
        )
        print(f"\n{'conc.':>5} {'sdk CPU/raw CPU':>16}  (goal: at most 1.20x)")
        for sdk_config, raw_config in pairs:
            ratio = sdk_config.median().cpu_seconds / raw_config.median().cpu_seconds
            print(f"{sdk_config.concurrency:>5} {ratio:>15.2f}x")

        if args.profile:
            sdk = await stack.enter_async_context(sdk_writer(base_url, api_key, transport_class))
            await drive_trio(sdk, args.warmup, args.concurrency)
            profiler = cProfile.Profile()
            profiler.enable()
            await drive_trio(sdk, args.writes, args.concurrency)
            profiler.disable()
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats(args.profile).print_stats(args.profile_lines)
            print(f"\ncProfile of the SDK on {library}, concurrency {args.concurrency}:")
            print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", choices=["canned", "sandbox"], default="canned")
    parser.add_argument("--writes", type=int, default=2000, help="writes per measurement")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--skip-libraries", action="store_true", help="skip the table of the libraries"
    )
    parser.add_argument(
        "--profile",
        choices=["tottime", "cumulative"],
        help="after the figures, profile the SDK and sort by this column",
    )
    parser.add_argument("--profile-lines", type=int, default=40)
    args = parser.parse_args()
    versions = " ".join(
        f"{name} {module.__version__}"
        for name in ("trio", "httpx", "httpx2")
        if (module := installed(name)) is not None
    )
    print(
        f"python {platform.python_version()} on {platform.machine()}, socialwrite "
        f"{socialwrite.__version__}, {versions}; server: {args.server} (another process); "
        f"{args.writes} writes x {args.rounds} rounds, medians"
    )
    with serve_in_subprocess(args.server) as (base_url, api_key):
        trio.run(bench, args, base_url, api_key)


if __name__ == "__main__":
    main()
