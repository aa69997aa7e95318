"""Idempotency-Key handling over loopback: replays publish nothing, other bodies are refused."""

from __future__ import annotations

import asyncio
import json

import pytest

from socialwrite.sandbox import SandboxConfig

from ._support import SEED_BODY, STREAM, WRITE, SseReader, error_of, serve

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """Serve on the test's own loop, which aiohttp needs to be asyncio."""
    return "asyncio"


async def test_same_key_same_body_replays_without_publishing() -> None:
    """A repeated key and body gets the same answer, marked replayed, and publishes nothing."""
    headers = {"Idempotency-Key": "key-1"}
    async with serve() as (sandbox, http):
        async with http.post(WRITE, json=SEED_BODY, headers=headers) as first:
            assert first.status == 200
            assert "Idempotent-Replayed" not in first.headers
            first_text = await first.text()
        async with http.post(WRITE, json=SEED_BODY, headers=headers) as second:
            assert second.status == 200
            assert second.headers["Idempotent-Replayed"] == "true"
            assert second.headers["X-Request-Id"] != first.headers["X-Request-Id"]
            second_text = await second.text()
        stats = sandbox.stats
    assert second_text == first_text
    assert stats.publishes_for("key-1") == 2
    assert (stats.writes_received, stats.writes_executed, stats.writes_replayed) == (2, 1, 1)
    assert all(post.idempotency_key == "key-1" for post in sandbox.published())


async def test_same_body_in_another_key_order_is_the_same_body() -> None:
    """The fingerprint is of the parsed JSON: key order and spacing do not matter."""
    reordered = json.dumps({"content": SEED_BODY["content"], "platforms": SEED_BODY["platforms"]})
    headers = {"Idempotency-Key": "key-1", "Content-Type": "application/json"}
    async with serve() as (sandbox, http):
        async with http.post(WRITE, json=SEED_BODY, headers={"Idempotency-Key": "key-1"}):
            pass
        async with http.post(WRITE, data=reordered, headers=headers) as response:
            assert response.status == 200
            assert response.headers["Idempotent-Replayed"] == "true"
        assert sandbox.stats.publishes == 2


async def test_same_key_other_body_is_422() -> None:
    """A key reused with another body gets 422 idempotency_key_reused and publishes nothing."""
    headers = {"Idempotency-Key": "key-1"}
    other = {**SEED_BODY, "platforms": ["x"]}
    async with serve() as (sandbox, http):
        async with http.post(WRITE, json=SEED_BODY, headers=headers) as response:
            assert response.status == 200
        for accept in ({}, STREAM):
            async with http.post(WRITE, json=other, headers={**headers, **accept}) as response:
                assert response.status == 422
                assert response.content_type == "application/json"
                assert error_of(await response.json()) == (
                    "invalid_request_error",
                    "idempotency_key_reused",
                    "Idempotency-Key",
                )
        assert sandbox.stats.publishes == 2


async def test_concurrent_requests_with_one_key_publish_once() -> None:
    """Requests racing with the same key while the write runs all get its one answer."""
    config = SandboxConfig(latency={"x": 0.2, "instagram": 0.2})
    headers = {"Idempotency-Key": "race"}
    async with serve(config) as (sandbox, http):

        async def send() -> tuple[str, bool]:
            async with http.post(WRITE, json=SEED_BODY, headers=headers) as response:
                assert response.status == 200
                return await response.text(), "Idempotent-Replayed" in response.headers

        answers = await asyncio.gather(*(send() for _ in range(6)))
        stats = sandbox.stats
    assert len({text for text, _ in answers}) == 1
    assert sorted(replayed for _, replayed in answers) == [False] + [True] * 5
    assert stats.publishes_for("race") == 2
    assert stats.writes_executed == 1
    assert sorted(post.platform for post in sandbox.published()) == ["instagram", "x"]


async def test_without_a_key_nothing_is_deduplicated() -> None:
    """The same body sent twice without a key is published twice."""
    async with serve() as (sandbox, http):
        for _ in range(2):
            async with http.post(WRITE, json=SEED_BODY) as response:
                assert "Idempotent-Replayed" not in response.headers
        stats = sandbox.stats
    assert stats.publishes_for(None) == 4
    assert stats.writes_executed == 2


async def test_keys_are_independent() -> None:
    """Two keys with the same body are two writes."""
    async with serve() as (sandbox, http):
        for key in ("a", "b"):
            async with http.post(WRITE, json=SEED_BODY, headers={"Idempotency-Key": key}):
                pass
        stats = sandbox.stats
    assert (stats.publishes_for("a"), stats.publishes_for("b")) == (2, 2)


async def test_a_replay_after_clear_still_publishes_nothing() -> None:
    """Clearing the published posts does not forget idempotency keys."""
    headers = {"Idempotency-Key": "kept"}
    async with serve() as (sandbox, http):
        async with http.post(WRITE, json=SEED_BODY, headers=headers):
            pass
        sandbox.clear()
        async with http.post(WRITE, json=SEED_BODY, headers=headers) as response:
            assert response.headers["Idempotent-Replayed"] == "true"
        assert sandbox.published() == []


async def test_an_expired_key_starts_a_new_write() -> None:
    """After the key's time to live, the same key and body publish again."""
    config = SandboxConfig(idempotency_ttl=0.05)
    headers = {"Idempotency-Key": "short-lived"}
    async with serve(config) as (sandbox, http):
        async with http.post(WRITE, json=SEED_BODY, headers=headers):
            pass
        await asyncio.sleep(0.1)
        async with http.post(WRITE, json=SEED_BODY, headers=headers) as response:
            assert "Idempotent-Replayed" not in response.headers
        assert sandbox.stats.publishes_for("short-lived") == 4


async def test_json_request_replays_a_stream_write() -> None:
    """A JSON-mode request with the key of a streamed write gets that write's aggregate."""
    config = SandboxConfig(latency={"instagram": 0.2})
    headers = {"Idempotency-Key": "mixed"}
    async with serve(config) as (sandbox, http):
        async with http.post(WRITE, json=SEED_BODY, headers={**headers, **STREAM}) as stream:
            reader = SseReader(stream)
            first = await reader.next()
            assert first is not None
            # The JSON request joins the write while it still runs and waits for it.
            async with http.post(WRITE, json=SEED_BODY, headers=headers) as response:
                assert response.headers["Idempotent-Replayed"] == "true"
                answer_text = await response.text()
            events = await reader.all()
        assert events[-1].name == "done"
        assert events[-1].raw == answer_text
        assert sandbox.stats.publishes_for("mixed") == 2
