"""Chaos: the client under injected faults, alone and in a seeded storm, on every loop.

The storm sends 500 writes (half awaited, half streamed) through ONE shared
``AsyncClient``, 32 at a time, to a sandbox that gives about 30 % of requests
a fault drawn from a seeded mix of every kind (error answers, drops after the
publish, cut and slow streams, slow answers, bad JSON). The sandbox's ledger
is the referee: a key never publishes twice on a platform, a write that
returned published exactly its successful platforms (and, streamed, yielded
each platform's result once), and every write either returned or raised one
of the documented ``APIError`` classes (anything else is a write lost). A
smaller storm uploads local files whose ``PUT`` requests are cut mid-body.

Run with ``-s`` to see the figures; ``python benchmarks/chaos_report.py``
prints the same storm's figures as a table.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import os
import random
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio
import attrs
import httpx
import pytest
import sniffio

from socialwrite import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APITimeoutError,
    AsyncClient,
    InternalServerError,
    PlatformResult,
    RateLimitError,
    WriteResult,
)
from socialwrite.sandbox import FaultKind, Faults, Sandbox, SandboxConfig
from socialwrite.sandbox._uploads import uploads_of
from socialwrite.transports import Timeout, Transport

pytestmark = pytest.mark.anyio

CHAOS_WRITES = 500
CHAOS_CONCURRENCY = 32
CHAOS_RATE = 0.3
CHAOS_SEED = 20260425
# One, two and three platforms per write, none of which needs media.
PLATFORM_SETS: tuple[tuple[str, ...], ...] = (
    ("x",),
    ("x", "bluesky"),
    ("mastodon", "linkedin", "threads"),
)
# A slow answer outlasts the client's read timeout, so it is met by a timeout,
# a retry and a replay; a slow stream's gaps are filled with pings.
ANSWER_DELAY = 1.5
READ_TIMEOUT = 1.0
TRICKLE_DELAY = 0.03
PING_INTERVAL = 0.01
MAX_RETRIES = 8
# The file descriptors a run may leave that are not leaks: none are expected
# (the sandbox's thread has stopped and closed its sockets), a few are
# allowed for what the interpreter or pytest opens meanwhile.
FD_SLACK = 3


@attrs.frozen(kw_only=True)
class ChaosFigures:
    """What one chaos run did, as the sandbox recorded it.

    Attributes:
        label: the event loop and transport of the run.
        writes: writes started.
        returned: writes that returned their ``WriteResult``.
        raised: writes that raised a documented ``APIError``, by class name.
        lost: writes that neither returned nor raised a documented error.
        lost_examples: what the first lost writes raised.
        faults_injected: faults the sandbox injected, by kind.
        requests: write requests the sandbox received (attempts, retries included).
        replays: requests the sandbox answered from an earlier attempt.
        publishes: posts published.
        duplicates: (key, platform) pairs published more than once.
        mismatched: returned writes whose publishes differ from their results,
            or (streamed) that yielded a platform's result other than once.
        publishes_of_raised: posts published by writes that raised.
    """

    label: str
    writes: int
    returned: int
    raised: Mapping[str, int]
    lost: int
    lost_examples: tuple[str, ...]
    faults_injected: Mapping[str, int]
    requests: int
    replays: int
    publishes: int
    duplicates: int
    mismatched: tuple[str, ...]
    publishes_of_raised: int


def chaos_config(*, seed: int = CHAOS_SEED, rate: float = CHAOS_RATE) -> SandboxConfig:
    """The sandbox of the storm: every write fault kind, ``rate`` of the requests."""
    faults = Faults.random_mix(
        rate,
        seed=seed,
        kinds=[kind for kind in FaultKind if kind is not FaultKind.DROPPED_PUT],
        answer_delay=ANSWER_DELAY,
        trickle_delay=TRICKLE_DELAY,
    )
    return SandboxConfig(
        faults=faults,
        ping_interval=PING_INTERVAL,
        # Some platforms take a moment, so streams are cut while writes still run.
        latency={"linkedin": 0.01, "threads": 0.03},
    )


def chaos_client(
    sandbox: Sandbox, *, max_retries: int = MAX_RETRIES, transport: Transport | None = None
) -> AsyncClient:
    """A client with enough retries for a storm and a short backoff.

    Args:
        sandbox: the running sandbox to write to.
        max_retries: retries after the first attempt of each write.
        transport: a transport to use instead of the loop's default one.
    """
    client = AsyncClient(
        sandbox.api_key,
        base_url=sandbox.base_url,
        timeout=Timeout(connect=10.0, read=READ_TIMEOUT),
        max_retries=max_retries,
        transport=transport,
    )
    client.retry_policy = attrs.evolve(client.retry_policy, backoff_base=0.01, backoff_cap=0.05)
    return client


async def run_chaos(
    sandbox: Sandbox,
    *,
    label: str,
    writes: int = CHAOS_WRITES,
    concurrency: int = CHAOS_CONCURRENCY,
    transport: Transport | None = None,
) -> ChaosFigures:
    """Send ``writes`` writes through one client, ``concurrency`` at once; count what happened.

    Every write has its own idempotency key, so the sandbox's ledger says
    what each one published.

    Args:
        sandbox: the running sandbox, with its faults in force.
        label: names the run in keys and in the figures.
        writes: how many writes to send.
        concurrency: how many are in flight at once.
        transport: a transport to use instead of the loop's default one.
    """
    outcomes: dict[str, WriteResult | BaseException] = {}
    platforms_of: dict[str, tuple[str, ...]] = {}
    yielded_of: dict[str, list[str]] = {}
    limiter = anyio.CapacityLimiter(concurrency)

    async def one(client: AsyncClient, number: int) -> None:
        key = f"chaos-{label}-{number}"
        platforms = PLATFORM_SETS[number % len(PLATFORM_SETS)]
        platforms_of[key] = platforms
        operation = client.write(
            platforms=list(platforms),
            content={"text": f"Chaos write {number} 📈"},
            idempotency_key=key,
        )
        async with limiter:
            try:
                if number % 2:
                    # Streamed: each platform's result must come out once,
                    # however often the stream broke and resumed.
                    async with operation as stream:
                        yielded_of[key] = [result.platform async for result in stream]
                    outcomes[key] = stream.result
                else:
                    outcomes[key] = await operation
            except Exception as exc:  # noqa: BLE001 - sorted into documented and lost below
                outcomes[key] = exc

    # A hang is a failure too; this is far beyond what a healthy run takes.
    with anyio.fail_after(300):
        async with (
            chaos_client(sandbox, transport=transport) as client,
            anyio.create_task_group() as group,
        ):
            for number in range(writes):
                group.start_soon(one, client, number)
    return _figures(sandbox, label, outcomes, platforms_of, yielded_of)


def _figures(
    sandbox: Sandbox,
    label: str,
    outcomes: Mapping[str, WriteResult | BaseException],
    platforms_of: Mapping[str, tuple[str, ...]],
    yielded_of: Mapping[str, list[str]],
) -> ChaosFigures:
    posts = sandbox.published()
    per_pair = Counter((post.idempotency_key, post.platform) for post in posts)
    published_by_key: dict[str | None, set[str]] = {}
    for post in posts:
        published_by_key.setdefault(post.idempotency_key, set()).add(post.platform)
    raised: Counter[str] = Counter()
    lost: list[str] = []
    mismatched: list[str] = []
    publishes_of_raised = 0
    for key, outcome in outcomes.items():
        published = published_by_key.get(key, set())
        if isinstance(outcome, WriteResult):
            succeeded = {result.platform for result in outcome.results if result.success}
            yielded = yielded_of.get(key)
            if (
                outcome.idempotency_key != key
                or succeeded != published
                or tuple(r.platform for r in outcome.results) != platforms_of[key]
                or (yielded is not None and sorted(yielded) != sorted(platforms_of[key]))
            ):
                mismatched.append(key)
        elif isinstance(outcome, APIError):
            raised[type(outcome).__name__] += 1
            publishes_of_raised += len(published)
        else:
            lost.append(f"{key}: {outcome!r}")
    lost.extend(f"{key}: never finished" for key in platforms_of if key not in outcomes)
    stats = sandbox.stats
    return ChaosFigures(
        label=label,
        writes=len(platforms_of),
        returned=sum(isinstance(outcome, WriteResult) for outcome in outcomes.values()),
        raised=dict(sorted(raised.items())),
        lost=len(lost),
        lost_examples=tuple(lost[:5]),
        faults_injected=dict(sandbox.faults_injected),
        requests=stats.writes_received,
        replays=stats.writes_replayed,
        publishes=stats.publishes,
        duplicates=sum(1 for count in per_pair.values() if count > 1),
        mismatched=tuple(mismatched),
        publishes_of_raised=publishes_of_raised,
    )


def figures_table(runs: Sequence[ChaosFigures]) -> str:
    """Format the figures of one or more runs as a plain-text table, one column per run."""
    kinds = [kind.value for kind in FaultKind]
    error_names = sorted({name for run in runs for name in run.raised})
    rows: list[tuple[str, list[str]]] = [
        ("writes", [str(run.writes) for run in runs]),
        ("returned a WriteResult", [str(run.returned) for run in runs]),
        ("raised a documented error", [str(sum(run.raised.values())) for run in runs]),
        *((f"  {name}", [str(run.raised.get(name, 0)) for run in runs]) for name in error_names),
        ("writes lost", [str(run.lost) for run in runs]),
        ("write requests (with retries)", [str(run.requests) for run in runs]),
        ("answered by replay", [str(run.replays) for run in runs]),
        ("faults injected", [str(sum(run.faults_injected.values())) for run in runs]),
        *((f"  {kind}", [str(run.faults_injected.get(kind, 0)) for run in runs]) for kind in kinds),
        ("publishes recorded", [str(run.publishes) for run in runs]),
        ("  by writes that raised", [str(run.publishes_of_raised) for run in runs]),
        ("duplicate publishes", [str(run.duplicates) for run in runs]),
    ]
    header = ("", [run.label for run in runs])
    first = max(len(name) for name, _ in [header, *rows])
    widths = [max(len(values[i]) for _, values in [header, *rows]) for i in range(len(runs))]

    def line(name: str, values: list[str]) -> str:
        cells = "  ".join(value.rjust(width) for value, width in zip(values, widths, strict=True))
        return f"{name.ljust(first)}  {cells}"

    rule = "-" * len(line(*header))
    return "\n".join([line(*header), rule, *(line(name, values) for name, values in rows)])


# -- leak checks ---------------------------------------------------------------------------


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _running_tasks() -> int:
    if sniffio.current_async_library() == "trio":
        import trio

        def count(task: trio.lowlevel.Task) -> int:
            return 1 + sum(
                count(child) for nursery in task.child_nurseries for child in nursery.child_tasks
            )

        root = trio.lowlevel.current_root_task()
        assert root is not None
        return count(root)
    return len(asyncio.all_tasks())


@pytest.fixture
def no_leaks() -> Iterator[None]:
    """Fail the test if it leaves file descriptors open (sockets, files)."""
    gc.collect()
    before = _open_fds()
    yield
    gc.collect()
    after = _open_fds()
    assert after <= before + FD_SLACK, f"{after - before} file descriptors left open"


# -- the storm -----------------------------------------------------------------------------


@pytest.mark.usefixtures("no_leaks")
async def test_500_writes_under_a_seeded_storm_lose_nothing_and_publish_nothing_twice(
    anyio_backend: str, request: pytest.FixtureRequest
) -> None:
    """Every write returns or raises a documented error; no key publishes twice."""
    tasks_before = _running_tasks()
    label = request.node.callspec.id
    with Sandbox(chaos_config()).run_in_thread() as sandbox:
        figures = await run_chaos(sandbox, label=label)
    print(f"\nchaos run ({label}):\n{figures_table([figures])}")  # noqa: T201 - shown with -s
    assert figures.lost == 0, figures.lost_examples
    assert figures.duplicates == 0
    assert figures.mismatched == ()
    assert figures.returned + sum(figures.raised.values()) == CHAOS_WRITES
    # Only a malformed answer may end a write: the others are all retryable
    # and the client has retries to spare.
    assert set(figures.raised) <= {"APIResponseValidationError"}
    assert (
        figures.raised.get("APIResponseValidationError", 0)
        <= figures.faults_injected["malformed_answer"]
    )
    # The storm really was one: every write fault kind hit, and replays answered.
    for kind in FaultKind:
        if kind is not FaultKind.DROPPED_PUT:
            assert figures.faults_injected[kind] > 0, kind
    assert figures.replays > 0
    assert _running_tasks() == tasks_before


def _media_files(directory: Path, count: int) -> list[Path]:
    draw = random.Random(CHAOS_SEED)  # noqa: S311 - reproducible test data, not secrets
    files = []
    for number in range(count):
        path = directory / f"chart-{number}.png"
        # A PNG signature, then bytes that do not compress.
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + draw.randbytes(96 * 1024 + number * 4099))
        files.append(path)
    return files


@pytest.mark.usefixtures("no_leaks")
async def test_uploads_cut_mid_put_resume_and_arrive_whole(
    anyio_backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Cut PUTs resume from the server's offset; every file arrives with its sha256."""
    files = _media_files(tmp_path, 8)
    digests = {str(path): hashlib.sha256(path.read_bytes()).hexdigest() for path in files}
    faults = Faults(seed=CHAOS_SEED, chaos={"dropped_put": 0.6})
    writes = [(files[number], files[(number + 3) % len(files)]) for number in range(len(files))]
    results: dict[int, WriteResult] = {}
    with Sandbox(SandboxConfig(faults=faults)).run_in_thread() as sandbox:

        async def one(client: AsyncClient, number: int) -> None:
            media = [str(path) for path in writes[number]]
            results[number] = await client.write(
                platforms=["x", "bluesky"],
                content={"text": f"Upload {number}", "media": media},
                idempotency_key=f"upload-{number}",
            )

        with anyio.fail_after(120):
            async with chaos_client(sandbox) as client, anyio.create_task_group() as group:
                for number in range(len(writes)):
                    group.start_soon(one, client, number)
            posts = {post.idempotency_key: post for post in sandbox.published()}
            async with httpx.AsyncClient() as storage:
                for number, pair in enumerate(writes):
                    post = posts[f"upload-{number}"]
                    assert len(post.media) == len(pair)
                    for path, url in zip(pair, post.media, strict=True):
                        served = (await storage.get(url)).content
                        assert hashlib.sha256(served).hexdigest() == digests[str(path)]
        stats = uploads_of(sandbox._app).stats()
        cuts = sandbox.faults_injected["dropped_put"]
    assert all(result.ok for result in results.values())
    assert len(results) == len(writes)
    assert cuts > 0
    assert stats.checksum_mismatches == 0
    assert stats.head_requests >= cuts
    # A resume never starts again from zero: each upload's PUTs start further on.
    starts: dict[str, list[int]] = {}
    for put in stats.puts:
        starts.setdefault(put.upload_id, []).append(put.start)
    for upload_id, offsets in starts.items():
        assert offsets == sorted(set(offsets)), (upload_id, offsets)
    assert any(len(offsets) > 1 for offsets in starts.values())
    print(  # noqa: T201 - shown with -s
        f"\nupload chaos ({request.node.callspec.id}): {len(writes)} writes, "
        f"{stats.creates} uploads, "
        f"{stats.put_requests} PUTs, {cuts} cut mid-body, {stats.head_requests} HEADs, "
        f"{stats.complete_requests} completes, 0 checksum mismatches"
    )


# -- one fault at a time -------------------------------------------------------------------

BODY: dict[str, Any] = {"platforms": ["x", "bluesky", "mastodon"], "content": {"text": "One"}}
# Four events (queued, publishing, result, done): few gaps to wait through.
SHORT_BODY: dict[str, Any] = {"platforms": ["x"], "content": {"text": "Short"}}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A sandbox on its own thread with quick pings, for one test."""
    with Sandbox(SandboxConfig(ping_interval=0.02)).run_in_thread() as running:
        yield running


async def _stream_write(client: AsyncClient) -> tuple[WriteResult, list[str]]:
    """Stream one write; return its result and the platforms of its results, as yielded."""
    yielded: list[str] = []
    async with client.write(**BODY) as stream:
        async for result in stream:
            assert isinstance(result, PlatformResult)
            yielded.append(result.platform)
    return stream.result, yielded


async def test_error_answers_are_retried_and_publish_once(sandbox: Sandbox) -> None:
    """503s, then 429s (seconds and HTTP-date): retried, published exactly once."""
    for faults in (
        Faults(fail_writes=3),
        Faults(fail_writes=2, fail_status=429, retry_after=0),
        Faults(fail_writes=2, fail_status=429, retry_after=0, retry_after_date=True),
    ):
        sandbox.clear()
        sandbox.set_faults(faults)
        async with chaos_client(sandbox) as client:
            result = await client.write(**BODY)
        assert result.ok
        assert result.retries == faults.fail_writes
        assert sandbox.stats.publishes_for(result.idempotency_key) == 3
        assert sandbox.stats.writes_executed == 1


async def test_running_out_of_retries_raises_the_last_error(sandbox: Sandbox) -> None:
    """More 503s than retries: InternalServerError, and nothing was published."""
    sandbox.set_faults(Faults(fail_writes=10))
    async with chaos_client(sandbox, max_retries=2) as client:
        with pytest.raises(InternalServerError) as raised:
            await client.write(**BODY)
    assert raised.value.status_code == 503
    assert sandbox.stats.writes_received == 3
    assert sandbox.stats.publishes == 0


async def test_a_retry_after_beyond_the_cap_raises_rate_limit_error(sandbox: Sandbox) -> None:
    """A 429 asking for longer than max_retry_after is raised with its retry_after."""
    sandbox.set_faults(Faults(fail_writes=1, fail_status=429, retry_after=3600))
    async with chaos_client(sandbox) as client:
        with pytest.raises(RateLimitError) as raised:
            await client.write(**BODY)
    assert raised.value.retry_after == 3600
    assert sandbox.stats.publishes == 0


@pytest.mark.parametrize("events", [0, 2, 5])
async def test_a_stream_dropped_after_publish_resumes_without_repeats(
    sandbox: Sandbox, events: int
) -> None:
    """The retry gets the replay: each platform's result is yielded once, published once."""
    sandbox.set_faults(Faults(drop_after_publish=1, drop_after_events=events))
    async with chaos_client(sandbox) as client:
        result, yielded = await _stream_write(client)
    assert sorted(yielded) == sorted(BODY["platforms"])
    assert result.ok
    assert result.retries == 1
    assert sandbox.stats.writes_replayed == 1
    assert sandbox.stats.publishes_for(result.idempotency_key) == 3


async def test_a_truncated_stream_resumes_with_last_event_id(sandbox: Sandbox) -> None:
    """Cut twice without done, the stream resumes and yields every result once."""
    sandbox.set_faults(Faults(truncate_streams=2, truncate_after_events=2))
    async with chaos_client(sandbox) as client:
        result, yielded = await _stream_write(client)
    assert sorted(yielded) == sorted(BODY["platforms"])
    assert result.retries == 2
    assert sandbox.stats.writes_replayed == 2
    assert sandbox.stats.publishes_for(result.idempotency_key) == 3


async def test_a_slow_answer_times_out_and_the_retry_replays(sandbox: Sandbox) -> None:
    """Headers later than the read timeout: a timeout, a retry, the replay, one publish."""
    sandbox.set_faults(Faults(slow_writes=1, answer_delay=0.9))
    async with chaos_client(sandbox) as client:
        result = await client.write(**BODY, timeout=Timeout(connect=10.0, read=0.3))
    assert result.retries == 1
    assert sandbox.stats.writes_replayed == 1
    assert sandbox.stats.publishes_for(result.idempotency_key) == 3


async def test_a_slow_stream_kept_alive_by_pings_does_not_time_out(sandbox: Sandbox) -> None:
    """Gaps between events longer than the idle timeout, filled with pings: no retry."""
    # Pings every 0.02 s against an idle timeout of 0.3 s: a wide margin on a busy machine.
    sandbox.set_faults(Faults(trickle_streams=1, trickle_delay=0.35))
    async with chaos_client(sandbox) as client:
        result = await client.write(**SHORT_BODY, timeout=Timeout(connect=10.0, idle=0.3))
    assert result.retries == 0
    assert sandbox.faults_injected["slow_stream"] == 1


async def test_a_silent_stream_times_out_and_resumes() -> None:
    """Gaps longer than the idle timeout and no pings: the client times out and resumes."""
    faults = Faults(trickle_streams=1, trickle_delay=0.6)
    with Sandbox(SandboxConfig(ping_interval=30.0, faults=faults)).run_in_thread() as sandbox:
        async with chaos_client(sandbox) as client:
            result = await client.write(**BODY, timeout=Timeout(connect=10.0, idle=0.3))
        assert result.retries == 1
        assert sandbox.stats.writes_replayed == 1
        assert sandbox.stats.publishes_for(result.idempotency_key) == 3


async def test_timing_out_on_every_attempt_raises_api_timeout_error() -> None:
    """A stream that stays silent on every attempt ends in APITimeoutError, not a hang."""
    faults = Faults(trickle_streams=10, trickle_delay=0.6)
    with Sandbox(SandboxConfig(ping_interval=30.0, faults=faults)).run_in_thread() as sandbox:
        async with chaos_client(sandbox, max_retries=1) as client:
            with pytest.raises(APITimeoutError):
                await client.write(**BODY, timeout=Timeout(connect=10.0, idle=0.3))
        assert sandbox.stats.writes_received == 2
        assert sandbox.stats.writes_executed == 1


async def test_a_malformed_answer_is_reported_not_retried(sandbox: Sandbox) -> None:
    """Bad JSON raises APIResponseValidationError after one request; no retry loop."""
    sandbox.set_faults(Faults(malformed_answers=5))
    async with chaos_client(sandbox) as client:
        with pytest.raises(APIResponseValidationError):
            await client.write(**BODY)
        with pytest.raises(APIResponseValidationError):
            await _stream_write(client)
    assert sandbox.stats.writes_received == 2
    assert sandbox.stats.publishes == 6


async def test_a_storm_of_connection_failures_ends_in_api_connection_error(
    sandbox: Sandbox,
) -> None:
    """Streams cut on every attempt: APIConnectionError after the retries, published once."""
    sandbox.set_faults(Faults(truncate_streams=10, truncate_after_events=0))
    async with chaos_client(sandbox, max_retries=3) as client:
        with pytest.raises(APIConnectionError) as raised:
            await client.write(**BODY)
    assert not isinstance(raised.value, APITimeoutError)
    assert sandbox.stats.writes_received == 4
    assert sandbox.stats.writes_executed == 1
    assert len({post.idempotency_key for post in sandbox.published()}) == 1
