"""Start-up: the time ``import socialwrite`` takes, and the memory an idle client holds.

* **Import time.** Each import runs in a fresh interpreter (``python -c``),
  timed inside it with ``time.perf_counter()`` around the ``import`` alone,
  so the interpreter's own start is not counted; the figure is the median of
  ``--runs`` processes. ``-X importtime`` then shows where the time goes: the
  heaviest packages ``import socialwrite`` pulls in, by cumulative time.
  The peers' imports, and aiohttp's alone, are timed the same way for scale.
* **Memory per idle client.** In a fresh interpreter, after the import and one
  client made and dropped (so lazily built module state is not counted),
  ``--clients`` clients are constructed and kept; the figure is the growth
  of traced memory (``tracemalloc``) per client, and of the resident set size.
  An ``AsyncClient`` needs no event loop to be constructed, and opens no
  connection until its first request.

Run: ``python benchmarks/bench_startup.py`` (``--json`` prints the figures as JSON).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import describe, machine_info

# What each contender imports, and how one of its idle clients is made.
IMPORTS = {
    "socialwrite": "import socialwrite",
    "aiohttp (alone)": "import aiohttp",
    "Ayrshare social-post-api": "import ayrshare.ayrshare",
    "Zernio zernio-sdk": "import zernio",
}
CLIENTS = {
    "socialwrite": (
        "import socialwrite",
        "socialwrite.AsyncClient('sandbox', base_url='http://127.0.0.1:8787')",
    ),
    "Ayrshare social-post-api": (
        "import ayrshare.ayrshare",
        "ayrshare.ayrshare.SocialPost('sandbox')",
    ),
    "Zernio zernio-sdk": ("import zernio", "zernio.Zernio('sandbox', base_url='http://127.0.0.1')"),
}
MODULES = {
    "socialwrite": "socialwrite",
    "aiohttp (alone)": "aiohttp",
    "Ayrshare social-post-api": "ayrshare",
    "Zernio zernio-sdk": "zernio",
}

_TIME_IMPORT = """
import time
start = time.perf_counter()
{statement}
print(time.perf_counter() - start)
"""

_MEASURE_CLIENTS = """
import gc, json, tracemalloc
{statement}

def rss_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

{make}  # one first client: module state built lazily is not a client's cost
gc.collect()
tracemalloc.start()
before_traced = tracemalloc.get_traced_memory()[0]
before_rss = rss_kib()
clients = [{make} for _ in range({count})]
gc.collect()
after_traced = tracemalloc.get_traced_memory()[0]
after_rss = rss_kib()
tracemalloc.stop()
print(json.dumps({{
    "traced_bytes_per_client": (after_traced - before_traced) / {count},
    "rss_bytes_per_client": (after_rss - before_rss) * 1024 / {count},
}}))
"""


def _run_python(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], check=True, capture_output=True, text=True)


def import_seconds(statement: str, runs: int) -> list[float]:
    """Time ``statement`` in ``runs`` fresh interpreters."""
    code = _TIME_IMPORT.format(statement=statement)
    return [float(_run_python("-c", code).stdout.strip()) for _ in range(runs)]


@dataclass
class ImportTimes:
    """What ``-X importtime`` reports, in microseconds."""

    cumulative: dict[str, int]  # each top-level package, with what it imports
    own: dict[str, int]  # each module's self time
    parent: dict[str, str]  # the module each module was first imported by


def _import_times(statement: str) -> ImportTimes:
    """Run ``statement`` under ``-X importtime`` and read its report."""
    stderr = _run_python("-X", "importtime", "-c", statement).stderr
    times = ImportTimes({}, {}, {})
    # A module's line comes after the lines of what it imports, which are
    # indented deeper: those still waiting for a parent when it comes are its.
    waiting: list[tuple[int, str]] = []
    for line in stderr.splitlines():
        # "import time: <self us> | <cumulative us> | <indented module name>"
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|")
        module = name.strip()
        depth = len(name) - len(name.lstrip())
        while waiting and waiting[-1][0] > depth:
            times.parent[waiting.pop()[1]] = module
        waiting.append((depth, module))
        times.own[module] = int(self_us)
        # A package's own line (not a submodule's) carries its whole cost.
        if "." not in module:
            times.cumulative[module] = max(times.cumulative.get(module, 0), int(cumulative_us))
    return times


def _imported_by_another_package(times: ImportTimes, module: str, package: str) -> bool:
    """Whether ``module`` came in through a package other than itself and ``package``."""
    top = module.partition(".")[0]
    ancestor = times.parent.get(module)
    while ancestor is not None:
        ancestor_top = ancestor.partition(".")[0]
        if ancestor_top not in (top, package):
            return True
        ancestor = times.parent.get(ancestor)
    return False


def heaviest_imports(statement: str, package: str, count: int) -> dict[str, Any]:
    """Where importing ``statement`` spends its time: other packages, and ``package``'s modules.

    Modules the interpreter imports at its own start (``site``, ``encodings``,
    ...) are left out, and so are packages that another package imported (their
    time is in that one's). ``-X importtime`` slows imports down, so the
    figures are best read as shares of the total.
    """
    at_start = _import_times("pass").cumulative
    times = _import_times(statement)
    total = times.cumulative.get(package, 1)
    others = sorted(
        (
            (name, micros)
            for name, micros in times.cumulative.items()
            if name not in at_start
            and name != package
            and not _imported_by_another_package(times, name, package)
        ),
        key=lambda item: item[1],
        reverse=True,
    )
    modules = sorted(
        (
            (name, micros)
            for name, micros in times.own.items()
            if name == package or name.startswith(f"{package}.")
        ),
        key=lambda item: item[1],
        reverse=True,
    )
    return {
        "total_ms": total / 1000,
        "packages": [
            {"name": name, "ms": micros / 1000, "share": micros / total}
            for name, micros in others[:count]
        ],
        "modules": [
            {"name": name, "ms": micros / 1000, "share": micros / total}
            for name, micros in modules[:count]
        ],
    }


def client_memory(statement: str, make: str, count: int) -> dict[str, float]:
    """Memory growth per idle client, in a fresh interpreter."""
    code = _MEASURE_CLIENTS.format(statement=statement, make=make, count=count)
    result: dict[str, float] = json.loads(_run_python("-c", code).stdout.strip().splitlines()[-1])
    return result


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Measure every installed contender; return the figures."""
    imports: dict[str, dict[str, float]] = {}
    present = {
        name: statement
        for name, statement in IMPORTS.items()
        if importlib.util.find_spec(MODULES[name]) is not None
    }
    samples: dict[str, list[float]] = {name: [] for name in present}
    # Take turns, so that a noisy moment does not land on one contender only.
    for _ in range(args.runs):
        for name, statement in present.items():
            samples[name].extend(import_seconds(statement, 1))
    for name, seconds in samples.items():
        imports[name] = {"median_ms": statistics.median(seconds) * 1000, "runs": len(seconds)}
    memory = {
        name: client_memory(statement, make, args.clients)
        for name, (statement, make) in CLIENTS.items()
        if name in present
    }
    return {
        "machine": machine_info(),
        "imports": imports,
        "heaviest": heaviest_imports(IMPORTS["socialwrite"], "socialwrite", args.top),
        "clients": args.clients,
        "memory": memory,
    }


def print_report(figures: dict[str, Any]) -> None:
    """Print the figures as markdown tables."""
    print(describe(figures["machine"]))
    print("\n| import | median ms |")
    print("|---|---:|")
    for name, row in figures["imports"].items():
        print(f"| `{IMPORTS[name]}` ({name}) | {row['median_ms']:.1f} |")
    heaviest = figures["heaviest"]
    print(
        "\nWhere `import socialwrite` spends its time (-X importtime, which slows it down: "
        f"{heaviest['total_ms']:.0f} ms in all under it):\n"
    )
    print("| imported | ms | share |")
    print("|---|---:|---:|")
    for row in heaviest["packages"]:
        print(f"| {row['name']} (with what it imports) | {row['ms']:.1f} | {row['share']:.0%} |")
    for row in heaviest["modules"]:
        print(f"| {row['name']} (its own code) | {row['ms']:.1f} | {row['share']:.0%} |")
    print(f"\nMemory per idle client ({figures['clients']} clients):\n")
    print("| client | traced bytes | RSS bytes |")
    print("|---|---:|---:|")
    for name, row in figures["memory"].items():
        print(
            f"| {name} | {row['traced_bytes_per_client']:.0f} | {row['rss_bytes_per_client']:.0f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=11, help="fresh processes per import")
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--top", type=int, default=8, help="heaviest packages to list")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    figures = run(args)
    if args.json:
        print(json.dumps(figures))
    else:
        print_report(figures)


if __name__ == "__main__":
    main()
