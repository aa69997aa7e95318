"""Run every benchmark and print the machine and one markdown table of the results.

Each benchmark runs in a process of its own (``--json``), one after the
other, so none measures while another runs: write overhead
(``bench_write.py``), uploads (``bench_uploads.py``), streaming latency
(``bench_streaming.py``) and start-up (``bench_startup.py``). Every ratio in
the table compares figures measured in the same run of one benchmark.

Run: ``python benchmarks/run_all.py`` (about ten minutes on two cores);
``--quick`` takes fewer rounds and smaller files, for a check that everything
runs, not for figures to publish. ``--out FILE`` also writes the raw figures
as JSON.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import describe

HERE = Path(__file__).resolve().parent

# Each benchmark's arguments: for figures to publish, and for a quick check.
FULL = {
    "write": ["--rounds", "11"],
    "uploads": ["--rounds", "5"],
    "streaming": ["--runs", "10"],
    "startup": ["--runs", "11"],
}
QUICK = {
    "write": ["--rounds", "2", "--seconds", "0.15"],
    "uploads": ["--rounds", "1", "--size-mib", "64", "--file-mib", "8"],
    "streaming": ["--runs", "3"],
    "startup": ["--runs", "3", "--clients", "200"],
}
SCRIPTS = {
    "write": "bench_write.py",
    "uploads": "bench_uploads.py",
    "streaming": "bench_streaming.py",
    "startup": "bench_startup.py",
}
# What each peer's ratio in the write table compares it with.
BASELINE_LABEL = {
    "raw-aiohttp": "raw aiohttp",
    "raw-httpx2": "raw httpx2",
    "sdk-asyncio": "socialwrite, asyncio",
}

Row = tuple[str, str, str, str]


def run_benchmark(name: str, arguments: list[str]) -> dict[str, Any]:
    """Run one benchmark script with ``--json`` and return its figures."""
    started = time.perf_counter()
    print(f"running {SCRIPTS[name]} {' '.join(arguments)}", file=sys.stderr, flush=True)
    done = subprocess.run(
        [sys.executable, str(HERE / SCRIPTS[name]), *arguments, "--json"],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    print(f"  {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def write_rows(figures: dict[str, Any]) -> list[Row]:
    """Rows of the write overhead: CPU and throughput per contender and concurrency."""
    ratios = {(ratio["contender"], ratio["concurrency"]): ratio for ratio in figures["ratios"]}
    rows: list[Row] = []
    for row in sorted(figures["rows"], key=lambda row: row["concurrency"]):
        key = (row["contender"], row["concurrency"])
        ratio = ratios.get(key)
        compared = (
            f"{ratio['cpu_ratio']:.2f}x {BASELINE_LABEL[ratio['baseline']]}'s CPU"
            if ratio is not None
            else ""
        )
        rows.append(
            (
                f"write overhead, concurrency {row['concurrency']}",
                row["label"],
                f"{row['cpu_us_per_write']:.0f} µs CPU/write, "
                f"{row['writes_per_second']:,.0f} writes/s",
                compared,
            )
        )
    return rows


def upload_rows(figures: dict[str, Any]) -> list[Row]:
    """Rows of the uploads: throughput and memory, and concurrency."""
    size = figures["size_mib"]
    labels = {
        "sdk": "socialwrite, path to media URL (hash, create, PUT, complete)",
        "raw-file": "raw aiohttp PUT, file object",
        "raw-iter": "raw aiohttp PUT, 1 MiB async iterator",
    }
    rows: list[Row] = []
    for case, row in figures["cases"].items():
        median = row["median_seconds"]
        compared = (
            f"{figures['sdk_over_raw_median']:.2f}x the faster raw's speed" if case == "sdk" else ""
        )
        rows.append(
            (
                f"upload of {size} MiB",
                labels[case],
                f"{median:.2f} s ({size / median:.0f} MiB/s), "
                f"peak RSS +{row['peak_rss_growth_mib']:.0f} MiB",
                compared,
            )
        )
    timings = figures["concurrency_seconds"]
    one = timings.get("1")
    for level, seconds in timings.items():
        rows.append(
            (
                f"{figures['files']} uploads of {figures['file_mib']} MiB, "
                f"PUT held {figures['delay']} s",
                f"upload_concurrency={level}",
                f"{seconds:.2f} s",
                f"{seconds / one:.2f}x the time one by one" if one else "",
            )
        )
    return rows


def streaming_rows(figures: dict[str, Any]) -> list[Row]:
    """Rows of the streaming latency, per backend."""
    rows: list[Row] = []
    for backend, row in figures["backends"].items():
        rows.append(
            (
                f"streamed write (x {figures['x_ms']:.0f} ms, "
                f"instagram {figures['instagram_ms']:.0f} ms)",
                f"socialwrite, {backend}: first result",
                f"{row['first_ms']:.1f} ms",
                f"x's latency {row['first_over_x_ms']:+.1f} ms",
            )
        )
        rows.append(
            (
                f"streamed write (x {figures['x_ms']:.0f} ms, "
                f"instagram {figures['instagram_ms']:.0f} ms)",
                f"socialwrite, {backend}: aggregate",
                f"{row['aggregate_ms']:.1f} ms",
                f"instagram's latency {row['aggregate_over_instagram_ms']:+.1f} ms",
            )
        )
    return rows


def startup_rows(figures: dict[str, Any]) -> list[Row]:
    """Rows of the start-up: import time and memory per idle client."""
    rows: list[Row] = []
    ours = figures["imports"]["socialwrite"]["median_ms"]
    for name, row in figures["imports"].items():
        ratio = "" if name == "socialwrite" else f"{row['median_ms'] / ours:.2f}x socialwrite's"
        rows.append(("import time (fresh process)", name, f"{row['median_ms']:.0f} ms", ratio))
    heaviest = figures["heaviest"]["packages"][:3]
    where = ", ".join(f"{p['name']} {p['share']:.0%}" for p in heaviest)
    rows.append(("import time (fresh process)", "socialwrite: where it goes", where, ""))
    ours_memory = figures["memory"]["socialwrite"]["traced_bytes_per_client"]
    for name, row in figures["memory"].items():
        traced = row["traced_bytes_per_client"]
        ratio = "" if name == "socialwrite" else f"{traced / ours_memory:.2f}x socialwrite's"
        rows.append(
            (
                f"memory per idle client ({figures['clients']} clients)",
                name,
                f"{traced / 1024:.1f} KiB traced, {row['rss_bytes_per_client'] / 1024:.1f} KiB RSS",
                ratio,
            )
        )
    return rows


def table(rows: list[Row]) -> str:
    """The rows as one markdown table."""
    lines = ["| benchmark | contender | result | compared |", "|---|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, smaller files")
    parser.add_argument(
        "--only", nargs="+", choices=list(SCRIPTS), default=list(SCRIPTS), help="benchmarks to run"
    )
    parser.add_argument("--out", type=Path, help="also write the raw figures to this JSON file")
    args = parser.parse_args()
    settings = QUICK if args.quick else FULL
    figures = {name: run_benchmark(name, settings[name]) for name in args.only}
    if args.out is not None:
        args.out.write_text(json.dumps(figures, indent=2))
    builders = {
        "write": write_rows,
        "uploads": upload_rows,
        "streaming": streaming_rows,
        "startup": startup_rows,
    }
    rows = [row for name in args.only for row in builders[name](figures[name])]
    machine = next(iter(figures.values()))["machine"]
    print(f"Machine: {describe(machine)}\n")
    print(table(rows))
    skipped = figures.get("write", {}).get("skipped")
    if skipped:
        print(f"\nNot installed, so not measured: {', '.join(skipped)}")


if __name__ == "__main__":
    main()
