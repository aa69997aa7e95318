"""Streaming mode over loopback: event order, replays, dropped clients, pings, errors."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from socialwrite.sandbox import SandboxConfig, _publisher

from ._support import (
    MEDIA_URL,
    REQUEST_ID,
    SEED_BODY,
    STREAM,
    WRITE,
    SseEvent,
    SseReader,
    error_of,
    serve,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """Serve on the test's own loop, which aiohttp needs to be asyncio."""
    return "asyncio"


def _check_write_events(events: list[SseEvent], platforms: list[str]) -> dict[str, Any]:
    """Check the protocol's rules for one write's events; return the done event's data."""
    assert [event.id for event in events] == list(range(1, len(events) + 1))
    assert events[-1].name == "done"
    assert {event.name for event in events[:-1]} <= {"status", "result"}
    results = [event for event in events if event.name == "result"]
    assert sorted(event.data["index"] for event in results) == list(range(len(platforms)))
    for event in events[:-1]:
        data = event.data
        assert data["platform"] == platforms[data["index"]]
    for index, platform in enumerate(platforms):
        own = [event for event in events[:-1] if event.data["index"] == index]
        assert own[-1].name == "result", f"{platform}: its result is its last event"
        assert own[0].data["state"] == "queued"
        statuses = [event.data for event in own[:-1]]
        assert all(status["state"] in {"queued", "processing", "publishing"} for status in statuses)
        progress = [status["progress"] for status in statuses if status["state"] == "processing"]
        assert progress == sorted(progress)
        assert all(0 <= value <= 1 for value in progress)
    done: dict[str, Any] = events[-1].data
    assert [result["platform"] for result in done["results"]] == platforms
    for event in results:
        result = dict(event.data)
        assert done["results"][result.pop("index")] == result
    return done


async def test_stream_events_follow_the_protocol() -> None:
    """200 text/event-stream; queued first, statuses before each result, done last."""
    config = SandboxConfig(latency={"x": 0.02, "instagram": 0.1, "bluesky": 0.05})
    platforms = ["x", "instagram", "bluesky", "tiktok"]
    body = {"platforms": platforms, "content": {"text": "hi", "media": MEDIA_URL}}
    async with serve(config) as (_, http), http.post(WRITE, json=body, headers=STREAM) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/event-stream"
        assert REQUEST_ID.fullmatch(response.headers["X-Request-Id"])
        assert "Idempotent-Replayed" not in response.headers
        events = await SseReader(response).all()
    done = _check_write_events(events, platforms)
    assert [event.data["state"] for event in events[:4]] == ["queued"] * 4
    instagram = [event.data for event in events if event.data.get("platform") == "instagram"]
    states = [data.get("state") for data in instagram]
    assert "processing" in states
    assert states.index("publishing") > max(i for i, s in enumerate(states) if s == "processing")
    assert [data["progress"] for data in instagram if data.get("state") == "processing"][-1] == 1
    assert done["credits_used"] == 0.03


async def test_results_arrive_in_completion_order() -> None:
    """A fast platform's result comes before a much slower one's, whatever the request order."""
    config = SandboxConfig(latency={"instagram": 0.5})
    body = {"platforms": ["instagram", "x"], "content": SEED_BODY["content"]}
    async with serve(config) as (_, http), http.post(WRITE, json=body, headers=STREAM) as response:
        events = await SseReader(response).all()
    results = [event.data for event in events if event.name == "result"]
    assert [(result["index"], result["platform"]) for result in results] == [
        (1, "x"),
        (0, "instagram"),
    ]


async def test_done_is_exactly_the_json_answer() -> None:
    """The done event's data is the JSON-mode answer, byte for byte."""
    headers = {"Idempotency-Key": "done-check"}
    async with serve() as (_, http):
        async with http.post(WRITE, json=SEED_BODY, headers={**headers, **STREAM}) as response:
            events = await SseReader(response).all()
        async with http.post(WRITE, json=SEED_BODY, headers=headers) as response:
            answer = await response.text()
    assert events[-1].raw == answer
    assert '"credits_used": 0.015' in events[-1].raw


async def test_replay_sends_every_event_again_from_the_start() -> None:
    """The same key and body replays the recorded events, marked replayed, publishing nothing."""
    headers = {"Idempotency-Key": "replay", **STREAM}
    async with serve(SandboxConfig(latency={"x": 0.05})) as (sandbox, http):
        async with http.post(WRITE, json=SEED_BODY, headers=headers) as response:
            first = await SseReader(response).all()
        async with http.post(WRITE, json=SEED_BODY, headers=headers) as response:
            assert response.headers["Idempotent-Replayed"] == "true"
            again = await SseReader(response).all()
        assert sandbox.stats.publishes_for("replay") == 2
    assert again == first


async def test_replay_after_last_event_id_sends_only_later_events() -> None:
    """With Last-Event-ID, a replay starts after that id."""
    headers = {"Idempotency-Key": "resume", **STREAM}
    async with serve() as (_, http):
        async with http.post(WRITE, json=SEED_BODY, headers=headers) as response:
            first = await SseReader(response).all()
        resume = {**headers, "Last-Event-ID": "3"}
        async with http.post(WRITE, json=SEED_BODY, headers=resume) as response:
            assert response.headers["Idempotent-Replayed"] == "true"
            rest = await SseReader(response).all()
    assert rest == first[3:]
    assert rest[0].id == 4


async def test_dropped_client_does_not_stop_the_write_and_a_replay_continues_it() -> None:
    """A client gone mid-stream leaves the write running; resuming gets the rest live to done."""
    config = SandboxConfig(latency={"instagram": 0.4})
    headers = {"Idempotency-Key": "dropped", **STREAM}
    async with serve(config) as (sandbox, http):
        async with http.post(WRITE, json=SEED_BODY, headers=headers) as response:
            reader = SseReader(response)
            seen: list[SseEvent] = []
            while not seen or seen[-1].name != "result":
                event = await reader.next()
                assert event is not None
                seen.append(event)
            response.close()
        assert seen[-1].data["platform"] == "x"
        resume = {**headers, "Last-Event-ID": str(seen[-1].id)}
        async with http.post(WRITE, json=SEED_BODY, headers=resume) as response:
            assert response.headers["Idempotent-Replayed"] == "true"
            rest = await SseReader(response).all()
        stats = sandbox.stats
    events = seen + rest
    _check_write_events(events, ["x", "instagram"])
    assert stats.publishes_for("dropped") == 2
    assert stats.writes_executed == 1
    assert sorted(post.platform for post in sandbox.published()) == ["instagram", "x"]


async def test_pings_keep_a_long_stream_alive() -> None:
    """With a short ping interval, a slow write's stream carries ``: ping`` comments."""
    config = SandboxConfig(latency={"x": 0.3}, ping_interval=0.03)
    body = {"platforms": ["x"], "content": {"text": "slow"}}
    async with serve(config) as (_, http), http.post(WRITE, json=body, headers=STREAM) as response:
        reader = SseReader(response)
        events = await reader.all()
    assert reader.pings >= 1
    assert events[-1].name == "done"


async def test_no_pings_with_the_default_interval_on_a_quick_write() -> None:
    """A write that finishes well within the ping interval has no ping."""
    async with serve() as (_, http), http.post(WRITE, json=SEED_BODY, headers=STREAM) as response:
        reader = SseReader(response)
        await reader.all()
    assert reader.pings == 0


async def test_validation_errors_come_as_json_before_any_stream() -> None:
    """A bad request in stream mode is an ordinary 400 JSON error."""
    body = {"platforms": "x", "content": {"text": "hi"}}
    async with serve() as (_, http), http.post(WRITE, json=body, headers=STREAM) as response:
        assert response.status == 400
        assert response.content_type == "application/json"
        assert error_of(await response.json()) == (
            "invalid_request_error",
            "invalid_type",
            "platforms",
        )


@pytest.mark.parametrize(
    ("accept", "streams"),
    [
        ("text/event-stream", True),
        ("application/json, text/event-stream;q=0.5", False),
        ("text/event-stream, application/json;q=0.9", True),
        ("application/json", False),
        ("*/*", False),
    ],
)
async def test_accept_header_chooses_the_mode(accept: str, streams: bool) -> None:
    """The Accept header picks SSE or JSON, honouring quality values."""
    async with (
        serve() as (_, http),
        http.post(WRITE, json=SEED_BODY, headers={"Accept": accept}) as response,
    ):
        assert response.status == 200
        assert (response.headers["Content-Type"] == "text/event-stream") is streams
        await response.read()


async def test_a_write_that_fails_as_a_whole_ends_with_an_error_event(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A failure of the whole write after the stream began is an error event, no done."""

    def broken(platform: str, text: str, *, with_media: bool = False) -> str:
        msg = f"cannot format {platform}"
        raise RuntimeError(msg)

    monkeypatch.setattr(_publisher, "format_text", broken)
    headers = {"Idempotency-Key": "broken"}
    caplog.set_level(logging.ERROR, logger="socialwrite.sandbox")
    async with serve() as (_, http):
        async with http.post(WRITE, json=SEED_BODY, headers={**headers, **STREAM}) as response:
            assert response.status == 200
            events = await SseReader(response).all()
        async with http.post(WRITE, json=SEED_BODY, headers=headers) as response:
            assert response.status == 500
            replayed_error = await response.json()
    assert events[-1].name == "error"
    assert "done" not in [event.name for event in events]
    assert error_of(events[-1].data) == ("api_error", "internal_error", None)
    assert replayed_error == events[-1].data
    assert "cannot format" in caplog.text


async def test_event_data_is_one_line_of_json() -> None:
    """Every event's data is one line, even when the text has newlines."""
    body = {"platforms": ["x"], "content": {"text": "line one\nline two\r\nthree"}}
    async with serve() as (_, http), http.post(WRITE, json=body, headers=STREAM) as response:
        raw = (await response.read()).decode()
    blocks = [block for block in raw.split("\n\n") if block]
    for block in blocks:
        assert [line.split(":", 1)[0] for line in block.split("\n")] == ["id", "event", "data"]
        json.loads(block.split("\n")[2].removeprefix("data: "))


async def test_stream_request_replays_a_json_write() -> None:
    """A streaming request with the key of a JSON-mode write replays its events to done."""
    headers = {"Idempotency-Key": "json-first"}
    async with serve() as (sandbox, http):
        async with http.post(WRITE, json=SEED_BODY, headers=headers) as response:
            answer = await response.text()
        async with http.post(WRITE, json=SEED_BODY, headers={**headers, **STREAM}) as response:
            assert response.headers["Idempotent-Replayed"] == "true"
            events = await SseReader(response).all()
        assert sandbox.stats.publishes_for("json-first") == 2
    _check_write_events(events, ["x", "instagram"])
    assert events[-1].raw == answer


async def _full_stream(body: dict[str, Any]) -> list[SseEvent]:
    """Every event of ``body``'s write on a fresh sandbox, without Last-Event-ID."""
    async with serve() as (_, http), http.post(WRITE, json=body, headers=STREAM) as response:
        return await SseReader(response).all()


@pytest.mark.parametrize("key", [{"Idempotency-Key": "never-seen"}, {}], ids=["new-key", "no-key"])
@pytest.mark.parametrize("last", [3, 4300598])
async def test_last_event_id_on_a_write_never_seen_numbers_its_events_past_it(
    key: dict[str, str], last: int
) -> None:
    """protocol.md: Last-Event-ID is honoured on a new write: every id sent is greater.

    The write the header starts numbers its events from one past it, so the
    whole write is sent, done (with every result) included.
    """
    full = await _full_stream(SEED_BODY)
    headers = {**key, "Last-Event-ID": str(last), **STREAM}
    async with serve() as (sandbox, http):
        async with http.post(WRITE, json=SEED_BODY, headers=headers) as response:
            assert response.status == 200
            assert "Idempotent-Replayed" not in response.headers
            events = await SseReader(response).all()
        stats = sandbox.stats
    assert [event.id for event in events] == [last + event.id for event in full]
    assert [event.name for event in events] == [event.name for event in full]
    done = events[-1].data
    assert [result["platform"] for result in done["results"]] == ["x", "instagram"]
    assert all(result["success"] for result in done["results"])
    assert stats.writes_executed == 1
    assert stats.publishes == 2


async def test_a_replay_sends_only_the_events_past_the_header() -> None:
    """A known key resumed sends only ids greater than the header's: nothing past done."""
    headers = {"Idempotency-Key": "seen", **STREAM}
    async with serve() as (sandbox, http):
        async with http.post(WRITE, json=SEED_BODY, headers=headers) as response:
            first = await SseReader(response).all()
        resume = {**headers, "Last-Event-ID": str(first[-2].id)}
        async with http.post(WRITE, json=SEED_BODY, headers=resume) as response:
            assert response.headers["Idempotent-Replayed"] == "true"
            assert await SseReader(response).all() == [first[-1]]
        for last in (first[-1].id, first[-1].id + 10):
            resume = {**headers, "Last-Event-ID": str(last)}
            async with http.post(WRITE, json=SEED_BODY, headers=resume) as response:
                assert response.headers["Idempotent-Replayed"] == "true"
                assert await SseReader(response).all() == []
        assert sandbox.stats.publishes == 2


async def test_a_last_event_id_on_a_failed_write_gets_its_error_event(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The error event ends a stream as done does, with an id past the header's."""

    def broken(platform: str, text: str, *, with_media: bool = False) -> str:
        msg = f"cannot format {platform}"
        raise RuntimeError(msg)

    monkeypatch.setattr(_publisher, "format_text", broken)
    caplog.set_level(logging.ERROR, logger="socialwrite.sandbox")
    headers = {"Idempotency-Key": "broken", "Last-Event-ID": "99", **STREAM}
    async with serve() as (_, http), http.post(WRITE, json=SEED_BODY, headers=headers) as response:
        events = await SseReader(response).all()
    assert [event.name for event in events][-1] == "error"
    assert all(event.id > 99 for event in events)
    assert error_of(events[-1].data) == ("api_error", "internal_error", None)
