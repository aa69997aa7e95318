"""Streaming latency: time to the first result and to the aggregate, vs the platforms' latency.

With x answering in 50 ms and instagram in 1 s on the sandbox, the first
result should reach the caller within 50 ms of x's latency, and the aggregate
within 50 ms of instagram's. Both backends run against the same sandbox (on a
thread of this process). Run: ``python benchmarks/bench_streaming.py``
(``--json`` prints the figures as JSON).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import anyio

import socialwrite
from socialwrite.sandbox import Sandbox, SandboxConfig

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import describe, machine_info

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


def run(runs: int) -> dict[str, Any]:
    """Measure both backends against one sandbox; return the figures."""
    config = SandboxConfig(latency={"x": X_LATENCY, "instagram": IG_LATENCY})
    backends: dict[str, dict[str, float]] = {}
    with Sandbox(config).run_in_thread() as sandbox:
        for backend in ("asyncio", "trio"):
            firsts, totals = anyio.run(
                measure, sandbox.base_url, sandbox.api_key, runs, backend=backend
            )
            first, total = statistics.median(firsts), statistics.median(totals)
            backends[backend] = {
                "first_ms": first * 1000,
                "first_over_x_ms": (first - X_LATENCY) * 1000,
                "aggregate_ms": total * 1000,
                "aggregate_over_instagram_ms": (total - IG_LATENCY) * 1000,
            }
    return {
        "machine": machine_info(),
        "runs": runs,
        "x_ms": X_LATENCY * 1000,
        "instagram_ms": IG_LATENCY * 1000,
        "backends": backends,
    }


def print_report(figures: dict[str, Any]) -> None:
    """Print the figures as a table."""
    print(describe(figures["machine"]))
    print(
        f"x answers in {figures['x_ms']:.0f} ms, instagram in {figures['instagram_ms']:.0f} ms; "
        f"medians of {figures['runs']} streamed writes"
    )
    print(f"{'backend':<8} {'first result':>14} {'over x':>9} {'aggregate':>11} {'over ig':>9}")
    for backend, row in figures["backends"].items():
        print(
            f"{backend:<8} {row['first_ms']:>11.1f} ms {row['first_over_x_ms']:>+6.1f} ms "
            f"{row['aggregate_ms']:>8.1f} ms {row['aggregate_over_instagram_ms']:>+6.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    figures = run(args.runs)
    if args.json:
        print(json.dumps(figures))
    else:
        print_report(figures)


if __name__ == "__main__":
    main()
