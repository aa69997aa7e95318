"""Driving writes and measuring them: shared by the write benchmarks.

Each driver makes ``writes`` writes with ``concurrency`` workers taking the
next write until none is left, and measures wall time and this process's CPU
time (the server runs in another process, so that is the client's alone).
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

AsyncWrite = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Measurement:
    """One measurement: writes made, wall seconds, and client CPU seconds."""

    writes: int
    seconds: float
    cpu_seconds: float

    @property
    def writes_per_second(self) -> float:
        return self.writes / self.seconds

    @property
    def cpu_us_per_write(self) -> float:
        return self.cpu_seconds / self.writes * 1e6

    def to_json(self) -> dict[str, float]:
        return {"writes": self.writes, "seconds": self.seconds, "cpu_seconds": self.cpu_seconds}

    @classmethod
    def median(cls, runs: Sequence[Measurement]) -> Measurement:
        """The median wall and CPU time of runs of the same number of writes."""
        return cls(
            writes=runs[0].writes,
            seconds=statistics.median(r.seconds for r in runs),
            cpu_seconds=statistics.median(r.cpu_seconds for r in runs),
        )


def _worker(write_once: AsyncWrite, tickets: range) -> Callable[[], Awaitable[None]]:
    """A worker taking the next write from ``tickets`` until none is left."""
    remaining = iter(tickets)

    async def worker() -> None:
        for _ in remaining:
            await write_once()

    return worker


async def drive_asyncio(write_once: AsyncWrite, writes: int, concurrency: int) -> Measurement:
    """Make ``writes`` writes, ``concurrency`` at a time, on asyncio."""
    worker = _worker(write_once, range(writes))
    gc.collect()
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Measurement(writes, time.perf_counter() - wall_start, time.process_time() - cpu_start)


async def drive_trio(write_once: AsyncWrite, writes: int, concurrency: int) -> Measurement:
    """Make ``writes`` writes, ``concurrency`` at a time, on trio."""
    import trio

    worker = _worker(write_once, range(writes))
    gc.collect()
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(concurrency):
            nursery.start_soon(worker)
    return Measurement(writes, time.perf_counter() - wall_start, time.process_time() - cpu_start)
