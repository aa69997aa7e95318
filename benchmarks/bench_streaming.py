"""Streaming latency: time to the first result and to the aggregate, vs the platforms' latency.

With x answering in 50 ms and instagram in 1 s on the sandbox, the first
result should reach the caller within 50 ms of x's latency, and the aggregate
within 50 ms of instagram's. Run: ``python benchmarks/bench_streaming.py``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import anyio

import socialwrite
from socialwrite.sandbox import Sandbox, SandboxConfig

X_LATENCY = 0.05
IG_LATENCY = 1.0


async def measure(base_url: str, api_key: str, runs: int) -> tuple[list[float], list[float]]:
    firsts: list[float] = []
    totals: list[float] = []
    async with socialwrite.AsyncClient(api_key, base_url=base_url) as client:
        # One warm-up write opens the connection pool.
        await client.write(platforms=["x"], content={"text": "warm-up"})
        for i in range(runs):
            start = time.perf_counter()
            first: float | None = None
            async with client.write(
                platforms=["x", "instagram"],
                content={"text": f"run {i}", "media": "https://images.example.com/a.jpg"},
            ) as stream:
                async for _ in stream:
                    if first is None:
                        first = time.perf_counter() - start
            totals.append(time.perf_counter() - start)
            assert first is not None
            firsts.append(first)
    return firsts, totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    config = SandboxConfig(latency={"x": X_LATENCY, "instagram": IG_LATENCY})
    print(f"python {platform.python_version()} on {platform.machine()}, socialwrite "
          f"{socialwrite.__version__}; x={X_LATENCY * 1000:.0f} ms, instagram={IG_LATENCY * 1000:.0f} ms")
    print(f"{'backend':<8} {'first result':>14} {'over x':>9} {'aggregate':>11} {'over ig':>9}")
    with Sandbox(config).run_in_thread() as sandbox:
        for backend in ("asyncio", "trio"):
            firsts, totals = anyio.run(
                measure, sandbox.base_url, sandbox.api_key, args.runs, backend=backend
            )
            first, total = statistics.median(firsts), statistics.median(totals)
            print(
                f"{backend:<8} {first * 1000:>11.1f} ms {(first - X_LATENCY) * 1000:>+6.1f} ms "
                f"{total * 1000:>8.1f} ms {(total - IG_LATENCY) * 1000:>+6.1f} ms"
            )


if __name__ == "__main__":
    main()
