"""Adversarial server answers: only documented errors come out, never KeyError or TypeError."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import socialwrite
from socialwrite import AsyncClient, Timeout
from socialwrite._transport import Request
from socialwrite._transport._mock import MockResponse, MockTransport

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
