"""AsyncClient against an in-memory transport: configuration, headers, answers, errors."""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from typing import Any

import attrs
import pytest

import socialwrite
from socialwrite import AsyncClient, ValidationError
from socialwrite._transport._mock import MockResponse, MockTransport

pytestmark = pytest.mark.anyio

KEY = "sk_live_0123456789abcdef"
SEED_RESULTS: list[dict[str, Any]] = [
    {
        "platform": "x",
        "success": True,
        "post_id": "1234567890",
        "url": "https://x.com/user/status/1234567890",
        "error": None,
        "published_at": "2026-04-25T14:22:00Z",
    },
    {"platform": "instagram", "success": True, "post_id": "ig_1", "url": "https://i/p/1"},
]
SEED_ANSWER: dict[str, Any] = {"results": SEED_RESULTS, "credits_used": 0.015}


def json_answer(body: Any, status: int = 200, **headers: str) -> MockResponse:
    """A JSON answer with a request id."""
    return MockResponse(
        status_code=status,
        headers={"Content-Type": "application/json", "X-Request-Id": "req_123", **headers},
        body=json.dumps(body).encode(),
    )


def sse_answer(events: list[tuple[str, Any]], *, chunk: int = 7) -> MockResponse:
    """A streamed answer, cut into small chunks."""
    text = "".join(
        f"id: {i}\nevent: {name}\ndata: {json.dumps(data)}\n\n"
        for i, (name, data) in enumerate(events, 1)
    ).encode()
    chunks = [text[i : i + chunk] for i in range(0, len(text), chunk)]
    return MockResponse(
        status_code=200,
        headers={"Content-Type": "text/event-stream", "X-Request-Id": "req_sse"},
        body=chunks,
    )


def make_client(transport: MockTransport, **kwargs: Any) -> AsyncClient:
    """A client on the mock transport."""
    kwargs.setdefault("base_url", "https://api.example.com")
    return AsyncClient(KEY, transport=transport, **kwargs)


@pytest.fixture(autouse=True)
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests start with neither environment variable set."""
    monkeypatch.delenv("SOCIALWRITE_API_KEY", raising=False)
    monkeypatch.delenv("SOCIALWRITE_BASE_URL", raising=False)


async def test_seed_example_returns_two_successes() -> None:
    """The seed's example decodes into two successes with exact credits."""
    transport = MockTransport(lambda request: json_answer(SEED_ANSWER))
    async with make_client(transport) as client:
        result = await client.write(
            platforms=["x", "instagram"],
            content={"text": "Markets today 📈", "media": "https://e.com/chart.jpg"},
        )
    assert result.ok
    assert result.credits_used == Decimal("0.015")
    assert [r.platform for r in result.results] == ["x", "instagram"]
    assert result.request_id == "req_123"
    assert result.retries == 0
    assert all(r.closed for r in transport.responses)


async def test_request_shape_and_headers() -> None:
    """The write is a POST of the protocol's JSON with auth, UA and an idempotency key."""
    transport = MockTransport(lambda request: json_answer(SEED_ANSWER))
    async with make_client(transport, base_url="https://api.example.com/prefix/") as client:
        result = await client.write(
            platforms=["x", "instagram"],
            content={"text": "hi", "media": ["https://e.com/a.jpg"]},
            options={"instagram": {"format": "feed"}},
        )
    (request,) = transport.requests
    assert request.method == "POST"
    assert request.url == "https://api.example.com/prefix/v1/social/write"
    headers = request.headers
    assert headers["Authorization"] == f"Bearer {KEY}"
    assert headers["Content-Type"] == "application/json"
    assert "text/event-stream" in headers["Accept"]
    ua = headers["User-Agent"]
    assert ua.startswith(f"socialwrite-python/{socialwrite.__version__} Python/")
    assert "mock/1" in ua
    assert headers["Idempotency-Key"] == result.idempotency_key
    assert isinstance(request.body, bytes)
    assert json.loads(request.body) == {
        "platforms": ["x", "instagram"],
        "content": {"text": "hi", "media": ["https://e.com/a.jpg"]},
        "options": {"instagram": {"format": "feed"}},
    }


async def test_fresh_idempotency_key_per_write_and_caller_key_kept() -> None:
    """Each write gets a new key; a caller's own key is sent as given."""
    transport = MockTransport(
        lambda request: json_answer(
            {"results": [{"platform": "x", "success": True}], "credits_used": 0.0075}
        )
    )
    async with make_client(transport) as client:
        first = await client.write(platforms=["x"], content={"text": "a"})
        second = await client.write(platforms=["x"], content={"text": "a"})
        mine = await client.write(platforms=["x"], content={"text": "a"}, idempotency_key="k-1")
    keys = [r.headers["Idempotency-Key"] for r in transport.requests]
    assert keys[0] != keys[1]
    assert keys[2] == "k-1"
    assert (first.idempotency_key, second.idempotency_key, mine.idempotency_key) == tuple(keys)


@pytest.mark.parametrize(
    ("status", "cls", "code"),
    [
        (400, socialwrite.BadRequestError, "duplicate_platform"),
        (401, socialwrite.AuthenticationError, "invalid_api_key"),
        (403, socialwrite.PermissionDeniedError, None),
        (404, socialwrite.NotFoundError, None),
        (409, socialwrite.ConflictError, None),
        (413, socialwrite.PayloadTooLargeError, "media_too_large"),
        (415, socialwrite.UnsupportedMediaTypeError, "unsupported_media_type"),
        (422, socialwrite.UnprocessableEntityError, "idempotency_key_reused"),
    ],
)
async def test_error_statuses_map_to_classes(
    status: int, cls: type[socialwrite.APIStatusError], code: str | None
) -> None:
    """Each error status raises its class with the body's fields and the request id."""
    body = {
        "error": {"type": "invalid_request_error", "code": code, "message": "nope", "param": "p"}
    }
    transport = MockTransport(lambda request: json_answer(body, status))
    async with make_client(transport) as client:
        with pytest.raises(cls) as info:
            await client.write(platforms=["x"], content={"text": "a"})
    error = info.value
    assert type(error) is cls
    assert error.status_code == status
    assert error.code == code
    assert error.message == "nope"
    assert error.param == "p"
    assert error.type == "invalid_request_error"
    assert error.request_id == "req_123"
    assert len(transport.requests) == 1  # not retried
    assert all(r.closed for r in transport.responses)


async def test_rate_limit_error_carries_retry_after() -> None:
    """A 429 whose Retry-After is over the cap raises RateLimitError with retry_after."""
    body = {"error": {"type": "rate_limit_error", "message": "slow down"}}
    transport = MockTransport(lambda request: json_answer(body, 429, **{"Retry-After": "3600"}))
    async with make_client(transport) as client:
        with pytest.raises(socialwrite.RateLimitError) as info:
            await client.write(platforms=["x"], content={"text": "a"})
    assert info.value.retry_after == 3600.0


async def test_server_errors_are_retried_with_the_same_key() -> None:
    """A 503 then a success: one write, the same idempotency key on both tries."""
    answers = iter(
        [
            json_answer(
                {"error": {"type": "api_error", "message": "busy"}}, 503, **{"Retry-After": "0"}
            ),
            json_answer({"results": [{"platform": "x", "success": True}], "credits_used": 0.0075}),
        ]
    )
    transport = MockTransport(lambda request: next(answers))
    async with make_client(transport) as client:
        result = await client.write(platforms=["x"], content={"text": "a"})
    assert result.retries == 1
    keys = {r.headers["Idempotency-Key"] for r in transport.requests}
    assert keys == {result.idempotency_key}


async def test_internal_error_after_retries() -> None:
    """When every try fails with 500 the InternalServerError surfaces after max_retries."""
    body = {"error": {"type": "api_error", "message": "down"}}
    transport = MockTransport(lambda request: json_answer(body, 500, **{"Retry-After": "0"}))
    async with make_client(transport, max_retries=1) as client:
        with pytest.raises(socialwrite.InternalServerError):
            await client.write(platforms=["x"], content={"text": "a"})
        assert len(transport.requests) == 2
        with pytest.raises(socialwrite.InternalServerError):
            await client.write(platforms=["x"], content={"text": "a"}, max_retries=0)
        assert len(transport.requests) == 3


@pytest.mark.parametrize(
    "answer",
    [
        MockResponse(status_code=200, headers={"Content-Type": "application/json"}, body=b"{nope"),
        MockResponse(status_code=200, headers={"Content-Type": "application/json"}, body=b"[]"),
        MockResponse(
            status_code=200,
            headers={"Content-Type": "application/json"},
            body=b'{"results": [{"platform": "x", "success": "yes"}]}',
        ),
        MockResponse(
            status_code=200,
            headers={"Content-Type": "application/json"},
            body=b'{"results": [{"platform": "x", "success": true}], "credits_used": 1e999999999}',
        ),
        MockResponse(status_code=200, headers={"Content-Type": "text/html"}, body=b"<html>"),
        MockResponse(
            status_code=200, headers={"Content-Type": "application/json"}, body=b"\xff\xfe"
        ),
    ],
)
async def test_unparseable_answers(answer: MockResponse) -> None:
    """An answer that does not parse raises APIResponseValidationError, not KeyError."""
    transport = MockTransport(lambda request: answer)
    async with make_client(transport) as client:
        with pytest.raises(socialwrite.APIResponseValidationError):
            await client.write(platforms=["x"], content={"text": "a"})
    assert answer.closed


async def test_error_body_that_is_not_json() -> None:
    """A 502 from a proxy with an HTML body maps to InternalServerError, its text the message."""
    answer = MockResponse(status_code=502, headers={}, body=b"<html>Bad gateway</html>")
    transport = MockTransport(lambda request: answer)
    async with make_client(transport, max_retries=0) as client:
        with pytest.raises(socialwrite.InternalServerError) as info:
            await client.write(platforms=["x"], content={"text": "a"})
    assert info.value.message == "Bad gateway"
    assert str(info.value) == "[502] Bad gateway"


async def test_streamed_answer() -> None:
    """A streamed answer yields results in completion order, then the aggregate."""
    events = [
        ("status", {"index": 1, "platform": "instagram", "state": "processing", "progress": 0.4}),
        ("result", {"index": 0, **SEED_RESULTS[0]}),
        ("result", {"index": 1, **SEED_RESULTS[1]}),
        ("done", SEED_ANSWER),
    ]
    transport = MockTransport(lambda request: sse_answer(events))
    async with make_client(transport) as client:
        result = await client.write(
            platforms=["x", "instagram"], content={"media": "https://e/a.jpg"}
        )
    assert result.credits_used == Decimal("0.015")
    assert result.request_id == "req_sse"


async def test_the_key_never_leaks(caplog: pytest.LogCaptureFixture) -> None:
    """A server that echoes the key back cannot make it appear in an error."""
    body = {"error": {"type": "authentication_error", "message": f"bad key {KEY}"}}
    transport = MockTransport(lambda request: json_answer(body, 401))
    client = make_client(transport)
    assert KEY not in repr(client)
    assert KEY not in str(vars(client).get("base_url"))
    with pytest.raises(socialwrite.AuthenticationError) as info:
        await client.write(platforms=["x"], content={"text": "a"})
    error = info.value
    assert KEY not in str(error)
    assert KEY not in repr(error)
    assert KEY not in json.dumps(error.body)
    assert KEY not in caplog.text
    await client.aclose()


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """api_key and base_url fall back to their environment variables."""
    monkeypatch.setenv("SOCIALWRITE_API_KEY", KEY)
    monkeypatch.setenv("SOCIALWRITE_BASE_URL", "http://127.0.0.1:8787/")
    client = AsyncClient()
    assert client.base_url == "http://127.0.0.1:8787"
    assert KEY not in repr(client)


def test_missing_settings_name_argument_and_variable() -> None:
    """A missing key or URL names both the argument and its environment variable."""
    with pytest.raises(ValidationError) as info:
        AsyncClient(base_url="http://127.0.0.1:1")
    assert info.value.param == "api_key"
    assert "SOCIALWRITE_API_KEY" in str(info.value)
    with pytest.raises(ValidationError) as info:
        AsyncClient(KEY)
    assert info.value.param == "base_url"
    assert "SOCIALWRITE_BASE_URL" in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"base_url": "api.example.com"}, "base_url"),
        ({"base_url": "ftp://api.example.com"}, "base_url"),
        ({"base_url": "https://api.example.com/v1"}, "base_url"),
        ({"base_url": "https://user:pw@api.example.com"}, "base_url"),
        ({"base_url": "https://api.example.com:99999"}, "base_url"),
        ({"base_url": "https://api.example.com", "timeout": -1}, "timeout"),
        ({"base_url": "https://api.example.com", "timeout": "10"}, "timeout"),
        ({"base_url": "https://api.example.com", "max_retries": -1}, "max_retries"),
        ({"base_url": "https://api.example.com", "upload_concurrency": 0}, "upload_concurrency"),
        ({"base_url": "https://api.example.com", "upload_concurrency": True}, "upload_concurrency"),
    ],
)
def test_bad_settings(kwargs: dict[str, Any], param: str) -> None:
    """Each malformed setting is a ValidationError naming it."""
    with pytest.raises(ValidationError) as info:
        AsyncClient(KEY, **kwargs)
    assert info.value.param == param
    assert KEY not in str(info.value)


def test_constructible_without_a_running_loop() -> None:
    """A client can be built in synchronous code; nothing is opened yet."""
    client = AsyncClient(KEY, base_url="https://api.example.com")
    assert not client._requester.has_transport
    assert not client.is_closed


async def test_operation_runs_once() -> None:
    """Awaiting the same operation twice is refused (it would be a second write)."""
    transport = MockTransport(
        lambda request: json_answer(
            {"results": [{"platform": "x", "success": True}], "credits_used": 0.0075}
        )
    )
    async with make_client(transport) as client:
        operation = client.write(platforms=["x"], content={"text": "a"})
        await operation
        with pytest.raises(RuntimeError, match="runs once"):
            await operation


async def test_closed_client_refuses_work() -> None:
    """After aclose() a write fails clearly instead of reopening connections."""
    transport = MockTransport(lambda request: json_answer(SEED_ANSWER))
    client = make_client(transport)
    await client.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await client.write(platforms=["x"], content={"text": "a"})
    assert not transport.closed  # a transport passed in is the caller's to close


async def test_logs_name_requests_and_retries_but_never_the_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Retries are logged with the request line and key-free text."""
    answers = iter(
        [
            json_answer(
                {"error": {"type": "api_error", "message": KEY}}, 503, **{"Retry-After": "0"}
            ),
            json_answer({"results": [{"platform": "x", "success": True}], "credits_used": 0.0075}),
        ]
    )
    transport = MockTransport(lambda request: next(answers))
    with caplog.at_level(logging.DEBUG, logger="socialwrite"):
        async with make_client(transport) as client:
            result = await client.write(platforms=["x"], content={"text": "a"})
    assert "POST https://api.example.com/v1/social/write failed (503)" in caplog.text
    assert result.idempotency_key is not None
    assert result.idempotency_key in caplog.text
    assert "1 retries" in caplog.text
    assert KEY not in caplog.text


def test_redact_url_hides_query_values_and_credentials() -> None:
    """Tokens in query strings and userinfo never reach a log line."""
    from socialwrite._logging import redact_url

    assert redact_url("https://u:p@h.example/a?sig=s3cret&x=1") == (
        "https://h.example/a?sig=%2A%2A%2A&x=%2A%2A%2A"
    )
    assert "s3cret" not in redact_url("https://h.example/?token=s3cret")


async def test_retry_policy_is_the_clients_and_tunable() -> None:
    """client.retry_policy carries max_retries; a faster backoff can be swapped in."""
    body = {"error": {"type": "api_error", "message": "down"}}
    transport = MockTransport(lambda request: json_answer(body, 503))
    async with make_client(transport, max_retries=3) as client:
        assert client.max_retries == 3
        client.retry_policy = attrs.evolve(client.retry_policy, backoff_base=0.001)
        with pytest.raises(socialwrite.InternalServerError):
            await client.write(platforms=["x"], content={"text": "a"})
    assert len(transport.requests) == 4


def test_preview_needs_no_network() -> None:
    """client.preview formats per platform without sending anything."""
    transport = MockTransport(lambda request: json_answer(SEED_ANSWER))
    client = make_client(transport)
    previews = client.preview(platforms=["x", "instagram"], content={"text": "a" * 300})
    assert list(previews) == ["x", "instagram"]
    assert previews["x"].count == 280
    assert previews["x"].text.endswith("…")
    assert "media required but missing" in previews["instagram"].warnings
    with pytest.raises(ValidationError):
        client.preview(platforms="bluesky", content={"text": "hi"})  # type: ignore[arg-type]
    assert transport.requests == []


@pytest.mark.parametrize(
    ("url", "authorized"),
    [
        ("https://api.example.com/v1/media/uploads", True),
        ("https://API.example.com:443/v1/x", True),
        ("https://api.example.com.evil.test/v1/x", False),
        ("https://api.example.com@evil.test/v1/x", False),
        ("http://api.example.com/v1/x", False),
        ("https://api.example.com:8443/v1/x", False),
        ("https://storage.example.com/u/1?sig=abc", False),
    ],
)
async def test_the_key_goes_only_to_the_api_origin(url: str, authorized: bool) -> None:
    """Authorization is added for the API's own origin and for no look-alike."""
    transport = MockTransport(lambda request: json_answer(SEED_ANSWER))
    async with make_client(transport) as client:
        headers = client._requester.headers(url)
        auth = client._requester.auth(url)
    assert "Authorization" not in headers
    assert (auth is not None) is authorized


async def test_a_failed_write_names_its_idempotency_key() -> None:
    """The error of a failed write carries the key to send it again with."""
    body = {"error": {"type": "api_error", "message": "down"}}
    transport = MockTransport(lambda request: json_answer(body, 500))
    async with make_client(transport, max_retries=0) as client:
        with pytest.raises(socialwrite.InternalServerError) as info:
            await client.write(platforms=["x"], content={"text": "a"})
        again = await _retry_with(client, info.value.idempotency_key)
    assert info.value.idempotency_key == transport.requests[0].headers["Idempotency-Key"]
    assert again == info.value.idempotency_key


async def _retry_with(client: AsyncClient, key: str | None) -> str | None:
    """Send the same write again with ``key`` (answered 500 again) and return the key used."""
    with pytest.raises(socialwrite.InternalServerError) as info:
        await client.write(platforms=["x"], content={"text": "a"}, idempotency_key=key)
    return info.value.idempotency_key


def test_the_library_logger_prints_nothing_on_its_own() -> None:
    """``socialwrite`` has a NullHandler: Python's last-resort handler never prints its lines."""
    import socialwrite._logging

    handlers = logging.getLogger("socialwrite").handlers
    assert any(isinstance(handler, logging.NullHandler) for handler in handlers)
    assert socialwrite._logging.logger is logging.getLogger("socialwrite")
