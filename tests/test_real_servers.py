"""Real servers' error answers: flat bodies, proxies' HTML pages, 402, 3xx, no upload endpoint.

First against an in-memory transport (exact counts of what was sent), then
over real sockets against a vendor-shaped server on every loop and transport,
then through the command line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import socialwrite
import socialwrite._requester
from socialwrite import AsyncClient, RetryPolicy
from socialwrite._retry import RetryPolicy as PurePolicy
from socialwrite._transport import Request
from socialwrite._transport._mock import MockResponse, MockTransport
from socialwrite.cli._app import cli as command_line

from ._vendor import Answer, vendor_server

KEY = "sk_live_0123456789abcdef"
API = "https://api.example.com"
FAST = RetryPolicy(max_retries=2, backoff_base=0.0)
RESULTS = {"results": [{"platform": "x", "success": True, "post_id": "1"}], "credits_used": 0.0075}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
HTML_HEAD = b"<html><head><title>500</title><style>" + b"p { color: red; }\n" * 50
HTML_500 = b"</style></head><body><h1>Internal Server Error</h1><p>Try again later.</p>"
HTML_502 = (
    b"<html><head><title>502 Bad Gateway</title><style>body{width:35em}</style></head>"
    b"<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)
WRITE = "/v1/social/write"
UPLOADS = "/v1/media/uploads"


def json_answer(body: Any, status: int, **headers: str) -> MockResponse:
    """A JSON answer, without a request id."""
    return MockResponse(
        status_code=status,
        headers={"Content-Type": "application/json", **headers},
        body=json.dumps(body).encode(),
    )


def huge_html(total: int = 2 << 20) -> Iterator[bytes]:
    """An HTML error page of ``total`` bytes, in chunks: its text, then long comments."""
    yield HTML_HEAD + HTML_500
    sent = len(HTML_HEAD) + len(HTML_500)
    padding = b"<!-- " + b"padding " * 5000 + b" -->"
    while sent < total:
        yield padding
        sent += len(padding)


def client_on(transport: MockTransport, **kwargs: Any) -> AsyncClient:
    """A client on the in-memory transport, retrying without waiting."""
    client = AsyncClient(KEY, base_url=API, transport=transport, **kwargs)
    client.retry_policy = FAST.with_max_retries(kwargs.get("max_retries"))
    return client


def png(tmp_path: Path) -> str:
    """A small local PNG file to upload."""
    path = tmp_path / "chart.png"
    path.write_bytes(PNG)
    return str(path)


# -- the write, in memory --------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({"error": "rate_limited", "message": "slow down"}, "rate_limited", "slow down"),
        ({"message": "slow down"}, None, "slow down"),
        ({"detail": "slow down"}, None, "slow down"),
        ({"detail": [{"loc": ["body"], "msg": "slow down"}]}, None, "body: slow down"),
    ],
)
async def test_a_flat_error_body_gives_its_code_and_message(
    body: dict[str, Any], code: str | None, message: str
) -> None:
    """Flat bodies are read, not shown as raw JSON; Retry-After is in the text; one request."""
    answer = json_answer(body, 429, **{"Retry-After": "120", "X-Request-Id": "req_flat"})
    transport = MockTransport(lambda request: answer)
    async with client_on(transport) as client:
        with pytest.raises(socialwrite.RateLimitError) as caught:
            await client.write(platforms=["x"], content={"text": "hi"})
    error = caught.value
    assert (error.code, error.message, error.retry_after) == (code, message, 120.0)
    assert str(error) == (
        f"[429{f' {code}' if code else ''}] {message} (retry after 120 s) (request id: req_flat)"
    )
    assert len(transport.requests) == 1  # over max_retry_after: raised, not slept on
    assert answer.closed


@pytest.mark.anyio
async def test_a_request_id_in_the_body_stands_in_for_the_header() -> None:
    """Without X-Request-Id, the body's request_id is the error's."""
    body = {"error": "invalid_request", "message": "bad", "request_id": "req_body"}
    transport = MockTransport(lambda request: json_answer(body, 400))
    async with client_on(transport) as client:
        with pytest.raises(socialwrite.BadRequestError) as caught:
            await client.write(platforms=["x"], content={"text": "hi"})
    assert caught.value.request_id == "req_body"


@pytest.mark.anyio
async def test_a_huge_html_500_is_an_internal_server_error_and_is_retried() -> None:
    """A 2 MiB error page gives InternalServerError from its heading, retried like any 5xx."""
    served = 0

    def chunks() -> Iterator[bytes]:
        nonlocal served
        for chunk in huge_html():
            served += len(chunk)
            yield chunk

    transport = MockTransport(
        lambda request: MockResponse(
            status_code=500, headers={"Content-Type": "text/html"}, body=chunks()
        )
    )
    async with client_on(transport) as client:
        with pytest.raises(socialwrite.InternalServerError) as caught:
            await client.write(platforms=["x"], content={"text": "hi"})
    assert str(caught.value) == "[500] Internal Server Error Try again later."
    assert caught.value.idempotency_key is not None
    assert len(transport.requests) == 3
    assert len({r.headers["Idempotency-Key"] for r in transport.requests}) == 1
    # Each attempt read about MAX_ERROR_BODY, not the whole page.
    assert served <= 3 * (socialwrite._requester.MAX_ERROR_BODY + (64 << 10))
    assert all(r.closed for r in transport.responses)


@pytest.mark.anyio
async def test_a_cut_error_body_leaves_no_piece_of_the_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where the cap cuts an echoed key in two, its first half does not reach the message."""
    monkeypatch.setattr(socialwrite._requester, "MAX_ERROR_BODY", 40)
    page = b"<p>" + b"a" * 20 + KEY.encode() + b"</p>"
    transport = MockTransport(lambda request: MockResponse(status_code=400, body=page))
    async with client_on(transport) as client:
        with pytest.raises(socialwrite.BadRequestError) as caught:
            await client.write(platforms=["x"], content={"text": "hi"})
    assert caught.value.message == "a" * 20
    assert KEY[:4] not in str(caught.value)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", json.dumps(RESULTS).encode()),
        ("text/event-stream", f"event: done\ndata: {json.dumps(RESULTS)}\n\n".encode()),
        ("text/html", b"<a href='https://login.example.com/'>Moved</a>"),
    ],
)
async def test_a_redirect_is_never_a_success_whatever_its_body(
    content_type: str, body: bytes
) -> None:
    """A 302 carrying results is an APIStatusError naming where it pointed; not retried."""
    transport = MockTransport(
        lambda request: MockResponse(
            status_code=302,
            headers={
                "Content-Type": content_type,
                "Location": "https://login.example.com/sso?next=%2Fv1",
                "X-Request-Id": "req_302",
            },
            body=body,
        )
    )
    async with client_on(transport) as client:
        with pytest.raises(socialwrite.APIStatusError) as caught:
            await client.write(platforms=["x"], content={"text": "hi"})
    error = caught.value
    assert type(error) is socialwrite.APIStatusError
    assert error.status_code == 302
    assert error.request_id == "req_302"
    assert error.message == (
        "the server answered 302 Found, a redirect to https://login.example.com/sso, which "
        "the SDK does not follow (the API key must not travel); check base_url"
    )
    assert len(transport.requests) == 1


@pytest.mark.anyio
async def test_402_is_insufficient_credits_and_never_retried() -> None:
    """Out of credits: InsufficientCreditsError at once, whatever the retry budget."""
    body = {"error": "insufficient_credits", "message": "You have 0 credits left"}
    transport = MockTransport(lambda request: json_answer(body, 402))
    async with client_on(transport, max_retries=5) as client:
        with pytest.raises(socialwrite.InsufficientCreditsError) as caught:
            await client.write(platforms=["x"], content={"text": "hi"})
    assert str(caught.value) == "[402 insufficient_credits] You have 0 credits left"
    assert len(transport.requests) == 1


def test_the_policy_never_retries_402_or_a_redirect() -> None:
    """The pure policy: 402 and every 3xx are final, 5xx and 429 are not."""
    policy = PurePolicy(max_retries=5)
    for status in (402, 301, 302, 303, 307, 308):
        decision = policy.decide(attempt=0, status=status)
        assert not decision.retry, status
    assert policy.decide(attempt=0, status=500).retry
    assert policy.decide(attempt=0, status=429).retry


# -- uploads, in memory ----------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("status", [404, 405])
async def test_a_server_without_uploads_says_to_pass_urls_and_publishes_nothing(
    tmp_path: Path, status: int
) -> None:
    """A 404 on the create is a MediaUploadError whose cause is the status error; no write."""
    path = png(tmp_path)
    transport = MockTransport(lambda request: json_answer({"detail": "Not Found"}, status))
    async with client_on(transport) as client:
        with pytest.raises(socialwrite.MediaUploadError) as caught:
            await client.write(platforms=["x"], content={"text": "hi", "media": path})
    error = caught.value
    assert isinstance(error.__cause__, socialwrite.APIStatusError)
    assert error.__cause__.status_code == status
    assert error.cause is error.__cause__
    if status == 404:
        assert isinstance(error.__cause__, socialwrite.NotFoundError)
    assert error.source == path
    assert (
        f"the server at {API} does not accept uploads (POST /v1/media/uploads answered {status})"
        in str(error)
    )
    assert "pass media as http(s) URLs" in str(error)
    assert "nothing was published" in str(error)
    assert [(r.method, r.url) for r in transport.requests] == [("POST", API + UPLOADS)]


@pytest.mark.anyio
@pytest.mark.parametrize("call", ["create", "put", "complete"])
async def test_a_redirect_on_an_upload_call_is_an_error_not_followed(
    tmp_path: Path, call: str
) -> None:
    """Each upload call's 3xx fails the upload (naming the redirect), with nothing published."""
    path = png(tmp_path)
    moved = MockResponse(status_code=307, headers={"Location": "https://elsewhere.example/"})

    def handler(request: Request) -> MockResponse:
        if request.method == "POST" and request.url.endswith(UPLOADS):
            if call == "create":
                return moved
            created = {"id": "med_1", "status": "pending", "offset": 0, "size": len(PNG)}
            return json_answer({**created, "upload_url": API + "/up/med_1"}, 201)
        if request.method == "PUT":
            done = {"id": "med_1", "offset": len(PNG), "status": "received"}
            return moved if call == "put" else json_answer(done, 200)
        return moved  # the complete

    transport = MockTransport(handler)
    async with client_on(transport) as client:
        with pytest.raises(socialwrite.MediaUploadError) as caught:
            await client.write(platforms=["x"], content={"text": "hi", "media": path})
    cause = caught.value.__cause__
    assert isinstance(cause, socialwrite.APIStatusError)
    assert cause.status_code == 307
    assert "a redirect to https://elsewhere.example/" in str(caught.value)
    assert not any(r.url.endswith(WRITE) for r in transport.requests)
    assert len(transport.requests) == {"create": 1, "put": 2, "complete": 3}[call]


# -- over real sockets, every loop and transport -----------------------------------------------


@pytest.mark.anyio
async def test_a_real_redirect_is_not_followed() -> None:
    """The server's 302 (to a path of its own that would succeed) is an error; one request."""
    answers = {
        ("POST", WRITE): Answer(
            302, {"Location": "/v2/social/write", "Content-Type": "application/json"}
        ),
        ("POST", "/v2/social/write"): Answer(
            200, {"Content-Type": "application/json"}, json.dumps(RESULTS).encode()
        ),
    }
    with vendor_server(answers) as server:
        async with AsyncClient(KEY, base_url=server.base_url, max_retries=0) as client:
            with pytest.raises(socialwrite.APIStatusError) as caught:
                await client.write(platforms=["x"], content={"text": "hi"})
    assert caught.value.status_code == 302
    assert f"a redirect to {server.base_url}/v2/social/write" in str(caught.value)
    assert server.paths() == [f"POST {WRITE}"]


@pytest.mark.anyio
async def test_a_real_proxy_page_is_short_and_retried() -> None:
    """A load balancer's 502 page: the heading, no markup; retried, then raised."""
    answers = {
        ("POST", WRITE): Answer(502, {"Content-Type": "text/html", "Retry-After": "0"}, HTML_502)
    }
    with vendor_server(answers) as server:
        async with AsyncClient(KEY, base_url=server.base_url, max_retries=2) as client:
            with pytest.raises(socialwrite.InternalServerError) as caught:
                await client.write(platforms=["x"], content={"text": "hi"})
    assert str(caught.value) == "[502] 502 Bad Gateway nginx"
    assert len(server.received) == 3


@pytest.mark.anyio
async def test_a_real_huge_error_page_is_an_internal_server_error() -> None:
    """2 MiB of HTML over a socket: InternalServerError, each attempt cut short."""
    answers = {
        ("POST", WRITE): Answer(500, {"Content-Type": "text/html", "Retry-After": "0"}, huge_html)
    }
    with vendor_server(answers) as server:
        async with AsyncClient(KEY, base_url=server.base_url, max_retries=1) as client:
            with pytest.raises(socialwrite.InternalServerError) as caught:
                await client.write(platforms=["x"], content={"text": "hi"})
    assert caught.value.message == "Internal Server Error Try again later."
    assert len(server.received) == 2


@pytest.mark.anyio
async def test_a_real_server_without_uploads(tmp_path: Path) -> None:
    """FastAPI's 404 on the create: MediaUploadError, and the write is never sent."""
    with vendor_server({}) as server:
        async with AsyncClient(KEY, base_url=server.base_url) as client:
            with pytest.raises(socialwrite.MediaUploadError, match="does not accept uploads"):
                await client.write(platforms=["x"], content={"text": "hi", "media": png(tmp_path)})
    assert server.paths() == [f"POST {UPLOADS}"]


# -- the command line --------------------------------------------------------------------------


def post(base_url: str, *args: str) -> Result:
    """``socialwrite post`` to ``base_url``, in-process."""
    argv = ["post", "--base-url", base_url, "--api-key", KEY, "-p", "x", *args]
    return CliRunner().invoke(command_line, argv, env={"SOCIALWRITE_API_KEY": None})


def test_cli_says_plainly_when_the_account_is_out_of_credits() -> None:
    """A 402: exit 1 and one line saying the account is out of credits."""
    body = json.dumps({"error": "insufficient_credits", "message": "0 credits left"}).encode()
    answers = {("POST", WRITE): Answer(402, {"Content-Type": "application/json"}, body)}
    with vendor_server(answers) as server:
        result = post(server.base_url, "--text", "hi")
    assert result.exit_code == 1
    assert result.stderr == (
        "error: the account is out of credits, so nothing was published: add credits, then "
        "post again (InsufficientCreditsError: [402 insufficient_credits] 0 credits left)\n"
    )
    assert len(server.received) == 1


def test_cli_says_out_of_credits_when_an_upload_meets_402(tmp_path: Path) -> None:
    """A 402 on the upload's create reads the same."""
    body = json.dumps({"error": {"code": "insufficient_credits", "message": "none"}}).encode()
    answers = {("POST", UPLOADS): Answer(402, {"Content-Type": "application/json"}, body)}
    with vendor_server(answers) as server:
        result = post(server.base_url, "--text", "hi", "--media", png(tmp_path))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: the account is out of credits")


def test_cli_shows_retry_after() -> None:
    """A 429 with Retry-After: 120 says how long to wait."""
    body = json.dumps({"error": "rate_limited", "message": "Too many requests"}).encode()
    headers = {"Content-Type": "application/json", "Retry-After": "120"}
    with vendor_server({("POST", WRITE): Answer(429, headers, body)}) as server:
        result = post(server.base_url, "--text", "hi")
    assert result.exit_code == 1
    assert result.stderr == (
        "error: RateLimitError: [429 rate_limited] Too many requests (retry after 120 s)\n"
    )


def test_cli_names_a_redirect_and_prints_no_escape_sequence() -> None:
    """A 302 is named with its target; a hostile page's escapes never reach the terminal."""
    headers = {"Location": "https://login.example.com/\x1b[2J"}
    with vendor_server({("POST", WRITE): Answer(302, headers)}) as server:
        result = post(server.base_url, "--text", "hi")
    assert result.exit_code == 1
    assert "302 Found, a redirect to https://login.example.com/" in result.stderr
    assert "\x1b" not in result.stderr
    page = b"<h1>\x1b]0;pwned\x07Oops\x1b[31m</h1>"
    answers = {("POST", WRITE): Answer(500, {"Content-Type": "text/html"}, page)}
    with vendor_server(answers) as server:
        result = post(server.base_url, "--text", "hi")
    assert result.stderr == "error: InternalServerError: [500] Oops\n"
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", result.stderr)


def test_cli_says_to_pass_urls_when_the_server_takes_no_uploads(tmp_path: Path) -> None:
    """No upload endpoint: exit 1, saying to give the media as URLs."""
    with vendor_server({}) as server:
        result = post(server.base_url, "--text", "hi", "--media", png(tmp_path))
    assert result.exit_code == 1
    assert "does not accept uploads" in result.stderr
    assert "pass media as http(s) URLs" in result.stderr
    assert server.paths() == [f"POST {UPLOADS}"]
