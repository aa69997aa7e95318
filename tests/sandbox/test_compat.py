"""The vendor-compatible mode, credits and proxies' HTML pages, over loopback with plain HTTP.

``SandboxConfig(compat=True)`` answers the way real vendors do (protocol.md
allows each of it): JSON only, results in another order, numeric post ids,
flat error bodies, no upload endpoint. ``credits`` gives the account a
balance that runs out with ``402``; ``Faults.html_errors`` has a proxy answer
the 5xx faults with an HTML page.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from click.testing import CliRunner, Result

from socialwrite.cli import _sandbox
from socialwrite.cli._app import cli as command_line
from socialwrite.cli._serve import describe_config, describe_faults
from socialwrite.sandbox import Faults, Sandbox, SandboxConfig
from socialwrite.sandbox._credits import CreditBalance
from socialwrite.sandbox._protocol import ProtocolError

from ._support import AUTH, SEED_BODY, STREAM, WRITE, error_of, serve

pytestmark = pytest.mark.anyio

COMPAT = SandboxConfig(compat=True)
UPLOADS = "/v1/media/uploads"
THREE = {"platforms": ["x", "linkedin", "mastodon"], "content": {"text": "Hello"}}
UPLOAD_BODY = {"filename": "a.png", "content_type": "image/png", "size": 3, "sha256": "0" * 64}


@pytest.fixture
def anyio_backend() -> str:
    """Serve on the test's own loop, which aiohttp needs to be asyncio."""
    return "asyncio"


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[Sandbox]:
    """Record the sandbox each ``socialwrite sandbox`` would serve, instead of serving it."""
    sandboxes: list[Sandbox] = []

    async def serve_once(sandbox: Sandbox) -> None:
        sandboxes.append(sandbox)

    monkeypatch.setattr(_sandbox, "serve", serve_once)
    return sandboxes


def run(*args: str) -> Result:
    """Run ``socialwrite ARGS`` in-process."""
    return CliRunner().invoke(command_line, list(args))


def flat_error(body: Any) -> tuple[str, str]:
    """Return ``(code, message)`` of a flat error body, checking it has just those two fields."""
    assert set(body) == {"error", "message"}
    assert isinstance(body["error"], str)
    assert isinstance(body["message"], str)
    assert body["message"]
    return body["error"], body["message"]


# -- the answer's shape -------------------------------------------------------------------------


async def test_compat_answers_json_to_a_stream_request_with_results_reordered() -> None:
    """JSON whatever Accept says; results reversed; digit post ids as numbers, others strings."""
    async with serve(COMPAT) as (sandbox, http):
        async with http.post(WRITE, json=THREE, headers=STREAM) as response:
            assert response.status == 200
            assert response.content_type == "application/json"
            text = await response.text()
        posts = {post.platform: post.post_id for post in sandbox.published()}
    answer = json.loads(text)
    results = answer["results"]
    assert [result["platform"] for result in results] == ["mastodon", "linkedin", "x"]
    assert results[2]["post_id"] == int(posts["x"])
    assert results[0]["post_id"] == int(posts["mastodon"])
    assert results[1]["post_id"] == posts["linkedin"]  # urn:li:share:..., no number
    assert f'"post_id": {posts["x"]},' in text  # exact digits, not a float
    assert '"credits_used": 0.0225' in text


async def test_the_normal_mode_answers_in_request_order_with_string_ids() -> None:
    """The same write without compat: protocol.md's answer."""
    async with serve() as (_, http), http.post(WRITE, json=THREE) as response:
        results = (await response.json())["results"]
    assert [result["platform"] for result in results] == ["x", "linkedin", "mastodon"]
    assert all(isinstance(result["post_id"], str) for result in results)


async def test_compat_replays_the_same_answer() -> None:
    """Idempotency works as usual: the same key and body get the same JSON, published once."""
    headers = {"Idempotency-Key": "compat-1", **STREAM}
    async with serve(COMPAT) as (sandbox, http):
        async with http.post(WRITE, json=THREE, headers=headers) as first:
            first_text = await first.text()
        async with http.post(WRITE, json=THREE, headers=headers) as again:
            assert again.headers["Idempotent-Replayed"] == "true"
            assert await again.text() == first_text
        assert sandbox.stats.publishes_for("compat-1") == 3


# -- flat errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        ({"platforms": ["x", "x"], "content": {"text": "hi"}}, {}, 400, "duplicate_platform"),
        ({"platforms": ["x"]}, {}, 400, "parameter_missing"),
        (SEED_BODY, {"Authorization": "Bearer nope"}, 401, "invalid_api_key"),
    ],
)
async def test_compat_errors_are_flat(
    body: dict[str, Any], headers: dict[str, str], status: int, code: str
) -> None:
    """Validation and authentication errors: ``{"error": code, "message": ...}``."""
    async with (
        serve(COMPAT) as (_, http),
        http.post(WRITE, json=body, headers=headers) as response,
    ):
        assert response.status == status
        assert response.content_type == "application/json"
        assert "X-Request-Id" in response.headers
        assert flat_error(await response.json())[0] == code


async def test_compat_key_reuse_is_a_flat_422() -> None:
    """Same key, another body: 422 idempotency_key_reused, flat."""
    headers = {"Idempotency-Key": "k"}
    async with serve(COMPAT) as (_, http):
        async with http.post(WRITE, json=SEED_BODY, headers=headers):
            pass
        async with http.post(WRITE, json=THREE, headers=headers) as response:
            assert response.status == 422
            assert flat_error(await response.json())[0] == "idempotency_key_reused"


async def test_compat_has_no_upload_endpoint() -> None:
    """POST /v1/media/uploads is a flat 404, like any path the service does not have."""
    async with (
        serve(COMPAT) as (_, http),
        http.post(UPLOADS, json=UPLOAD_BODY, headers=AUTH) as response,
    ):
        assert response.status == 404
        code, message = flat_error(await response.json())
    assert (code, message) == ("not_found", f"nothing at {UPLOADS}")


async def test_the_normal_mode_has_uploads_and_nested_errors() -> None:
    """Without compat the create works and errors keep protocol.md's shape."""
    async with serve() as (_, http):
        async with http.post(UPLOADS, json=UPLOAD_BODY) as response:
            assert response.status == 201
        async with http.post(WRITE, json={"platforms": ["x"]}) as response:
            assert error_of(await response.json())[1] == "parameter_missing"


# -- credits -------------------------------------------------------------------------------------


async def test_credits_run_out_with_402_and_replays_stay_free() -> None:
    """0.015 credits: a two-platform write spends them; the next write is 402, a replay is not."""
    async with serve(SandboxConfig(credits="0.015")) as (sandbox, http):
        async with http.post(WRITE, json=SEED_BODY, headers={"Idempotency-Key": "a"}) as first:
            assert first.status == 200
        assert sandbox.credits_left == 0
        body = {"platforms": ["x"], "content": {"text": "one more"}}
        async with http.post(WRITE, json=body, headers={"Idempotency-Key": "b"}) as refused:
            assert refused.status == 402
            assert "Retry-After" not in refused.headers
            error = await refused.json()
        async with http.post(WRITE, json=SEED_BODY, headers={"Idempotency-Key": "a"}) as replay:
            assert replay.status == 200
            assert replay.headers["Idempotent-Replayed"] == "true"
        stats = sandbox.stats
        posts = len(sandbox.published())
    assert error_of(error) == ("billing_error", "insufficient_credits", None)
    assert error["error"]["message"].startswith("the account has 0 credits left, and this ")
    assert "sandbox" not in error["error"]["message"]  # the default API key: clients redact it
    assert (stats.writes_executed, posts) == (1, 2)


async def test_a_write_refused_for_credits_leaves_its_key_unused() -> None:
    """Nothing is recorded under the key of a 402: the same key may carry another body later."""
    body = {"platforms": ["x", "bluesky"], "content": {"text": "two"}}
    other = {"platforms": ["x"], "content": {"text": "one"}}
    headers = {"Idempotency-Key": "k"}
    async with serve(SandboxConfig(credits="0.0075")) as (sandbox, http):
        async with http.post(WRITE, json=body, headers=headers) as refused:
            assert refused.status == 402
        async with http.post(WRITE, json=other, headers=headers) as response:
            assert response.status == 200
            assert "Idempotent-Replayed" not in response.headers
        assert sandbox.credits_left == 0


async def test_failed_platforms_cost_nothing() -> None:
    """What a write set aside for platforms that failed comes back when it ends."""
    body = {"platforms": ["x", "reddit"], "content": {"text": "hi"}}
    config = SandboxConfig(credits="0.015", not_connected={"reddit"})
    async with serve(config) as (sandbox, http):
        async with http.post(WRITE, json=body) as response:
            assert (await response.json())["credits_used"] == 0.0075
        assert sandbox.credits_left == Decimal("0.0075")
        async with http.post(WRITE, json={**body, "platforms": ["x"]}) as response:
            assert response.status == 200
        assert sandbox.credits_left == 0


async def test_compat_402_is_flat() -> None:
    """Out of credits in the vendor-compatible mode: ``{"error": "insufficient_credits"}``."""
    async with (
        serve(SandboxConfig(compat=True, credits=0)) as (sandbox, http),
        http.post(WRITE, json=SEED_BODY) as response,
    ):
        assert response.status == 402
        assert flat_error(await response.json())[0] == "insufficient_credits"
        assert sandbox.published() == []


def test_the_balance_sets_aside_the_most_a_write_may_cost() -> None:
    """reserve() takes every platform's price at once; settle() gives back the unspent part."""
    balance = CreditBalance(Decimal("0.02"))
    reserved = balance.reserve(2)
    assert (reserved, balance.left) == (Decimal("0.015"), Decimal("0.005"))
    with pytest.raises(ProtocolError) as refused:
        balance.reserve(1)
    assert (refused.value.status, refused.value.code) == (402, "insufficient_credits")
    balance.settle(reserved, Decimal("0.0075"))
    assert balance.left == Decimal("0.0125")
    unlimited = CreditBalance(None)
    assert unlimited.reserve(20) == 0
    assert unlimited.left is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("0.015", Decimal("0.015")), (0.03, Decimal("0.03")), (2, Decimal(2))],
)
def test_config_credits_are_decimals(value: Any, expected: Decimal | None) -> None:
    """A float is taken by its shortest text, so 0.03 is exactly 0.03."""
    assert SandboxConfig(credits=value).credits == expected


@pytest.mark.parametrize("value", ["-1", "NaN", "Infinity", "lots", True])
def test_config_refuses_credits_that_are_not_a_balance(value: Any) -> None:
    """Negative, not finite, not a number: refused when the config is made."""
    with pytest.raises((ValueError, TypeError)):
        SandboxConfig(credits=value)


# -- a proxy's HTML pages ------------------------------------------------------------------------


@pytest.mark.parametrize("config", [SandboxConfig(), COMPAT], ids=["normal", "compat"])
async def test_html_errors_answer_5xx_faults_with_a_proxy_page(config: SandboxConfig) -> None:
    """fail_writes with html_errors: an nginx-like HTML 502, nothing recorded; the retry runs."""
    faults = Faults(fail_writes=1, fail_status=502, html_errors=True)
    headers = {"Idempotency-Key": "k"}
    async with serve(config) as (sandbox, http):
        sandbox.set_faults(faults)
        async with http.post(WRITE, json=SEED_BODY, headers=headers) as response:
            assert response.status == 502
            assert response.content_type == "text/html"
            page = await response.text()
        async with http.post(WRITE, json=SEED_BODY, headers=headers) as response:
            assert response.status == 200
            assert "Idempotent-Replayed" not in response.headers
        assert sandbox.faults_injected["server_error"] == 1
        assert sandbox.stats.publishes_for("k") == 2
    assert "<h1>502 Bad Gateway</h1>" in page
    assert "<title>502 Bad Gateway</title>" in page


async def test_random_server_errors_come_as_pages_too_but_429_stays_json() -> None:
    """The mix's server errors are pages; a rate limit is still the service's own JSON."""
    async with serve() as (sandbox, http):
        sandbox.set_faults(Faults(chaos={"server_error": 1.0}, html_errors=True))
        async with http.post(WRITE, json=SEED_BODY) as response:
            assert (response.status, response.content_type) == (503, "text/html")
            assert "<h1>503 Service Unavailable</h1>" in await response.text()
        sandbox.set_faults(Faults(fail_writes=1, fail_status=429, retry_after=3, html_errors=True))
        async with http.post(WRITE, json=SEED_BODY) as response:
            assert (response.status, response.content_type) == (429, "application/json")
            assert response.headers["Retry-After"] == "3"
            assert error_of(await response.json())[1] == "rate_limited"


async def test_compat_server_errors_without_pages_are_flat() -> None:
    """Without html_errors, a compat 503 fault is a flat JSON error."""
    async with serve(SandboxConfig(compat=True, faults=Faults(fail_writes=1))) as (_, http):
        async with http.post(WRITE, json=SEED_BODY) as response:
            assert response.status == 503
            assert flat_error(await response.json())[0] == "service_unavailable"


async def test_the_faults_endpoint_shows_html_errors() -> None:
    """GET /v1/sandbox/faults lists the setting with the others."""
    config = SandboxConfig(faults=Faults(fail_writes=1, html_errors=True))
    async with serve(config) as (_, http), http.get("/v1/sandbox/faults") as response:
        assert (await response.json())["faults"]["html_errors"] is True


# -- the command line ----------------------------------------------------------------------------


def test_cli_compat_credits_and_html_errors(started: list[Sandbox]) -> None:
    """--compat, --credits and --html-errors land in the sandbox's config."""
    result = run("sandbox", "--compat", "--credits", "0.03", "--fail-writes=1:502", "--html-errors")
    assert result.exit_code == 0, result.output
    (sandbox,) = started
    assert sandbox.config.compat
    assert sandbox.config.credits == Decimal("0.03")
    assert sandbox.faults.html_errors
    assert sandbox.faults.fail_status == 502


def test_cli_defaults_are_the_protocol_and_unlimited_credits(started: list[Sandbox]) -> None:
    """Without the options: the protocol's shapes, no balance, JSON errors."""
    result = run("sandbox")
    assert result.exit_code == 0, result.output
    (sandbox,) = started
    assert not sandbox.config.compat
    assert sandbox.config.credits is None
    assert not sandbox.faults.html_errors


@pytest.mark.parametrize("value", ["-0.5", "lots", "nan"])
def test_cli_refuses_a_bad_balance(started: list[Sandbox], value: str) -> None:
    """A --credits that is not a number of 0 or more is a usage error; nothing is served."""
    result = run("sandbox", "--credits", value)
    assert result.exit_code == 2
    assert "not a number of credits" in result.stderr
    assert started == []


def test_the_banner_says_the_mode_and_the_credits() -> None:
    """The lines the banner adds for --compat, --credits and --html-errors."""
    config = SandboxConfig(compat=True, credits="0.015")
    assert describe_config(config) == [
        "vendor-compatible (--compat): JSON only, results reordered, numeric post ids, "
        "flat errors, no uploads",
        "credits: 0.015",
    ]
    assert describe_config(SandboxConfig()) == []
    faults = Faults(fail_writes=1, html_errors=True)
    assert describe_faults(faults)[-1] == "5xx answers are a proxy's HTML page"
    assert describe_faults(Faults(html_errors=True)) == []
