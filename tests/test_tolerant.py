"""Tolerant results: answers of real servers that do not follow the protocol to the letter.

Results in another order, a number as ``post_id``, a platform left out or one
not asked for, invalid UTF-8, absurd credits: a write that was published never
loses its results to a decoding problem. The same rules hold for the plain
JSON answer, the stream's ``result`` and ``done`` events, and a resumed stream.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

import socialwrite
from socialwrite import AsyncClient, PlatformResult, RetryPolicy
from socialwrite._converter import (
    MISSING_RESULT,
    ResponseShapeError,
    decode_result_event,
    decode_status_event,
    structure_write_result,
)
from socialwrite._json import loads
from socialwrite._transport import Request
from socialwrite._transport._mock import MockResponse, MockTransport
from socialwrite.events import PlatformStatus, WriteCompleted

from ._vendor import Answer, vendor_server

KEY = "sk_live_0123456789abcdef"
API = "https://api.example.com"
PLATFORMS = ("x", "instagram", "bluesky")
X = {"platform": "x", "success": True, "post_id": "1", "url": "https://x.com/u/status/1"}
IG = {"platform": "instagram", "success": True, "post_id": "2", "url": "https://ig/p/2"}
BSKY = {"platform": "bluesky", "success": False, "error": "refused", "error_code": "platform_error"}


def json_answer(body: Any) -> MockResponse:
    """A 200 JSON answer."""
    return MockResponse(
        headers={"Content-Type": "application/json"}, body=json.dumps(body).encode()
    )


def frame(event_id: int, name: str, data: Any) -> bytes:
    """One SSE event."""
    return f"id: {event_id}\nevent: {name}\ndata: {json.dumps(data)}\n\n".encode()


def sse(*frames: bytes, fail: bool = False) -> MockResponse:
    """A streamed answer; with fail=True the connection breaks after the frames."""

    def chunks() -> Iterator[bytes]:
        yield from frames
        if fail:
            msg = "connection reset"
            raise socialwrite.APIConnectionError(msg)

    return MockResponse(headers={"Content-Type": "text/event-stream"}, body=chunks())


def client_on(transport: MockTransport) -> AsyncClient:
    """A client on the in-memory transport, retrying without waiting."""
    client = AsyncClient(KEY, base_url=API, transport=transport)
    client.retry_policy = RetryPolicy(max_retries=2, backoff_base=0.0)
    return client


def shown(results: tuple[PlatformResult, ...] | list[PlatformResult]) -> list[tuple[Any, ...]]:
    """The parts of results a test compares."""
    return [(r.platform, r.success, r.post_id, r.error_code) for r in results]


# -- the converter's rules -------------------------------------------------------------------


def test_results_in_another_order_are_matched_by_platform() -> None:
    """``results`` follow the request's order, whatever order the server used."""
    result = structure_write_result(
        {"results": [BSKY, X, IG], "credits_used": 0.015}, platforms=PLATFORMS
    )
    assert shown(result.results) == [
        ("x", True, "1", None),
        ("instagram", True, "2", None),
        ("bluesky", False, None, "platform_error"),
    ]


def test_a_missing_platform_becomes_a_failed_result() -> None:
    """A platform left out is a failure with error_code missing_result and a message."""
    result = structure_write_result({"results": [IG], "credits_used": 0}, platforms=PLATFORMS)
    assert shown(result.results) == [
        ("x", False, None, MISSING_RESULT),
        ("instagram", True, "2", None),
        ("bluesky", False, None, MISSING_RESULT),
    ]
    assert not result.ok
    assert result["x"].error == (
        "the server's answer has no result for 'x', so whether the post was published there "
        "is unknown: check the account on x before posting it again"
    )


def test_an_unrequested_platform_is_dropped_and_the_first_duplicate_wins() -> None:
    """A result for a platform not asked for is dropped; of two for one platform, the first."""
    second_x = {**X, "post_id": "999"}
    other = {"platform": "mastodon", "success": True, "post_id": "m"}
    result = structure_write_result(
        {"results": [other, X, second_x], "credits_used": 0}, platforms=("x",)
    )
    assert shown(result.results) == [("x", True, "1", None)]


@pytest.mark.parametrize(
    ("text", "post_id"),
    [
        ("1234567890123456789012345", "1234567890123456789012345"),
        ("-7", "-7"),
        ("12.5", "12.5"),
        ("1e3", "1000"),
        ("1.0", "1"),
        ("1e999999999", "1E+999999999"),
        ("NaN", "NaN"),
    ],
)
def test_a_number_post_id_becomes_its_decimal_text(text: str, post_id: str) -> None:
    """An integer exactly, any other number as its decimal text; never an error."""
    data = loads(f'{{"results": [{{"platform": "x", "success": true, "post_id": {text}}}]}}')
    assert structure_write_result(data, platforms=("x",))["x"].post_id == post_id


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "-Infinity", "1e999999999", "-1", "1e10"])
def test_absurd_credits_are_refused(amount: str) -> None:
    """credits_used must be a finite amount from 0 to 10**9."""
    data = loads(f'{{"results": [], "credits_used": {amount}}}')
    with pytest.raises(ResponseShapeError, match="credits_used"):
        structure_write_result(data, platforms=("x",))


@pytest.mark.parametrize(("text", "amount"), [("0", "0"), ("1e9", "1E+9"), ('"0.015"', "0.015")])
def test_sane_credits_are_kept_exactly(text: str, amount: str) -> None:
    """The bounds themselves, and a string amount, are fine."""
    data = loads(f'{{"results": [], "credits_used": {text}}}')
    assert structure_write_result(data).credits_used == Decimal(amount)


@pytest.mark.parametrize(
    ("data", "index"),
    [
        ({"index": 0, "platform": "x"}, 0),
        ({"index": 1, "platform": "x"}, 0),  # the platform wins over a wrong index
        ({"index": 9, "platform": "bluesky"}, 2),
        ({"index": 1}, 1),  # no platform: the index
        ({"index": 9}, None),
        ({"index": True}, None),
        ({"platform": "mastodon", "index": 0}, None),  # not in the write
        ({"platform": 5, "index": 0}, None),
    ],
)
def test_events_are_matched_by_platform_first(data: dict[str, Any], index: int | None) -> None:
    """A status names its platform by ``platform``; ``index`` counts only without one."""
    status = decode_status_event({**data, "state": "queued"}, PLATFORMS)
    assert (status.index if status else None) == index
    decoded = decode_result_event({**data, "success": True}, PLATFORMS)
    assert (decoded[0] if decoded else None) == index
    if decoded is not None:
        assert decoded[1].platform == PLATFORMS[decoded[0]]


def test_an_event_that_does_not_parse_is_skipped() -> None:
    """Junk event data gives None (skip), never an exception."""
    junks: list[object] = [None, [], "x", {"index": 0, "platform": "x", "success": "yes"}]
    for junk in junks:
        assert decode_result_event(junk, PLATFORMS) is None
    assert decode_status_event({"platform": "x", "state": 5}, PLATFORMS) is None
    status = decode_status_event(
        {"platform": "x", "state": "processing", "progress": "40%"}, PLATFORMS
    )
    assert status == PlatformStatus(platform="x", index=0, state="processing", progress=None)


# -- JSON answers, end to end ----------------------------------------------------------------


@pytest.mark.anyio
async def test_a_json_answer_in_another_order_with_numbers_and_a_gap() -> None:
    """Reordered, a number post_id, a platform missing, one not asked for: all results kept."""
    answer = {
        "results": [
            {**IG, "post_id": 17841405793187218},
            {"platform": "threads", "success": True},
            X,
        ],
        "credits_used": 0.015,
    }
    transport = MockTransport(lambda request: json_answer(answer))
    async with client_on(transport) as client:
        result = await client.write(platforms=list(PLATFORMS), content={"text": "hi"})
    assert shown(result.results) == [
        ("x", True, "1", None),
        ("instagram", True, "17841405793187218", None),
        ("bluesky", False, None, MISSING_RESULT),
    ]
    assert len(transport.requests) == 1


@pytest.mark.anyio
async def test_invalid_utf8_in_a_json_answer_is_replaced() -> None:
    """One bad byte in an answer becomes U+FFFD instead of failing a published write."""
    body = {"results": [{**X, "url": "https://x.com/caf\u00e9"}], "credits_used": 0}
    raw = json.dumps(body, ensure_ascii=False).encode().replace("é".encode(), b"\xe9")
    assert b"\xe9" in raw
    transport = MockTransport(
        lambda request: MockResponse(headers={"Content-Type": "application/json"}, body=raw)
    )
    async with client_on(transport) as client:
        result = await client.write(platforms=["x"], content={"text": "hi"})
    assert result["x"].url == "https://x.com/caf\ufffd"


@pytest.mark.anyio
async def test_absurd_credits_keep_the_results_in_the_error() -> None:
    """credits_used 1e999999999: APIResponseValidationError whose body holds the results."""
    raw = b'{"results": [{"platform": "x", "success": true, "post_id": "1"}], '
    raw += b'"credits_used": 1e999999999}'
    transport = MockTransport(
        lambda request: MockResponse(headers={"Content-Type": "application/json"}, body=raw)
    )
    async with client_on(transport) as client:
        operation = client.write(platforms=["x"], content={"text": "hi"})
        with pytest.raises(socialwrite.APIResponseValidationError) as caught:
            await operation
    error = caught.value
    assert "credits_used is 1E+999999999, not an amount from 0 to 1000000000" in str(error)
    assert error.body["results"][0]["post_id"] == "1"
    assert error.idempotency_key == operation.idempotency_key
    assert len(transport.requests) == 1  # not retried: the answer would be the same


ESCAPED_KEY = KEY.replace("s", "\\u0073", 1)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "raw",
    [
        f'{{"results": "{KEY}"}}'.encode(),  # JSON of the wrong shape
        f'{{"results": ["{ESCAPED_KEY}"]}}'.encode(),  # the key, escaped in a string
        f"<html>oops {KEY}</html>".encode(),  # not JSON at all
    ],
    ids=["wrong-shape", "escaped-key", "not-json"],
)
async def test_an_undecodable_answer_keeps_its_text_without_the_key(raw: bytes) -> None:
    """What the server sent is kept in .body (parsed, or as text); an echoed key is redacted."""
    answer = MockResponse(headers={"Content-Type": "application/json"}, body=raw)
    transport = MockTransport(lambda request: answer)
    async with client_on(transport) as client:
        with pytest.raises(socialwrite.APIResponseValidationError) as caught:
            await client.write(platforms=["x"], content={"text": "hi"})
    error = caught.value
    assert error.body is not None
    assert KEY not in repr(error.body)
    assert KEY not in str(error)
    assert "[redacted]" in repr(error.body)
    assert "what the server sent is kept in this error's body" in str(error)


# -- streams ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_stream_with_wrong_indexes_is_matched_by_platform() -> None:
    """Result events whose index disagrees are taken at their platform; done decides the rest."""
    answer = sse(
        frame(1, "status", {"index": 2, "platform": "x", "state": "publishing"}),
        frame(2, "result", {**IG, "index": 0}),
        frame(3, "result", {"platform": "threads", "success": True, "index": 1}),
        frame(4, "result", {**X, "index": 7, "post_id": 42}),
        frame(5, "done", {"results": [IG, {**X, "post_id": 42}], "credits_used": 0.015}),
    )
    transport = MockTransport(lambda request: answer)
    async with client_on(transport) as client:
        async with client.write(platforms=list(PLATFORMS), content={"text": "hi"}) as stream:
            events = [event async for event in stream.events()]
    assert isinstance(events[0], PlatformStatus)
    assert (events[0].platform, events[0].index) == ("x", 0)
    yielded = [e for e in events if isinstance(e, PlatformResult)]
    assert shown(yielded) == [
        ("instagram", True, "2", None),
        ("x", True, "42", None),
        ("bluesky", False, None, MISSING_RESULT),  # from the done event
    ]
    assert isinstance(events[-1], WriteCompleted)
    assert shown(events[-1].result.results) == [
        ("x", True, "42", None),
        ("instagram", True, "2", None),
        ("bluesky", False, None, MISSING_RESULT),
    ]


@pytest.mark.anyio
async def test_an_awaited_stream_with_a_reordered_done() -> None:
    """An awaited write: the done event's results are matched like a JSON answer's."""
    answer = sse(frame(1, "done", {"results": [BSKY, {**X, "post_id": 5}], "credits_used": 0}))
    transport = MockTransport(lambda request: answer)
    async with client_on(transport) as client:
        result = await client.write(platforms=list(PLATFORMS), content={"text": "hi"})
    assert shown(result.results) == [
        ("x", True, "5", None),
        ("instagram", False, None, MISSING_RESULT),
        ("bluesky", False, None, "platform_error"),
    ]


@pytest.mark.anyio
async def test_a_resumed_stream_follows_the_same_rules() -> None:
    """The replay after a drop: reordered, a number id; each platform yielded once."""
    answers = iter(
        [
            sse(frame(1, "result", {**IG, "index": 1}), fail=True),
            sse(
                frame(2, "result", {**X, "post_id": 7, "index": 0}),
                frame(3, "result", {**IG, "index": 1, "post_id": "again"}),
                frame(4, "done", {"results": [IG, {**X, "post_id": 7}], "credits_used": 0.015}),
            ),
        ]
    )

    def handler(request: Request) -> MockResponse:
        return next(answers)

    transport = MockTransport(handler)
    async with client_on(transport) as client:
        async with client.write(platforms=["x", "instagram"], content={"text": "hi"}) as stream:
            yielded = [result async for result in stream]
    assert shown(yielded) == [("instagram", True, "2", None), ("x", True, "7", None)]
    assert shown(stream.result.results) == [
        ("x", True, "7", None),
        ("instagram", True, "2", None),
    ]
    assert transport.requests[1].headers["Last-Event-ID"] == "1"


# -- over real sockets -----------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_vendor_answer_in_its_own_order() -> None:
    """A real server's reordered JSON with a number id and a gap, on every loop and transport."""
    body = json.dumps(
        {
            "results": [{**IG, "post_id": 2}, {"platform": "threads", "success": True}],
            "credits_used": 0,
        }
    ).encode()
    answers = {
        ("POST", "/v1/social/write"): Answer(200, {"Content-Type": "application/json"}, body)
    }
    with vendor_server(answers) as server:
        async with AsyncClient(KEY, base_url=server.base_url) as client:
            result = await client.write(platforms=["x", "instagram"], content={"text": "hi"})
    assert shown(result.results) == [
        ("x", False, None, MISSING_RESULT),
        ("instagram", True, "2", None),
    ]
