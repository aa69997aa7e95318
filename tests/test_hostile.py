"""Adversarial server answers: only documented errors come out, never KeyError or TypeError."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import socialwrite
from socialwrite import AsyncClient, Timeout
from socialwrite._json import MAX_DEPTH, loads
from socialwrite._transport import Request
from socialwrite._transport._mock import MockResponse, MockTransport

from ._vendor import Answer, vendor_server

DOCUMENTED = (
    socialwrite.APIResponseValidationError,
    socialwrite.APIStatusError,
    socialwrite.APIConnectionError,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(
        st.sampled_from(
            ["results", "credits_used", "platform", "success", "index", "error", "url",
             "published_at", "post_id", "state", "progress", "type", "message"]
        )
        | st.text(max_size=5),
        children,
        max_size=6,
    ),
    max_leaves=15,
)  # fmt: skip

result_like = st.fixed_dictionaries(
    {"platform": st.sampled_from(["x", "y", 5]), "success": st.sampled_from([True, "no", None])},
    optional={
        "index": st.sampled_from([0, 1, -1, "0", True]),
        "published_at": st.sampled_from(["2026-01-01T00:00:00Z", "soon", 5]),
        "url": st.sampled_from([None, "https://x", 3]),
    },
)


def sse_text(events: list[tuple[str, Any]], line_end: str) -> bytes:
    """Encode events as an SSE stream with the given line ends."""
    return "".join(
        f"event: {name}{line_end}data: {json.dumps(data)}{line_end}{line_end}"
        for name, data in events
    ).encode()


event_names = st.sampled_from(["status", "result", "done", "error", "other", ""])
answers = st.one_of(
    st.builds(
        lambda status, body: MockResponse(
            status_code=status, headers={"Content-Type": "application/json"}, body=body
        ),
        st.sampled_from([200, 201, 204, 302, 400, 404, 409, 422, 429, 500]),
        st.one_of(
            st.binary(max_size=64),
            json_values.map(lambda v: json.dumps(v).encode()),
            st.builds(
                lambda rs, c: json.dumps({"results": rs, "credits_used": c}).encode(),
                st.lists(result_like, max_size=2),
                st.sampled_from([0.0075, "1", None, "x", True]),
            ),
        ),
    ),
    st.builds(
        lambda events, line_end, cut: MockResponse(
            status_code=200,
            headers={"Content-Type": "text/event-stream"},
            body=[sse_text(events, line_end)[:cut]],
        ),
        st.lists(st.tuples(event_names, json_values | result_like), max_size=5),
        st.sampled_from(["\n", "\r\n", "\r"]),
        st.integers(min_value=0, max_value=400),
    ),
    st.builds(
        lambda body: MockResponse(
            status_code=200, headers={"Content-Type": "text/event-stream"}, body=[body]
        ),
        st.binary(max_size=128),
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answer=answers)
def test_any_answer_gives_a_result_or_a_documented_error(answer: MockResponse) -> None:
    """Whatever the server says, the caller gets a WriteResult or a documented error."""
    transport = MockTransport(lambda request: answer)

    async def run() -> None:
        async with AsyncClient(
            "k", base_url="https://api.example.com", transport=transport, max_retries=0
        ) as client:
            try:
                result = await client.write(platforms=["x"], content={"text": "hi"})
            except DOCUMENTED:
                return
            assert isinstance(result, socialwrite.WriteResult)
            assert [r.platform for r in result.results] == ["x"]

    anyio.run(run)
    assert answer.closed


@pytest.mark.anyio
async def test_huge_json_body_is_capped() -> None:
    """A JSON answer of more than 8 MiB is refused after reading just past the cap."""
    served = 0

    def chunks() -> Any:
        nonlocal served
        for _ in range(100):
            served += 1 << 20
            yield b" " * (1 << 20)

    transport = MockTransport(
        lambda request: MockResponse(headers={"Content-Type": "application/json"}, body=chunks())
    )
    async with AsyncClient("k", base_url="https://a.example", transport=transport) as client:
        with pytest.raises(socialwrite.APIResponseValidationError, match="larger than"):
            await client.write(platforms=["x"], content={"text": "hi"})
    assert served <= 10 << 20


@pytest.mark.anyio
async def test_huge_event_is_capped() -> None:
    """An event past the 16 MiB cap raises APIResponseValidationError."""

    def chunks() -> Any:
        yield b"event: result\ndata: "
        for _ in range(20):
            yield b"x" * (1 << 20)

    transport = MockTransport(
        lambda request: MockResponse(headers={"Content-Type": "text/event-stream"}, body=chunks())
    )
    async with AsyncClient("k", base_url="https://a.example", transport=transport) as client:
        with pytest.raises(socialwrite.APIResponseValidationError, match="event stream"):
            await client.write(platforms=["x"], content={"text": "hi"})


@pytest.mark.anyio
async def test_total_timeout_is_a_timeout_error_then_retried() -> None:
    """A write slower than its total timeout raises APITimeoutError after the retries."""

    async def slow(request: Request) -> MockResponse:
        await anyio.sleep(5)
        return MockResponse()

    transport = MockTransport(slow)
    async with AsyncClient(
        "k",
        base_url="https://a.example",
        transport=transport,
        timeout=Timeout(total=0.01),
        max_retries=1,
    ) as client:
        with pytest.raises(socialwrite.APITimeoutError, match="total timeout"):
            await client.write(platforms=["x"], content={"text": "hi"})
    assert len(transport.requests) == 2
    assert len({r.headers["Idempotency-Key"] for r in transport.requests}) == 1


# -- deep nesting, anywhere JSON is decoded ------------------------------------------------------

DEEP = b"[" * 200_000
KEY = "sk_live_0123456789abcdef"


def test_loads_refuses_deep_nesting_with_a_value_error() -> None:
    """Too deep is a ValueError, never a RecursionError; a bracket in a string is just text."""
    for text in (DEEP, b"[" * 200_000 + b"]" * 200_000, b'{"a":' * 5000 + b"1" + b"}" * 5000):
        with pytest.raises(ValueError, match="nested deeper than 512 levels"):
            loads(text)
    with pytest.raises(ValueError, match="nested deeper"):
        loads("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    assert loads(json.dumps(["[" * 100_000, "{" * 100_000])) == ["[" * 100_000, "{" * 100_000]


def test_loads_replaces_invalid_utf8_and_skips_a_bom() -> None:
    """A bad byte becomes U+FFFD; a leading BOM is not an error."""
    assert loads(b'{"a": "caf\xe9"}') == {"a": "caf\ufffd"}
    assert loads(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}


def deep_client(handler: Any, **kwargs: Any) -> tuple[AsyncClient, MockTransport]:
    """A client on an in-memory transport, retrying without waiting."""
    transport = MockTransport(handler)
    client = AsyncClient(KEY, base_url="https://a.example", transport=transport, **kwargs)
    client.retry_policy = socialwrite.RetryPolicy(
        max_retries=kwargs.get("max_retries", 2), backoff_base=0.0
    )
    return client, transport


def stream_of(*events: tuple[str, bytes]) -> MockResponse:
    """A streamed answer of raw ``data`` lines."""
    body = b"".join(
        b"id: %d\nevent: %s\ndata: %s\n\n" % (i, name.encode(), data)
        for i, (name, data) in enumerate(events, 1)
    )
    return MockResponse(headers={"Content-Type": "text/event-stream"}, body=[body])


DONE = b'{"results": [{"platform": "x", "success": true, "post_id": "1"}], "credits_used": 0}'


@pytest.mark.anyio
@pytest.mark.parametrize(
    "answer",
    [
        MockResponse(headers={"Content-Type": "application/json"}, body=DEEP),
        MockResponse(
            headers={"Content-Type": "text/event-stream"},
            body=b"event: done\ndata: " + DEEP + b"\n\n",
        ),
        MockResponse(
            headers={"Content-Type": "text/event-stream"},
            body=b"event: error\ndata: " + DEEP + b"\n\n",
        ),
    ],
    ids=["json", "done-event", "error-event"],
)
async def test_a_deep_answer_is_a_validation_error_with_the_key(answer: MockResponse) -> None:
    """Deep JSON as the answer: APIResponseValidationError carrying the write's key; no retry."""
    client, transport = deep_client(lambda request: answer)
    async with client:
        operation = client.write(platforms=["x"], content={"text": "hi"})
        with pytest.raises(socialwrite.APIResponseValidationError, match="nested deeper") as caught:
            await operation
    assert caught.value.idempotency_key == operation.idempotency_key
    assert len(transport.requests) == 1


@pytest.mark.anyio
async def test_deep_statuses_and_results_are_skipped() -> None:
    """Deep data in a status or result event is skipped; the done event decides."""
    answer = stream_of(("status", DEEP), ("result", DEEP), ("done", DONE))
    client, _ = deep_client(lambda request: answer)
    async with client:
        async with client.write(platforms=["x"], content={"text": "hi"}) as stream:
            results = [result async for result in stream]
    assert [(r.platform, r.post_id) for r in results] == [("x", "1")]


@pytest.mark.anyio
async def test_a_deep_5xx_body_is_still_a_retried_internal_server_error() -> None:
    """A 502 whose body is deep JSON: InternalServerError, retried like any 5xx."""
    answer = MockResponse(status_code=502, headers={"Content-Type": "application/json"}, body=DEEP)
    client, transport = deep_client(lambda request: answer)
    async with client:
        with pytest.raises(socialwrite.InternalServerError) as caught:
            await client.write(platforms=["x"], content={"text": "hi"})
    assert caught.value.status_code == 502
    assert caught.value.idempotency_key is not None
    assert len(transport.requests) == 3


@pytest.mark.anyio
async def test_a_deep_upload_answer_is_a_media_upload_error(tmp_path: Path) -> None:
    """A create answered with deep JSON: MediaUploadError (with the write's key); no write sent."""
    path = tmp_path / "a.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16)
    answer = MockResponse(status_code=201, headers={"Content-Type": "application/json"}, body=DEEP)
    client, transport = deep_client(lambda request: answer)
    async with client:
        operation = client.write(platforms=["x"], content={"text": "hi", "media": str(path)})
        with pytest.raises(socialwrite.MediaUploadError) as caught:
            await operation
    assert isinstance(caught.value.cause, socialwrite.APIResponseValidationError)
    assert caught.value.idempotency_key == operation.idempotency_key
    assert [r.url for r in transport.requests] == ["https://a.example/v1/media/uploads"]


@pytest.mark.anyio
async def test_a_real_server_answering_deep_json() -> None:
    """Deep JSON over a socket, on every loop and transport: a documented error."""
    answers = {
        ("POST", "/v1/social/write"): Answer(200, {"Content-Type": "application/json"}, DEEP)
    }
    with vendor_server(answers) as server:
        async with AsyncClient(KEY, base_url=server.base_url) as client:
            with pytest.raises(socialwrite.APIResponseValidationError, match="nested deeper"):
                await client.write(platforms=["x"], content={"text": "hi"})
    assert len(server.received) == 1


@pytest.mark.anyio
async def test_an_answer_nested_as_deep_as_allowed_keeps_its_body() -> None:
    """Nested 500 deep (under the cap) but the wrong shape: the error's body holds all of it."""
    raw = b'{"results": ' + b"[" * 500 + b"]" * 500 + b"}"
    answer = MockResponse(headers={"Content-Type": "application/json"}, body=raw)
    client, _ = deep_client(lambda request: answer)
    async with client:
        with pytest.raises(socialwrite.APIResponseValidationError, match="results") as caught:
            await client.write(platforms=["x"], content={"text": "hi"})
    assert caught.value.body == json.loads(raw)
