"""The chaos figures: 500 writes through one client under a seeded storm of faults.

Runs exactly the storm of ``tests/test_chaos.py`` (same seed, rate, fault
mix, client settings and concurrency) once per event loop and transport, and
prints what the sandbox recorded as one table: writes, errors raised by class,
writes lost, faults injected by kind, publishes recorded, duplicates.

Run from the repository's root: ``python benchmarks/chaos_report.py``
(``--backend trio`` for one column only; ``--seed`` for another storm).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import socialwrite.transports
from socialwrite.sandbox import Sandbox
from socialwrite.transports import Transport
from tests.test_chaos import (
    CHAOS_CONCURRENCY,
    CHAOS_RATE,
    CHAOS_SEED,
    CHAOS_WRITES,
    ChaosFigures,
    chaos_config,
    figures_table,
    run_chaos,
)

# The event loop and the transport of each run: the test suite's three.
BACKENDS = {
    "asyncio": ("asyncio", "AiohttpTransport"),
    "trio": ("trio", "Httpx2Transport"),
    "asyncio+httpx2": ("asyncio", "Httpx2Transport"),
}


async def storm(label: str, transport_name: str, seed: int, writes: int) -> ChaosFigures:
    transport: Transport = getattr(socialwrite.transports, transport_name)()
    try:
        with Sandbox(chaos_config(seed=seed)).run_in_thread() as sandbox:
            return await run_chaos(sandbox, label=label, writes=writes, transport=transport)
    finally:
        await transport.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=[*BACKENDS, "all"], default="all")
    parser.add_argument("--seed", type=int, default=CHAOS_SEED)
    parser.add_argument("--writes", type=int, default=CHAOS_WRITES)
    args = parser.parse_args()
    chosen = list(BACKENDS) if args.backend == "all" else [args.backend]
    runs = []
    for name in chosen:
        loop, transport_name = BACKENDS[name]
        library = transport_name.removesuffix("Transport").lower()
        label = f"{loop}+{library}"
        started = time.perf_counter()
        runs.append(anyio.run(storm, label, transport_name, args.seed, args.writes, backend=loop))
        print(f"{label}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    print(
        f"{args.writes} writes, {CHAOS_CONCURRENCY} at once on one AsyncClient, "
        f"{CHAOS_RATE:.0%} of requests faulted, seed {args.seed}\n"
    )
    print(figures_table(runs))
    for run in runs:
        for example in run.lost_examples:
            print(f"lost ({run.label}): {example}")


if __name__ == "__main__":
    main()
