"""Write overhead: client CPU per write and writes per second, the SDK against raw HTTP and peers.

Every contender makes the same write (two platforms, text only) against a
canned loopback server in another process (``_servers.py``) that answers each
one's own endpoint with the same result in the shape it expects. Each
contender runs in a process of its own, kept warm between measurements, so
``time.process_time()`` counts its CPU alone (its threads included) and one
contender's imports do not weigh on another's garbage collector.

The contenders:

* ``socialwrite asyncio``: ``await client.write(...)`` on the default asyncio
  transport (aiohttp);
* ``socialwrite asyncio, streamed``: ``async with client.write(...) as
  stream`` reading every result as it arrives, then ``stream.result``;
* ``raw aiohttp``: the floor. The same HTTP call with aiohttp alone: the
  SDK's own headers and body (recorded from a real SDK request), a fresh
  idempotency key per write, the SSE answer streamed to its end, and the
  ``done`` event's JSON decoded;
* ``socialwrite trio`` (httpx2) and ``raw httpx2 trio``, likewise;
* ``Ayrshare`` (``social-post-api``, synchronous, on requests): ``post()``
  from a thread pool as wide as the concurrency, its base URL pointed at the
  loopback server (the module's ``base`` constant);
* ``Zernio`` (``zernio-sdk``): ``await client.posts.acreate(...,
  publish_now=True)`` with ``base_url`` set to the loopback server.

The peers are used as they ship: Ayrshare opens a new connection for each
post (``requests.post`` without a session) and Zernio a new ``httpx``
client for each call; that is part of what a write costs with them.

Each round measures every contender at every concurrency, in turn, so a
noisy moment of the machine does not land on one of them only; the figures
are medians over the rounds, and each ratio is the median of the ratios
measured round by round.

Each socialwrite worker runs with its tree (the checkout holding this script)
first on ``PYTHONPATH`` and reports the ``socialwrite`` file it imported; the
parent refuses to measure if that file is not under the tree.

``--baseline REV`` compares with an earlier version: it checks REV (any git
revision) out into a temporary git worktree, adds a "(baseline REV)" twin of
each socialwrite contender selected, whose worker imports the package from
that worktree (the benchmark's own code stays the current one), and reports
current / baseline CPU ratios. The raw floors replay the request recorded with
the current tree; the report says how the baseline's request differs, if it
does. The worktree is removed at the end, also on an error or Ctrl-C.

Run: ``python benchmarks/bench_write.py`` (``--help`` for options; ``--json``
prints the figures as JSON; ``--profile NAME`` profiles one contender).
A peer that is not installed is reported as skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import io
import json
import os
import pstats
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _drive import AsyncWrite, Measurement, drive_asyncio, drive_trio
from _machine import describe, machine_info
from _servers import PLATFORMS, serve_in_subprocess

TEXT = "Markets today: the benchmark's post"
# The peers name the platforms their own way.
PEER_PLATFORMS = ("twitter", "bluesky")

SyncWrite = Callable[[], None]

# The checkout this script belongs to: the "current" socialwrite.
ROOT = Path(__file__).resolve().parent.parent
BASELINE_SUFFIX = "-baseline"


@dataclass(frozen=True)
class Contender:
    """One way of making the write: its label, its runtime, what it needs installed."""

    name: str
    label: str
    runtime: str  # "asyncio", "trio" or "threads"
    requires: tuple[str, ...]
    baseline: bool = False  # a twin whose worker imports the baseline's socialwrite

    @property
    def write(self) -> str:
        """The name of the write this contender makes (a twin makes its original's)."""
        return self.name.removesuffix(BASELINE_SUFFIX)

    @property
    def sdk(self) -> bool:
        return self.name.startswith("sdk-")

    def baseline_twin(self, rev: str) -> Contender:
        return replace(
            self,
            name=self.name + BASELINE_SUFFIX,
            label=f"{self.label} (baseline {rev})",
            baseline=True,
        )


CONTENDERS = (
    Contender("sdk-asyncio", "socialwrite, asyncio (aiohttp)", "asyncio", ("aiohttp",)),
    Contender("sdk-asyncio-stream", "socialwrite, asyncio, streamed", "asyncio", ("aiohttp",)),
    Contender("raw-aiohttp", "raw aiohttp (the floor)", "asyncio", ("aiohttp",)),
    Contender("sdk-trio", "socialwrite, trio (httpx2)", "trio", ("trio", "httpx2")),
    Contender("raw-httpx2", "raw httpx2, trio", "trio", ("trio", "httpx2")),
    Contender("ayrshare", "Ayrshare social-post-api (threads)", "threads", ("ayrshare",)),
    Contender("zernio", "Zernio zernio-sdk (asyncio)", "asyncio", ("zernio",)),
)
BY_NAME = {contender.name: contender for contender in CONTENDERS}

# The ratios the report prints, as (contender, baseline) pairs: the SDK against
# the floor of its runtime, and each peer against the SDK.
RATIOS = (
    ("sdk-asyncio", "raw-aiohttp"),
    ("sdk-asyncio-stream", "raw-aiohttp"),
    ("sdk-trio", "raw-httpx2"),
    ("ayrshare", "sdk-asyncio"),
    ("zernio", "sdk-asyncio"),
)


# -- the contenders' writes ------------------------------------------------------------


@contextlib.asynccontextmanager
async def sdk_writer(base_url: str, api_key: str, *, streamed: bool) -> AsyncIterator[AsyncWrite]:
    """``client.write`` on the default transport of the running loop."""
    import socialwrite

    async with socialwrite.AsyncClient(api_key, base_url=base_url) as client:
        if streamed:

            async def write_once() -> None:
                async with client.write(
                    platforms=list(PLATFORMS), content={"text": TEXT}
                ) as stream:
                    async for _ in stream:
                        pass
                if not stream.result.ok:
                    raise RuntimeError(stream.result)

        else:

            async def write_once() -> None:
                result = await client.write(platforms=list(PLATFORMS), content={"text": TEXT})
                if not result.ok:
                    raise RuntimeError(result)

        yield write_once


def _done_data(data: bytes) -> Any:
    """Decode the JSON of the stream's last event (the ``done`` event)."""
    return json.loads(data[data.rindex(b"\ndata: ") + 7 :])


@contextlib.asynccontextmanager
async def raw_aiohttp_writer(sample: dict[str, Any]) -> AsyncIterator[AsyncWrite]:
    """The SDK's call with aiohttp alone, with the session settings the SDK uses."""
    import aiohttp

    template = {k: v for k, v in sample["headers"].items() if k.lower() != "idempotency-key"}
    body: bytes = bytes.fromhex(sample["body"])
    url: str = sample["url"]
    seconds = sample["read_timeout"]
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=seconds, sock_read=seconds)
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=512),
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
    )
    async with session:

        async def write_once() -> None:
            headers = dict(template)
            headers["Idempotency-Key"] = "sw-" + os.urandom(16).hex()  # as the SDK makes its keys
            async with session.post(
                url, headers=headers, data=body, timeout=timeout, allow_redirects=False
            ) as response:
                data = b"".join([chunk async for chunk in response.content.iter_any()])
            if response.status != 200:
                msg = f"the server answered {response.status}: {data[:200]!r}"
                raise RuntimeError(msg)
            _done_data(data)

        yield write_once


@contextlib.asynccontextmanager
async def raw_httpx2_writer(sample: dict[str, Any]) -> AsyncIterator[AsyncWrite]:
    """The SDK's call with httpx2 alone, with the client settings the SDK uses."""
    import httpx2

    template = {k: v for k, v in sample["headers"].items() if k.lower() != "idempotency-key"}
    body: bytes = bytes.fromhex(sample["body"])
    url: str = sample["url"]
    seconds = sample["read_timeout"]
    timeout = httpx2.Timeout(connect=seconds, read=seconds, write=seconds, pool=seconds)
    http = httpx2.AsyncClient(
        limits=httpx2.Limits(max_connections=512, max_keepalive_connections=64),
        follow_redirects=False,
        trust_env=False,
    )
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
            _done_data(data)

        yield write_once


@contextlib.asynccontextmanager
async def zernio_writer(base_url: str, api_key: str) -> AsyncIterator[AsyncWrite]:
    """Zernio's async create, publishing at once to both platforms."""
    from zernio import Zernio

    client = Zernio(api_key, base_url=f"{base_url}/api")
    targets = [
        {"platform": "twitter", "accountId": "acc_x"},
        {"platform": "bluesky", "accountId": "acc_bsky"},
    ]

    async def write_once() -> None:
        answer = await client.posts.acreate(content=TEXT, platforms=targets, publish_now=True)
        if answer.post is None or not answer.post.platforms:
            raise RuntimeError(answer)

    yield write_once


@contextlib.contextmanager
def ayrshare_writer(base_url: str, api_key: str) -> Iterator[SyncWrite]:
    """Ayrshare's ``post``, its module-level base URL pointed at the loopback server."""
    import ayrshare.ayrshare as ayrshare_module

    ayrshare_module.base = f"{base_url}/api/"
    client = ayrshare_module.SocialPost(api_key)

    def write_once() -> None:
        answer = client.post({"post": TEXT, "platforms": list(PEER_PLATFORMS)})
        if answer.get("status") != "success":
            raise RuntimeError(answer)

    yield write_once


# -- driving writes and measuring them ---------------------------------------------------


def drive_threads(
    write_once: SyncWrite, writes: int, pool: ThreadPoolExecutor, concurrency: int
) -> Measurement:
    """Make ``writes`` writes from ``concurrency`` threads of ``pool``."""
    # Iterating one range iterator from many threads is safe: each step is one C call.
    tickets = iter(range(writes))

    def worker() -> None:
        for _ in tickets:
            write_once()

    gc.collect()
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    futures = [pool.submit(worker) for _ in range(concurrency)]
    for future in futures:
        future.result()
    return Measurement(writes, time.perf_counter() - wall_start, time.process_time() - cpu_start)


# -- the worker process: one contender, commands on standard input -----------------------


def _commands() -> Iterator[tuple[int, int]]:
    """Read ``WRITES CONCURRENCY`` lines until standard input closes."""
    for line in sys.stdin:
        writes, concurrency = (int(word) for word in line.split())
        yield writes, concurrency


def _reply(measurement: Measurement) -> None:
    print(json.dumps(measurement.to_json()), flush=True)


@contextlib.asynccontextmanager
async def async_writer(
    name: str, base_url: str, api_key: str, sample: dict[str, Any]
) -> AsyncIterator[AsyncWrite]:
    """The write of an async contender, ready to call."""
    if name in ("sdk-asyncio", "sdk-asyncio-stream", "sdk-trio"):
        context = sdk_writer(base_url, api_key, streamed=name == "sdk-asyncio-stream")
    elif name == "raw-aiohttp":
        context = raw_aiohttp_writer(sample)
    elif name == "raw-httpx2":
        context = raw_httpx2_writer(sample)
    elif name == "zernio":
        context = zernio_writer(base_url, api_key)
    else:
        msg = f"no async contender {name!r}"
        raise ValueError(msg)
    async with context as write_once:
        yield write_once


def _ready_line(contender: Contender) -> str:
    """``ready`` and the socialwrite file the worker imported (``-`` if it uses none)."""
    if not contender.sdk:
        return "ready -"
    import socialwrite

    return f"ready {Path(socialwrite.__file__).resolve()}"


def worker_main(name: str, base_url: str, api_key: str, sample_path: str) -> None:
    """Serve measurement commands for one contender until standard input closes."""
    contender = BY_NAME[name]
    sample: dict[str, Any] = json.loads(Path(sample_path).read_text())
    ready = _ready_line(contender)
    if contender.runtime == "asyncio":

        async def serve_asyncio() -> None:
            loop = asyncio.get_running_loop()
            async with async_writer(name, base_url, api_key, sample) as write_once:
                print(ready, flush=True)
                while line := await loop.run_in_executor(None, sys.stdin.readline):
                    writes, concurrency = (int(word) for word in line.split())
                    _reply(await drive_asyncio(write_once, writes, concurrency))

        asyncio.run(serve_asyncio())
    elif contender.runtime == "trio":
        import trio

        async def serve_trio() -> None:
            async with async_writer(name, base_url, api_key, sample) as write_once:
                print(ready, flush=True)
                while line := await trio.to_thread.run_sync(sys.stdin.readline):
                    writes, concurrency = (int(word) for word in line.split())
                    _reply(await drive_trio(write_once, writes, concurrency))

        trio.run(serve_trio)
    else:
        pools: dict[int, ThreadPoolExecutor] = {}
        with ayrshare_writer(base_url, api_key) as write_once:
            print(ready, flush=True)
            for writes, concurrency in _commands():
                # One pool per concurrency, kept: its threads start in the warm-up.
                pool = pools.get(concurrency)
                if pool is None:
                    pool = pools[concurrency] = ThreadPoolExecutor(max_workers=concurrency)
                _reply(drive_threads(write_once, writes, pool, concurrency))
        for pool in pools.values():
            pool.shutdown()


class Worker:
    """The parent's handle on one contender's worker process."""

    def __init__(
        self, contender: Contender, tree: Path, base_url: str, api_key: str, sample_path: str
    ) -> None:
        self.name = name = contender.name
        command = ["--worker", contender.write, base_url, api_key, sample_path]
        self.process = subprocess.Popen(
            [sys.executable, __file__, *command],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=tree_env(tree),
        )
        word, _, loaded = self._read_line().partition(" ")
        if word != "ready":
            self.close()
            msg = f"the {name} worker did not start (it printed {word!r})"
            raise RuntimeError(msg)
        # The socialwrite file the worker imported ("-" for one that does not use it).
        self.socialwrite_file = loaded
        if contender.sdk:
            try:
                check_imported_from(tree, loaded, f"the {name} worker")
            except RuntimeError:
                self.close()
                raise

    def _read_line(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline().strip()

    def measure(self, writes: int, concurrency: int) -> Measurement:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{writes} {concurrency}\n")
        self.process.stdin.flush()
        line = self._read_line()
        if not line:
            msg = f"the {self.name} worker stopped (exit code {self.process.wait()})"
            raise RuntimeError(msg)
        data = json.loads(line)
        return Measurement(data["writes"], data["seconds"], data["cpu_seconds"])

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# -- the parent: the trees, the sample request, the rounds, the report --------------------


def tree_env(tree: Path) -> dict[str, str]:
    """The environment of a process that must import socialwrite from ``tree``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tree), env.get("PYTHONPATH")]))
    return env


def check_imported_from(tree: Path, loaded: str, who: str) -> None:
    """Refuse to go on if ``who`` imported socialwrite from anywhere but ``tree``."""
    expected = tree.resolve() / "socialwrite"
    if not Path(loaded).is_relative_to(expected):
        msg = f"{who} imported socialwrite from {loaded!r}, not from {expected}"
        raise RuntimeError(msg)


@contextlib.contextmanager
def baseline_worktree(rev: str | None) -> Iterator[tuple[Path, str] | None]:
    """Check ``rev`` out into a temporary git worktree; yield its path and commit."""
    if rev is None:
        yield None
        return

    def git(*words: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(ROOT), *words], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            msg = f"git {' '.join(words)} failed: {done.stderr.strip()}"
            raise SystemExit(msg)
        return done.stdout.strip()

    commit = git("rev-parse", "--verify", f"{rev}^{{commit}}")
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as tmp:
        tree = Path(tmp) / "tree"
        git("worktree", "add", "--detach", str(tree), commit)
        try:
            yield tree, commit
        finally:
            git("worktree", "remove", "--force", str(tree))


def sample_in_subprocess(tree: Path, base_url: str, api_key: str, out: Path) -> dict[str, Any]:
    """Record the SDK's write request with the socialwrite of ``tree``, in a process of its own."""
    done = subprocess.run(
        [sys.executable, __file__, "--record-sample", base_url, api_key, str(out)],
        env=tree_env(tree),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        msg = f"recording the write request with {tree} failed:\n{done.stderr}"
        raise RuntimeError(msg)
    check_imported_from(tree, done.stdout.strip(), f"the sample recorder for {tree}")
    sample: dict[str, Any] = json.loads(out.read_text())
    return sample


def compare_samples(current: dict[str, Any], baseline: dict[str, Any]) -> list[str]:
    """How the current tree's write request differs from the baseline's (the key aside)."""

    def headers(sample: dict[str, Any]) -> dict[str, str]:
        return {
            k.lower(): v for k, v in sample["headers"].items() if k.lower() != "idempotency-key"
        }

    differences = [
        f"{key}: baseline {baseline[key]!r}, current {current[key]!r}"
        for key in ("url", "body", "read_timeout")
        if current[key] != baseline[key]
    ]
    now, then = headers(current), headers(baseline)
    differences += [
        f"header {name}: baseline {then.get(name)!r}, current {now.get(name)!r}"
        for name in sorted(now.keys() | then.keys())
        if now.get(name) != then.get(name)
    ]
    return differences


def installed(contender: Contender) -> bool:
    """Whether every module the contender needs can be imported here."""
    import importlib.util

    return all(importlib.util.find_spec(module) is not None for module in contender.requires)


def record_sample(base_url: str, api_key: str) -> dict[str, Any]:
    """The SDK's write request on asyncio (headers, body, timeout), for the raw contenders."""
    import socialwrite
    from socialwrite.transports import AiohttpTransport, Request, Response

    class Recorder(AiohttpTransport):
        request: Request | None = None

        async def send(self, request: Request) -> Response:
            if self.request is None:
                self.request = request
            return await super().send(request)

    async def record() -> Request:
        transport = Recorder()
        client = socialwrite.AsyncClient(api_key, base_url=base_url, transport=transport)
        try:
            async with client:
                await client.write(platforms=list(PLATFORMS), content={"text": TEXT})
        finally:
            await transport.aclose()
        assert transport.request is not None
        return transport.request

    request = asyncio.run(record())
    assert isinstance(request.body, bytes)
    # Since the key became Request.auth, the transport adds Authorization itself;
    # an older tree still has it in the headers (and no with_auth).
    with_auth = getattr(socialwrite.transports, "with_auth", None)
    headers = request.headers if with_auth is None else with_auth(request)
    return {
        "url": request.url,
        "headers": dict(headers),
        "body": request.body.hex(),
        "read_timeout": request.timeout.read,
    }


@dataclass
class Series:
    """Every measurement of one contender at one concurrency."""

    contender: Contender
    concurrency: int
    writes: int = 0
    runs: list[Measurement] = field(default_factory=list)

    def cpu_us(self) -> float:
        return statistics.median(r.cpu_seconds / r.writes for r in self.runs) * 1e6

    def writes_per_second(self) -> float:
        return statistics.median(r.writes / r.seconds for r in self.runs)


def calibrate(worker: Worker, concurrency: int, args: argparse.Namespace) -> int:
    """Warm the contender up, and pick a write count for a measurement of about ``--seconds``."""
    min_writes: int = args.min_writes
    max_writes: int = args.max_writes
    warmup = max(min_writes, concurrency)
    worker.measure(warmup, concurrency)
    probe = worker.measure(warmup, concurrency)
    per_write = probe.seconds / probe.writes
    target: float = args.seconds
    writes = round(target / per_write)
    # At least two waves of the concurrency, so ramp-up and drain are a small part.
    return max(min_writes, 2 * concurrency, min(writes, max_writes))


def paired_ratios(
    series: dict[tuple[str, int], Series],
    pairs: Iterable[tuple[str, str]],
    concurrencies: list[int],
) -> list[dict[str, Any]]:
    """The median of the per-round CPU ratios of each (contender, baseline) pair measured."""
    ratios = []
    for name, baseline in pairs:
        for concurrency in concurrencies:
            top, bottom = series.get((name, concurrency)), series.get((baseline, concurrency))
            if top is None or bottom is None:
                continue
            # Paired round by round: both ran within the same few seconds.
            per_round = [
                (a.cpu_seconds / a.writes) / (b.cpu_seconds / b.writes)
                for a, b in zip(top.runs, bottom.runs, strict=True)
            ]
            ratios.append(
                {
                    "contender": name,
                    "baseline": baseline,
                    "concurrency": concurrency,
                    "cpu_ratio": statistics.median(per_round),
                }
            )
    return ratios


def run(args: argparse.Namespace, baseline: tuple[Path, str] | None = None) -> dict[str, Any]:
    """Measure every installed contender at every concurrency; return the figures.

    With ``baseline`` (a worktree and its commit), each socialwrite contender
    also runs with the package of that worktree, as a twin of its own.
    """
    wanted = [BY_NAME[name] for name in args.contenders]
    present = [c for c in wanted if installed(c)]
    skipped = [c.name for c in wanted if c not in present]
    if baseline is not None:
        # Each socialwrite contender followed by its baseline twin.
        present = [
            one for c in present for one in ([c, c.baseline_twin(args.baseline)] if c.sdk else [c])
        ]
    series = {(c.name, n): Series(c, n) for c in present for n in args.concurrency}
    sample_differences: list[str] = []
    with serve_in_subprocess("canned") as (base_url, api_key), tempfile.TemporaryDirectory() as tmp:
        sample_path = Path(tmp) / "sample.json"
        sample = sample_in_subprocess(ROOT, base_url, api_key, sample_path)
        if baseline is not None:
            out = Path(tmp) / "sample-baseline.json"
            sample_differences = compare_samples(
                sample, sample_in_subprocess(baseline[0], base_url, api_key, out)
            )
        workers: dict[str, Worker] = {}
        try:
            for c in present:
                tree = baseline[0] if c.baseline and baseline is not None else ROOT
                workers[c.name] = Worker(c, tree, base_url, api_key, str(sample_path))
            for (name, concurrency), one in series.items():
                one.writes = calibrate(workers[name], concurrency, args)
            for round_number in range(args.rounds):
                if not args.json:
                    print(f"round {round_number + 1}/{args.rounds}", file=sys.stderr)
                for concurrency in args.concurrency:
                    for contender in present:
                        one = series[contender.name, concurrency]
                        one.runs.append(workers[contender.name].measure(one.writes, concurrency))
        finally:
            for worker in workers.values():
                worker.close()

    rows = [
        {
            "contender": one.contender.name,
            "label": one.contender.label,
            "concurrency": one.concurrency,
            "writes": one.writes,
            "cpu_us_per_write": one.cpu_us(),
            "writes_per_second": one.writes_per_second(),
            "rounds": [r.to_json() for r in one.runs],
        }
        for one in series.values()
    ]
    # The current tree against the baseline's first, then the usual ratios.
    twins = [(c.write, c.name) for c in present if c.baseline]
    ratios = paired_ratios(series, (*twins, *RATIOS), args.concurrency)
    return {
        "machine": machine_info(),
        "rounds": args.rounds,
        "skipped": skipped,
        "rows": rows,
        "ratios": ratios,
        "socialwrite_files": {
            name: worker.socialwrite_file
            for name, worker in workers.items()
            if worker.socialwrite_file != "-"
        },
        "baseline": None
        if baseline is None
        else {
            "rev": args.baseline,
            "commit": baseline[1],
            "sample_differences": sample_differences,
        },
    }


def print_report(figures: dict[str, Any]) -> None:
    """Print the figures as markdown tables."""
    print(describe(figures["machine"]))
    print(
        f"\nMedians of {figures['rounds']} rounds; client CPU only (the server is another process)."
    )
    concurrencies = sorted({row["concurrency"] for row in figures["rows"]})
    header = " | ".join(f"c={n} CPU µs/write | c={n} writes/s" for n in concurrencies)
    print(f"\n| contender | {header} |")
    print("|---|" + "---:|" * (2 * len(concurrencies)))
    by_contender: dict[str, dict[int, dict[str, Any]]] = {}
    labels: dict[str, str] = {}
    for row in figures["rows"]:
        by_contender.setdefault(row["contender"], {})[row["concurrency"]] = row
        labels[row["contender"]] = row["label"]
    for name, per in by_contender.items():
        cells = " | ".join(
            f"{per[n]['cpu_us_per_write']:.0f} | {per[n]['writes_per_second']:.0f}"
            for n in concurrencies
        )
        print(f"| {labels[name]} | {cells} |")
    print("\n| CPU per write, ratio | " + " | ".join(f"c={n}" for n in concurrencies) + " |")
    print("|---|" + "---:|" * len(concurrencies))
    pairs: dict[tuple[str, str], dict[int, float]] = {}
    for ratio in figures["ratios"]:
        key = (ratio["contender"], ratio["baseline"])
        pairs.setdefault(key, {})[ratio["concurrency"]] = ratio["cpu_ratio"]
    for (name, baseline), per_concurrency in pairs.items():
        cells = " | ".join(f"{per_concurrency[n]:.2f}x" for n in concurrencies)
        print(f"| {labels[name]} / {labels[baseline]} | {cells} |")
    if figures["skipped"]:
        print(f"\nSkipped (not installed): {', '.join(figures['skipped'])}")
    baseline = figures["baseline"]
    if baseline is not None:
        print(f"\nBaseline {baseline['rev']}: commit {baseline['commit']}.")
        print("socialwrite imported from:")
        for name, path in figures["socialwrite_files"].items():
            print(f"- {name}: {path}")
        if baseline["sample_differences"]:
            print("The baseline's write request differs (the raw floors replay the current one):")
            for line in baseline["sample_differences"]:
                print(f"- {line}")
        else:
            print("The baseline's write request is the same as the current one.")


def profile(args: argparse.Namespace) -> None:
    """Profile one async contender in this process and print where its time goes."""
    name = args.profile
    contender = BY_NAME[name]
    concurrency = args.concurrency[-1] if len(args.concurrency) == 1 else 32
    with serve_in_subprocess("canned") as (base_url, api_key):
        sample = record_sample(base_url, api_key)

        async def go() -> None:
            drive = drive_trio if contender.runtime == "trio" else drive_asyncio
            async with async_writer(name, base_url, api_key, sample) as write_once:
                await drive(write_once, 500, concurrency)
                profiler = cProfile.Profile()
                profiler.enable()
                measurement = await drive(write_once, args.max_writes, concurrency)
                profiler.disable()
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats(args.sort).print_stats(args.profile_lines)
            print(f"cProfile of {contender.label}, concurrency {concurrency}:")
            print(out.getvalue())
            print(f"{measurement.cpu_seconds / measurement.writes * 1e6:.0f} µs/write (profiled)")

        if contender.runtime == "trio":
            import trio

            trio.run(go)
        elif contender.runtime == "asyncio":
            asyncio.run(go())
        else:
            msg = "profile an async contender"
            raise SystemExit(msg)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[1, 32, 256], help="levels to measure"
    )
    parser.add_argument(
        "--contenders",
        nargs="+",
        default=[c.name for c in CONTENDERS],
        choices=[c.name for c in CONTENDERS],
    )
    parser.add_argument(
        "--seconds", type=float, default=0.4, help="aim for measurements of about this long"
    )
    parser.add_argument("--min-writes", type=int, default=50)
    parser.add_argument("--max-writes", type=int, default=3000)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--profile", choices=[c.name for c in CONTENDERS if c.runtime != "threads"])
    parser.add_argument("--sort", choices=["tottime", "cumulative"], default="tottime")
    parser.add_argument("--profile-lines", type=int, default=40)
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also measure the socialwrite contenders with the package as of this git revision",
    )
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--record-sample", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main(*args.worker)
        return
    if args.record_sample:
        base_url, api_key, out = args.record_sample
        Path(out).write_text(json.dumps(record_sample(base_url, api_key)))
        import socialwrite

        print(Path(socialwrite.__file__).resolve())
        return
    if args.profile:
        if args.baseline:
            parser.error("--profile measures one contender; it takes no --baseline")
        profile(args)
        return
    # Terminated, the run cleans up as on Ctrl-C: workers closed, worktree removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    with baseline_worktree(args.baseline) as baseline:
        figures = run(args, baseline)
    if args.json:
        print(json.dumps(figures))
    else:
        print_report(figures)


if __name__ == "__main__":
    main()
