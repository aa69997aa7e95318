"""Media uploads: the SDK's pipeline against a raw aiohttp PUT, memory, and concurrency.

Three measurements, all against the real sandbox over loopback (the sandbox
runs on a thread of this process; each upload case runs in a fresh
subprocess, so its peak memory is its own):

1. **Throughput.** A 256 MiB file from path to media URL through the SDK
   (``upload_all``: hashing, create, one streamed PUT, complete) against a
   raw aiohttp PUT of the same file to an ``upload_url`` of the same sandbox
   (no hashing, no create or complete). The raw PUT is timed in two forms:
   aiohttp's own file payload (``data=open(...)``), and a 1 MiB async
   iterator read in a worker thread; the ratio uses the faster. Goal: the SDK
   at least 0.5 of raw.
2. **Memory.** Peak RSS growth (``VmHWM`` after the upload minus ``VmRSS``
   before it, read from ``/proc/self/status``) of each upload subprocess.
   Goal: at most 64 MiB for the SDK.
3. **Concurrency.** Eight 32 MiB files at ``upload_concurrency`` 1, 4 and 8
   while the sandbox holds each PUT 0.5 s. Goal: at 4, at most 0.4 of the
   wall time at 1 (one by one).

Each case runs on a fresh sandbox, so nothing is deduplicated. Test files are
created in a temporary directory and removed at the end.

Run: ``python benchmarks/bench_uploads.py`` (``--help`` for options; ``--json``
prints the figures as JSON).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import describe, machine_info

MIB = 1024 * 1024
PNG = b"\x89PNG\r\n\x1a\n"


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    msg = f"{field} not in /proc/self/status"
    raise RuntimeError(msg)


def _make_file(path: Path, size: int) -> None:
    block = os.urandom(MIB)
    with open(path, "wb") as file:
        written = 0
        while written < size:
            # A different first byte per block keeps blocks distinct; the PNG
            # signature makes the file's type clear from its bytes.
            chunk = (PNG + block)[: min(MIB, size - written)] if written == 0 else block
            file.write(chunk)
            written += len(chunk)
            block = block[1:] + block[:1]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while block := file.read(MIB):
            digest.update(block)
    return digest.hexdigest()


# -- the upload cases, each run in its own subprocess --------------------------------------


async def _sdk_case(base_url: str, api_key: str, path: str, concurrency: int) -> dict[str, Any]:
    from socialwrite import AsyncClient
    from socialwrite._media import upload_all
    from socialwrite._request import LocalFile
    from socialwrite._retry import RetryPolicy

    files = tuple(
        LocalFile(source=p, path=p, size=Path(p).stat().st_size)  # noqa: ASYNC240
        for p in path.split(os.pathsep)
    )

    async def drop(_event: object) -> None:
        return None

    async with AsyncClient(api_key, base_url=base_url, upload_concurrency=concurrency) as client:
        # The User-Agent is computed once per process (package metadata is
        # slow to read): a start-up cost, not an upload's.
        requester = client._requester  # noqa: SLF001 - the pipeline a write runs, alone
        requester.headers(base_url)
        rss_before = _status_kib("VmRSS")
        start = time.perf_counter()
        urls = await upload_all(
            requester,
            files,
            drop,
            RetryPolicy(),
            timeout=client.timeout,
            media_cache=client.media_cache,
            concurrency=client.upload_concurrency,
        )
        seconds = time.perf_counter() - start
    assert len(urls) == len(files)
    return {"seconds": seconds, "rss_before_kib": rss_before}


async def _raw_file_case(api_key: str, path: str, upload_url: str) -> dict[str, Any]:
    import aiohttp

    size = Path(path).stat().st_size  # noqa: ASYNC240
    headers = {
        "Authorization": f"Bearer {api_key}",
        "Content-Type": "application/octet-stream",
        "Content-Length": str(size),
        "Content-Range": f"bytes 0-{size - 1}/{size}",
    }
    async with aiohttp.ClientSession() as session:
        rss_before = _status_kib("VmRSS")
        start = time.perf_counter()
        with open(path, "rb") as file:  # noqa: ASYNC230 - aiohttp reads it in its executor
            async with session.put(upload_url, data=file, headers=headers) as response:
                answer = await response.json()
        seconds = time.perf_counter() - start
    assert answer["status"] == "received", answer
    return {"seconds": seconds, "rss_before_kib": rss_before}


class _Chunks:
    """A file as 1 MiB chunks, each read in a worker thread."""

    def __init__(self, file: Any) -> None:
        self._file = file

    def __aiter__(self) -> _Chunks:
        return self

    async def __anext__(self) -> bytes:
        import asyncio

        chunk: bytes = await asyncio.to_thread(self._file.read, MIB)
        if not chunk:
            raise StopAsyncIteration
        return chunk


async def _raw_iter_case(api_key: str, path: str, upload_url: str) -> dict[str, Any]:
    import aiohttp

    size = Path(path).stat().st_size  # noqa: ASYNC240
    headers = {
        "Authorization": f"Bearer {api_key}",
        "Content-Type": "application/octet-stream",
        "Content-Length": str(size),
        "Content-Range": f"bytes 0-{size - 1}/{size}",
    }
    async with aiohttp.ClientSession() as session:
        rss_before = _status_kib("VmRSS")
        start = time.perf_counter()
        with open(path, "rb") as file:  # noqa: ASYNC230 - read in worker threads
            async with session.put(upload_url, data=_Chunks(file), headers=headers) as response:
                answer = await response.json()
        seconds = time.perf_counter() - start
    assert answer["status"] == "received", answer
    return {"seconds": seconds, "rss_before_kib": rss_before}


def _child(args: argparse.Namespace) -> None:
    import asyncio

    if args.child == "sdk":
        result = asyncio.run(_sdk_case(args.base_url, args.api_key, args.path, args.concurrency))
    elif args.child == "raw-file":
        result = asyncio.run(_raw_file_case(args.api_key, args.path, args.upload_url))
    else:
        result = asyncio.run(_raw_iter_case(args.api_key, args.path, args.upload_url))
    result["hwm_kib"] = _status_kib("VmHWM")
    print(json.dumps(result))


# -- the parent: sandboxes, files, subprocesses --------------------------------------------


def _run_child(*argv: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", *argv]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["growth_mib"] = (result["hwm_kib"] - result["rss_before_kib"]) / 1024
    return result


def _create_upload(base_url: str, api_key: str, path: Path, sha256: str) -> str:
    import httpx

    size = path.stat().st_size
    response = httpx.post(
        f"{base_url}/v1/media/uploads",
        json={"filename": path.name, "content_type": "image/png", "size": size, "sha256": sha256},
        headers={"Authorization": f"Bearer {api_key}"},
    )
    response.raise_for_status()
    url: str = response.json()["upload_url"]
    return url


def _throughput(directory: Path, size: int, rounds: int) -> dict[str, list[dict[str, Any]]]:
    from socialwrite.sandbox import Sandbox

    path = directory / "big.png"
    _make_file(path, size)
    sha256 = _sha256(path)
    results: dict[str, list[dict[str, Any]]] = {"sdk": [], "raw-file": [], "raw-iter": []}
    for _ in range(rounds):
        # Take turns within a round, so a noisy moment does not land on one case only.
        for case, runs in results.items():
            with Sandbox().run_in_thread() as sandbox:
                if case == "sdk":
                    argv = ["sdk", "--base-url", sandbox.base_url, "--api-key", sandbox.api_key]
                else:
                    url = _create_upload(sandbox.base_url, sandbox.api_key, path, sha256)
                    argv = [case, "--api-key", sandbox.api_key, "--upload-url", url]
                runs.append(_run_child(*argv, "--path", str(path)))
    path.unlink()
    return results


def _concurrency(
    directory: Path, count: int, size: int, delay: float, levels: list[int]
) -> dict[int, float]:
    from socialwrite.sandbox import Sandbox, SandboxConfig
    from socialwrite.sandbox._uploads_config import UploadConfig

    paths = [directory / f"clip{index}.png" for index in range(count)]
    for path in paths:
        _make_file(path, size)
    joined = os.pathsep.join(str(path) for path in paths)
    config = SandboxConfig(uploads=UploadConfig(put_delay=delay))
    seconds: dict[int, float] = {}
    for concurrency in levels:
        with Sandbox(config).run_in_thread() as sandbox:
            result = _run_child(
                "sdk",
                "--base-url",
                sandbox.base_url,
                "--api-key",
                sandbox.api_key,
                "--path",
                joined,
                "--concurrency",
                str(concurrency),
            )
        seconds[concurrency] = result["seconds"]
    for path in paths:
        path.unlink()
    return seconds


def summarize(
    args: argparse.Namespace,
    results: dict[str, list[dict[str, Any]]],
    concurrency: dict[int, float],
) -> dict[str, Any]:
    """The figures of a run, as a JSON-ready mapping."""
    cases = {}
    for case, runs in results.items():
        cases[case] = {
            "best_seconds": min(run["seconds"] for run in runs),
            "median_seconds": statistics.median(run["seconds"] for run in runs),
            "peak_rss_growth_mib": max(run["growth_mib"] for run in runs),
        }
    raw_best = min(cases["raw-file"]["best_seconds"], cases["raw-iter"]["best_seconds"])
    raw_median = min(cases["raw-file"]["median_seconds"], cases["raw-iter"]["median_seconds"])
    return {
        "machine": machine_info(),
        "size_mib": args.size_mib,
        "rounds": args.rounds,
        "cases": cases,
        "sdk_over_raw_best": raw_best / cases["sdk"]["best_seconds"],
        "sdk_over_raw_median": raw_median / cases["sdk"]["median_seconds"],
        "files": args.files,
        "file_mib": args.file_mib,
        "delay": args.delay,
        "concurrency_seconds": {str(level): seconds for level, seconds in concurrency.items()},
    }


def print_report(figures: dict[str, Any]) -> None:
    """Print the figures as text."""
    print(describe(figures["machine"]))
    size = figures["size_mib"]
    print(f"Throughput: {size} MiB, path to media URL, {figures['rounds']} rounds")
    for case, row in figures["cases"].items():
        best = row["best_seconds"]
        print(
            f"  {case:9} best {best:6.3f} s ({size / best:6.1f} MiB/s)  "
            f"median {row['median_seconds']:6.3f} s  "
            f"peak RSS growth {row['peak_rss_growth_mib']:5.1f} MiB (worst round)"
        )
    print(f"  SDK / fastest raw, medians: {figures['sdk_over_raw_median']:.2f}")
    print(
        f"  SDK / fastest raw: {figures['sdk_over_raw_best']:.2f} "
        "(goal >= 0.5; the SDK also hashes the file)"
    )
    sdk_peak = figures["cases"]["sdk"]["peak_rss_growth_mib"]
    print(f"  SDK peak RSS growth: {sdk_peak:.1f} MiB (goal <= 64)")
    held = f"each PUT held {figures['delay']} s by the server"
    print(f"Concurrency: {figures['files']} x {figures['file_mib']} MiB, {held}")
    timings = figures["concurrency_seconds"]
    one = timings.get("1")
    for level, seconds in timings.items():
        share = f"  ({seconds / one:.2f} of one by one)" if one else ""
        print(f"  upload_concurrency={level:<2} {seconds:6.3f} s{share}")
    print("  goal: at 4, at most 0.4 of one by one")


def main() -> None:
    """Run the benchmarks and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--size-mib", type=int, default=256, help="the big file's size")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the throughput cases")
    parser.add_argument("--files", type=int, default=8, help="files in the concurrency case")
    parser.add_argument("--file-mib", type=int, default=32, help="their size")
    parser.add_argument("--delay", type=float, default=0.5, help="seconds each PUT is held")
    parser.add_argument(
        "--levels", type=int, nargs="+", default=[1, 4, 8], help="upload_concurrency levels"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--child", choices=["sdk", "raw-file", "raw-iter"], help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--api-key", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--upload-url", help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, default=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args)
        return

    size = args.size_mib * MIB
    # The sandbox keeps received bytes in a temporary directory: on tmpfs, the
    # disk's write-back does not add its noise to what the clients do.
    if os.path.isdir("/dev/shm") and "TMPDIR" not in os.environ:
        os.environ["TMPDIR"] = "/dev/shm"
        tempfile.tempdir = None
    with tempfile.TemporaryDirectory(prefix="socialwrite-bench-") as name:
        directory = Path(name)
        results = _throughput(directory, size, args.rounds)
        concurrency = _concurrency(
            directory, args.files, args.file_mib * MIB, args.delay, args.levels
        )
    figures = summarize(args, results, concurrency)
    if args.json:
        print(json.dumps(figures))
    else:
        print_report(figures)


if __name__ == "__main__":
    main()
