"""Fault injection in the sandbox, read over loopback with plain aiohttp and httpx."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import httpx
import pytest

from socialwrite.sandbox import FaultInjector, FaultKind, Faults, Sandbox, SandboxConfig
from socialwrite.sandbox._faults import WriteFault, corrupt_json

from ._support import AUTH, SEED_BODY, STREAM, WRITE, SseReader, error_of, serve

pytestmark = pytest.mark.anyio

BODY: dict[str, Any] = {"platforms": ["x", "bluesky"], "content": {"text": "Faults ahead"}}
UPLOADS = "/v1/media/uploads"
DATA = bytes(range(256)) * 64


@pytest.fixture
def anyio_backend() -> str:
    """Serve on the test's own loop, which aiohttp needs to be asyncio."""
    return "asyncio"


def _key(name: str) -> dict[str, str]:
    return {"Idempotency-Key": name}


def _injected(sandbox: Sandbox) -> dict[str, int]:
    return {kind: count for kind, count in sandbox.faults_injected.items() if count}


# -- settings ------------------------------------------------------------------------------


def test_nothing_is_injected_by_default() -> None:
    """A default Faults injects nothing, and a sandbox's config starts with it."""
    assert not Faults().injects_anything
    assert SandboxConfig().faults == Faults()
    assert Faults(fail_writes=1).injects_anything
    assert Faults(chaos={"slow_stream": 0.1}).injects_anything


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"fail_status": 404}, "fail_status"),
        ({"fail_writes": -1}, "fail_writes"),
        ({"retry_after": -2.0}, "retry_after"),
        ({"answer_delay": float("inf")}, "answer_delay"),
        ({"drop_put_after": -1}, "drop_put_after"),
        ({"chaos": {"meteor_strike": 0.1}}, "not a fault kind"),
        ({"chaos": {"server_error": 1.5}}, "probability"),
        ({"chaos": {"server_error": 0.6, "slow_answer": 0.6}}, "add up to"),
    ],
)
def test_bad_settings_are_refused(changes: dict[str, Any], message: str) -> None:
    """Impossible settings raise ValueError naming the culprit."""
    with pytest.raises(ValueError, match=message):
        Faults(**changes)


def test_random_mix_spreads_the_rate() -> None:
    """random_mix splits the rate among the write kinds and gives PUTs the whole rate."""
    faults = Faults.random_mix(
        0.4, seed=9, kinds=["server_error", "truncated_stream", "dropped_put"]
    )
    assert faults.seed == 9
    assert dict(faults.chaos) == {
        FaultKind.SERVER_ERROR: pytest.approx(0.2),
        FaultKind.TRUNCATED_STREAM: pytest.approx(0.2),
        FaultKind.DROPPED_PUT: pytest.approx(0.4),
    }
    everything = Faults.random_mix(1.0)
    assert set(everything.chaos) == set(FaultKind)
    with pytest.raises(ValueError, match="rate"):
        Faults.random_mix(1.5)


def test_the_chaos_keys_are_kinds_and_equal_their_names() -> None:
    """Kinds given by name become FaultKind members, which compare equal to the names."""
    faults = Faults(chaos={"slow_answer": 0.5})
    (kind,) = faults.chaos
    assert kind is FaultKind.SLOW_ANSWER
    assert kind.value == "slow_answer"
    assert faults.to_json()["chaos"] == {"slow_answer": 0.5}


def test_an_http_date_retry_after_is_the_delay_from_now() -> None:
    """A 429 with retry_after_date says when to retry as an IMF-fixdate, from the given clock."""
    moment = datetime(2026, 4, 25, 14, 22, 0, tzinfo=timezone.utc).timestamp()
    fault = WriteFault(
        kind=FaultKind.RATE_LIMITED_DATE, status=429, retry_after=30, retry_after_date=True
    )
    refusal = fault.refusal(now=lambda: moment)
    assert refusal is not None
    assert refusal.headers["Retry-After"] == "Sat, 25 Apr 2026 14:22:30 GMT"
    seconds = WriteFault(kind=FaultKind.RATE_LIMITED, status=429, retry_after=2.0).refusal()
    assert seconds is not None
    assert seconds.headers["Retry-After"] == "2"


def test_corrupt_json_never_parses() -> None:
    """Half of a JSON object's text is never JSON, whatever the object."""
    for value in ({"a": 1}, {"results": [], "credits_used": 0}, {"x": "}" * 9}):
        with pytest.raises(json.JSONDecodeError):
            json.loads(corrupt_json(json.dumps(value)))


# -- the injector on its own -----------------------------------------------------------------


def _kinds(injector: FaultInjector, count: int, *, streamed: bool = True) -> list[str | None]:
    drawn = [injector.draw_write(streamed=streamed, platforms=2) for _ in range(count)]
    return [None if fault is None else fault.kind.value for fault in drawn]


def test_counted_faults_come_in_order_one_per_request() -> None:
    """Counted faults are used up in FaultKind order, one per request, then nothing."""
    injector = FaultInjector(
        Faults(fail_writes=2, drop_after_publish=1, truncate_streams=1, malformed_answers=1)
    )
    assert _kinds(injector, 6) == [
        "server_error",
        "server_error",
        "drop_after_publish",
        "truncated_stream",
        "malformed_answer",
        None,
    ]
    assert dict(injector.remaining()) == dict.fromkeys(Faults().counted, 0)


def test_stream_only_faults_wait_for_a_streamed_request() -> None:
    """A JSON-mode request skips stream-only counted faults without using them up."""
    injector = FaultInjector(Faults(truncate_streams=1, trickle_streams=1))
    assert _kinds(injector, 2, streamed=False) == [None, None]
    assert _kinds(injector, 3) == ["truncated_stream", "slow_stream", None]


def test_the_random_mix_is_reproducible() -> None:
    """The same seed gives the same faults for the same requests; another seed does not."""
    mix = Faults.random_mix(0.5, seed=11)
    first = _kinds(FaultInjector(mix), 200)
    assert first == _kinds(FaultInjector(mix), 200)
    assert first != _kinds(FaultInjector(Faults.random_mix(0.5, seed=12)), 200)
    # Every write kind turns up, and about half the requests get one.
    assert {kind for kind in first if kind} == {kind.value for kind in FaultKind} - {"dropped_put"}
    assert 60 < sum(kind is not None for kind in first) < 140
    puts, again = FaultInjector(mix), FaultInjector(mix)
    cuts = [puts.draw_put(1000) for _ in range(50)]
    assert cuts == [again.draw_put(1000) for _ in range(50)]
    assert all(cut is None or 1 <= cut < 1000 for cut in cuts)
    assert 10 < sum(cut is not None for cut in cuts) < 40


def test_put_draws_do_not_shift_write_draws() -> None:
    """Uploads interleaved with writes leave the writes' faults as they were."""
    mix = Faults.random_mix(0.5, seed=3)
    alone = _kinds(FaultInjector(mix), 50)
    mixed = FaultInjector(mix)
    interleaved = []
    for _ in range(50):
        mixed.draw_put(4096)
        interleaved.extend(_kinds(mixed, 1))
    assert interleaved == alone


def test_set_faults_restarts_counts_and_keeps_the_tally() -> None:
    """set_faults puts new counts in force; injected counts stay until reset."""
    injector = FaultInjector(Faults(fail_writes=1))
    assert _kinds(injector, 2) == ["server_error", None]
    injector.set_faults(Faults(malformed_answers=1))
    assert injector.faults == Faults(malformed_answers=1)
    assert _kinds(injector, 2) == ["malformed_answer", None]
    assert injector.injected()[FaultKind.SERVER_ERROR] == 1
    assert injector.injected()[FaultKind.MALFORMED_ANSWER] == 1
    injector.reset_counts()
    assert set(injector.injected().values()) == {0}


def test_a_configured_put_cut_beyond_the_body_is_no_fault() -> None:
    """drop_put_after at or past a PUT's length lets it through and keeps the count."""
    injector = FaultInjector(Faults(drop_puts=1, drop_put_after=100))
    assert injector.draw_put(100) is None
    assert injector.draw_put(101) == 100
    assert injector.draw_put(101) is None
    assert injector.injected()[FaultKind.DROPPED_PUT] == 1


# -- over the wire: writes -------------------------------------------------------------------


async def _body_until_cut(
    response: aiohttp.ClientResponse,
) -> tuple[bytes, aiohttp.ClientError | None]:
    """Read a body until it ends or breaks; return what arrived and how it broke."""
    body = bytearray()
    try:
        async for chunk in response.content.iter_any():
            body += chunk
    except aiohttp.ClientError as exc:
        return bytes(body), exc
    return bytes(body), None


async def test_fail_writes_records_nothing_so_a_retry_runs_for_real() -> None:
    """The next N writes get 503 before the key is recorded; the retry publishes once."""
    async with serve(SandboxConfig(faults=Faults(fail_writes=2))) as (sandbox, http):
        for _ in range(2):
            response = await http.post(WRITE, json=BODY, headers=_key("k"))
            assert response.status == 503
            assert "Retry-After" not in response.headers
            assert error_of(await response.json())[:2] == ("api_error", "service_unavailable")
        assert sandbox.stats.writes_executed == 0
        response = await http.post(WRITE, json=BODY, headers=_key("k"))
        assert response.status == 200
        assert "Idempotent-Replayed" not in response.headers
        assert sandbox.stats.publishes_for("k") == 2
        assert _injected(sandbox) == {"server_error": 2}


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_fail_writes_takes_any_retryable_5xx(status: int) -> None:
    """fail_status picks the 5xx; the body is the protocol's api_error."""
    async with serve(SandboxConfig(faults=Faults(fail_writes=1, fail_status=status))) as (
        sandbox,
        http,
    ):
        response = await http.post(WRITE, json=BODY)
        assert response.status == status
        assert error_of(await response.json())[0] == "api_error"
        assert sandbox.stats.publishes == 0


async def test_rate_limited_writes_carry_retry_after() -> None:
    """429s carry Retry-After in seconds, or as an HTTP-date with retry_after_date."""
    faults = Faults(fail_writes=1, fail_status=429, retry_after=7)
    async with serve(SandboxConfig(faults=faults)) as (sandbox, http):
        response = await http.post(WRITE, json=BODY, headers=_key("k"))
        assert response.status == 429
        assert response.headers["Retry-After"] == "7"
        assert error_of(await response.json())[:2] == ("rate_limit_error", "rate_limited")
        sandbox.set_faults(Faults(fail_writes=1, fail_status=429, retry_after_date=True))
        response = await http.post(WRITE, json=BODY, headers=_key("k"))
        assert response.status == 429
        assert parsedate_to_datetime(response.headers["Retry-After"]).tzinfo is not None
        assert (await http.post(WRITE, json=BODY, headers=_key("k"))).status == 200
        assert sandbox.stats.publishes_for("k") == 2
        assert _injected(sandbox) == {"rate_limited": 1, "rate_limited_date": 1}


async def test_a_json_write_dropped_after_publish_replays() -> None:
    """JSON mode: the write publishes, the connection dies unanswered, the retry replays."""
    async with serve(SandboxConfig(faults=Faults(drop_after_publish=1))) as (sandbox, http):
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await http.post(WRITE, json=BODY, headers=_key("k"))
        assert sandbox.stats.publishes_for("k") == 2
        response = await http.post(WRITE, json=BODY, headers=_key("k"))
        assert response.status == 200
        assert response.headers["Idempotent-Replayed"] == "true"
        body = await response.json()
        published = {post.platform: post.post_id for post in sandbox.published()}
        assert {r["platform"]: r["post_id"] for r in body["results"]} == published
        assert sandbox.stats.publishes_for("k") == 2


async def test_a_stream_dropped_after_publish_resumes_from_last_event_id() -> None:
    """Stream mode: K events, then a reset; Last-Event-ID gets the rest, published once."""
    faults = Faults(drop_after_publish=1, drop_after_events=3)
    async with serve(SandboxConfig(faults=faults)) as (sandbox, http):
        async with http.post(WRITE, json=BODY, headers={**STREAM, **_key("k")}) as response:
            raw, error = await _body_until_cut(response)
        assert isinstance(error, aiohttp.ClientPayloadError)
        *whole, cut = raw.split(b"\n\n")
        assert [event.split(b"\n")[0] for event in whole] == [b"id: 1", b"id: 2", b"id: 3"]
        assert cut.startswith(b"id: 4\n")
        assert sandbox.stats.publishes_for("k") == 2
        headers = {**STREAM, **_key("k"), "Last-Event-ID": "3"}
        async with http.post(WRITE, json=BODY, headers=headers) as response:
            rest = await SseReader(response).all()
        assert rest[0].id == 4
        assert rest[-1].name == "done"
        assert sandbox.stats.publishes_for("k") == 2


async def test_a_dropped_stream_never_sends_its_last_event() -> None:
    """Asking for more events than the write has still withholds done."""
    faults = Faults(drop_after_publish=1, drop_after_events=1000)
    async with serve(SandboxConfig(faults=faults)) as (_sandbox, http):
        reader = SseReader(await http.post(WRITE, json=BODY, headers=STREAM))
        names = []

        async def read_all() -> None:
            while (event := await reader.next()) is not None:
                names.append(event.name)

        with pytest.raises(aiohttp.ClientPayloadError):
            await read_all()
        reader.response.close()
        assert names
        assert "done" not in names


async def test_a_truncated_stream_ends_cleanly_without_done() -> None:
    """The stream ends after K events and half the next, no done; a resume from K finishes it."""
    faults = Faults(truncate_streams=1, truncate_after_events=2)
    async with serve(SandboxConfig(latency={"bluesky": 0.05}, faults=faults)) as (sandbox, http):
        async with http.post(WRITE, json=BODY, headers={**STREAM, **_key("k")}) as response:
            raw = await response.read()
        *whole, cut = raw.split(b"\n\n")
        assert [event.split(b"\n")[0] for event in whole] == [b"id: 1", b"id: 2"]
        assert cut.startswith(b"id: 3\n")
        headers = {**STREAM, **_key("k"), "Last-Event-ID": "2"}
        async with http.post(WRITE, json=BODY, headers=headers) as response:
            rest = await SseReader(response).all()
        assert response.headers["Idempotent-Replayed"] == "true"
        assert [event.id for event in rest] == list(range(3, 3 + len(rest)))
        assert rest[-1].name == "done"
        assert sandbox.stats.publishes_for("k") == 2


async def test_malformed_answers_are_cut_json() -> None:
    """The write publishes; its JSON body, or its done event's data, does not parse."""
    async with serve(SandboxConfig(faults=Faults(malformed_answers=2))) as (sandbox, http):
        response = await http.post(WRITE, json=BODY)
        assert response.status == 200
        assert response.content_type == "application/json"
        with pytest.raises(json.JSONDecodeError):
            json.loads(await response.text())
        async with http.post(WRITE, json=BODY, headers=STREAM) as response:
            events = await SseReader(response).all()
        assert events[-1].name == "done"
        with pytest.raises(json.JSONDecodeError):
            json.loads(events[-1].raw)
        for event in events[:-1]:
            assert isinstance(event.data, dict)
        assert sandbox.stats.publishes == 4


async def test_a_slow_answer_holds_its_headers_while_the_write_runs() -> None:
    """A client that stops waiting for the headers finds the write done on retry."""
    faults = Faults(slow_writes=1, answer_delay=0.5)
    async with serve(SandboxConfig(faults=faults)) as (sandbox, http):
        with pytest.raises(asyncio.TimeoutError):
            await http.post(
                WRITE, json=BODY, headers=_key("k"), timeout=aiohttp.ClientTimeout(sock_read=0.05)
            )
        response = await http.post(WRITE, json=BODY, headers=_key("k"))
        assert response.status == 200
        assert response.headers["Idempotent-Replayed"] == "true"
        assert sandbox.stats.publishes_for("k") == 2
        assert _injected(sandbox) == {"slow_answer": 1}


async def test_a_slow_stream_pings_between_events() -> None:
    """Each event of a trickled stream waits, with pings in the gaps, and all arrive."""
    faults = Faults(trickle_streams=1, trickle_delay=0.08)
    async with serve(SandboxConfig(ping_interval=0.02, faults=faults)) as (sandbox, http):
        async with http.post(WRITE, json=BODY, headers=STREAM) as response:
            reader = SseReader(response)
            events = await reader.all()
        assert events[-1].name == "done"
        assert reader.pings >= len(events)
        assert _injected(sandbox) == {"slow_stream": 1}


async def test_the_faults_endpoint_shows_settings_remaining_and_injected() -> None:
    """GET /v1/sandbox/faults reports the faults in force and what was injected."""
    async with serve(SandboxConfig(faults=Faults(fail_writes=3))) as (sandbox, http):
        await http.post(WRITE, json=BODY)
        async with http.get("/v1/sandbox/faults") as response:
            body = await response.json()
        assert body["faults"]["fail_writes"] == 3
        assert body["remaining"]["fail_writes"] == 2
        assert body["injected"]["server_error"] == 1
        async with http.delete("/v1/sandbox/published") as response:
            assert response.status == 204
        assert _injected(sandbox) == {}
        async with http.get("/v1/sandbox/faults", headers={"Authorization": "Bearer no"}) as bad:
            assert bad.status == 401


# -- over the wire: uploads ------------------------------------------------------------------


async def test_a_cut_put_keeps_its_bytes_for_the_resume() -> None:
    """The PUT dies after K bytes, HEAD says K, the rest completes with the right sha256."""
    faults = Faults(drop_puts=1, drop_put_after=1000)
    async with serve(SandboxConfig(faults=faults)) as (sandbox, http):
        fields = {
            "filename": "chart.png",
            "content_type": "image/png",
            "size": len(DATA),
            "sha256": hashlib.sha256(DATA).hexdigest(),
        }
        async with http.post(UPLOADS, json=fields) as response:
            created = await response.json()
        url = created["upload_url"]
        total = len(DATA)
        headers = {**AUTH, "Content-Range": f"bytes 0-{total - 1}/{total}"}
        # httpx, because aiohttp silently resends an idempotent PUT whose
        # connection dropped, which would hide the cut behind a 409.
        async with httpx.AsyncClient() as plain:
            with pytest.raises(httpx.TransportError):
                await plain.put(url, content=DATA, headers=headers)
        async with http.head(url) as response:
            offset = int(response.headers["Upload-Offset"])
        assert offset == 1000
        headers = {"Content-Range": f"bytes {offset}-{total - 1}/{total}"}
        async with http.put(url, data=DATA[offset:], headers=headers) as response:
            assert (await response.json())["status"] == "received"
        async with http.post(f"{UPLOADS}/{created['id']}/complete") as response:
            done = await response.json()
        assert done["sha256"] == fields["sha256"]
        async with aiohttp.ClientSession() as storage, storage.get(done["url"]) as media:
            assert hashlib.sha256(await media.read()).hexdigest() == fields["sha256"]
        assert _injected(sandbox) == {"dropped_put": 1}


# -- from another thread ---------------------------------------------------------------------


def test_faults_change_on_a_running_sandbox_from_the_tests_thread() -> None:
    """set_faults from the caller's thread applies to the threaded server's next request."""
    with (
        Sandbox().run_in_thread() as sandbox,
        httpx.Client(base_url=sandbox.base_url, headers=AUTH) as http,
    ):
        assert http.post(WRITE, json=BODY).status_code == 200
        sandbox.set_faults(Faults(fail_writes=1, fail_status=502))
        assert sandbox.faults == Faults(fail_writes=1, fail_status=502)
        assert http.post(WRITE, json=BODY).status_code == 502
        assert http.post(WRITE, json=BODY).status_code == 200
        assert sandbox.faults_injected["server_error"] == 1
        assert sandbox.faults_injected[FaultKind.SERVER_ERROR] == 1
        sandbox.clear()
        assert sandbox.faults_injected[FaultKind.SERVER_ERROR] == 0


def test_the_same_seed_gives_the_same_faults_over_the_wire() -> None:
    """Two sandboxes with one seed answer the same sequence of requests the same way."""

    def outcomes(seed: int) -> list[str]:
        faults = Faults.random_mix(
            0.6, seed=seed, kinds=["server_error", "rate_limited", "malformed_answer"]
        )
        with (
            Sandbox(SandboxConfig(faults=faults)).run_in_thread() as sandbox,
            httpx.Client(base_url=sandbox.base_url, headers=AUTH) as http,
        ):
            seen = []
            for _ in range(30):
                response = http.post(WRITE, json=SEED_BODY)
                try:
                    response.json()
                except json.JSONDecodeError:
                    seen.append("malformed")
                else:
                    seen.append(str(response.status_code))
            return seen

    first = outcomes(5)
    assert first == outcomes(5)
    assert {"200", "503", "429", "malformed"} <= set(first)


def test_escape_sequences_go_into_errors_and_urls() -> None:
    """``escape_sequences`` puts a title change, a colour and a bell into errors and URLs."""
    import httpx

    from socialwrite.sandbox import Faults, Sandbox, SandboxConfig

    config = SandboxConfig(faults=Faults(escape_sequences=True), not_connected={"bluesky"})
    body = {"platforms": ["x", "bluesky"], "content": {"text": "hi"}}
    with Sandbox(config).run_in_thread() as sandbox:
        answer = httpx.post(
            f"{sandbox.base_url}/v1/social/write",
            json=body,
            headers={"Authorization": f"Bearer {sandbox.api_key}"},
        ).json()
    x, bluesky = answer["results"]
    assert x["url"].endswith("\x1b]0;TITLE\x07\x1b[31m")
    assert bluesky["error"].startswith("\x1b]0;TITLE\x07\x1b[31m")
    assert bluesky["error_code"] == "platform_not_connected"


@pytest.mark.parametrize("compat", [False, True])
def test_escape_sequences_go_into_error_messages(compat: bool) -> None:
    """``escape_sequences`` puts them into every JSON error's ``message``, in either shape."""
    hostile = "\x1b]0;TITLE\x07\x1b[31m"
    faults = Faults(escape_sequences=True, fail_writes=1, fail_status=429)
    body = {"platforms": ["x"], "content": {"text": "hi"}}
    with Sandbox(SandboxConfig(faults=faults, compat=compat)).run_in_thread() as sandbox:
        write = f"{sandbox.base_url}/v1/social/write"
        auth = {"Authorization": f"Bearer {sandbox.api_key}"}
        answers = [
            httpx.post(write, json=body, headers=auth),  # the injected 429
            httpx.post(write, json=body, headers={"Authorization": "Bearer nope"}),
            httpx.post(write, json={"platforms": []}, headers=auth),
            httpx.get(f"{sandbox.base_url}/v1/nowhere", headers=auth),
            httpx.post(write, json=body, headers=auth),  # the write itself, unharmed
        ]
    *errors, written = answers
    assert [answer.status_code for answer in errors] == [429, 401, 400, 404]
    for answer in errors:
        error = answer.json() if compat else answer.json()["error"]
        message = error["message"]
        assert message.startswith(hostile), message
        assert message.endswith("\x1b[0m")
        assert message[len(hostile) : -len("\x1b[0m")].isprintable()
    assert written.status_code == 200
    assert written.json()["results"][0]["url"].endswith(hostile)


def test_error_messages_are_plain_without_escape_sequences() -> None:
    """Without the fault, error bodies carry no escape sequence or control character."""
    with Sandbox(SandboxConfig()).run_in_thread() as sandbox:
        answer = httpx.post(
            f"{sandbox.base_url}/v1/social/write",
            json={"platforms": ["x"], "content": {"text": "hi"}},
            headers={"Authorization": "Bearer nope"},
        )
    assert answer.status_code == 401
    assert answer.json()["error"]["message"].isprintable()
