"""The SDK end to end against two servers: the sandbox, and the sandbox answering like a vendor.

Each test runs against ``server_kind`` "sandbox" (protocol.md's server) and
"compat" (``SandboxConfig(compat=True)``: JSON only, results in another order
than the platforms, numeric post ids, flat error bodies, no upload endpoint),
on asyncio with aiohttp, on trio with httpx2 and on asyncio with httpx2, over
real loopback sockets. What the SDK gives back must be the same, whichever
shape the server chose; only what the vendor cannot do (uploads) differs.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

import socialwrite
from socialwrite.sandbox import Faults, Sandbox

from ._servers import BodyRewriter, ServerKind, client_for

pytestmark = pytest.mark.anyio

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
MEDIA_URL = "https://images.example.com/chart.jpg"


def post_ids(sandbox: Sandbox) -> dict[str, str]:
    """The post id of each platform published, as the server recorded it."""
    return {post.platform: post.post_id for post in sandbox.published()}


# -- writes that succeed -------------------------------------------------------------------------


async def test_an_awaited_write_reads_every_result(api_server: Sandbox) -> None:
    """Results matched by platform, post ids as strings, credits exact, published once."""
    async with client_for(api_server) as client:
        result = await client.write(
            platforms=["x", "mastodon", "linkedin"], content={"text": "Markets today"}
        )
    assert result.ok
    assert {r.platform for r in result.results} == {"x", "mastodon", "linkedin"}
    assert {platform: result[platform].post_id for platform in post_ids(api_server)} == post_ids(
        api_server
    )
    assert result["x"].url is not None
    assert result["x"].url.startswith("https://x.com/")
    assert result.credits_used == Decimal("0.0225")
    assert api_server.stats.publishes_for(result.idempotency_key) == 3


async def test_a_streamed_write_yields_each_platform_once(api_server: Sandbox) -> None:
    """Streamed: one result per platform (as events, or from the JSON answer), then the total."""
    async with (
        client_for(api_server) as client,
        client.write(
            platforms=["instagram", "x"], content={"text": "hi", "media": MEDIA_URL}
        ) as stream,
    ):
        results = [result async for result in stream]
    assert sorted(r.platform for r in results) == ["instagram", "x"]
    assert all(r.success for r in results)
    assert {r.platform: r.post_id for r in results} == post_ids(api_server)
    assert stream.result.credits_used == Decimal("0.015")
    assert api_server.stats.writes_received == 1


async def test_failed_platforms_are_results_not_errors(server_kind: ServerKind) -> None:
    """A platform not connected, one needing media: failed results in either shape."""
    with server_kind.serve(not_connected={"reddit"}) as sandbox:
        async with client_for(sandbox) as client:
            result = await client.write(
                platforms=["instagram", "x", "reddit"], content={"text": "text only"}
            )
    assert result["x"].success
    assert result["instagram"].error_code == "media_required"
    assert result["reddit"].error_code == "platform_not_connected"
    assert result.credits_used == Decimal("0.0075")


# -- retries -------------------------------------------------------------------------------------


@pytest.mark.parametrize("html", [False, True], ids=["json-503", "html-503"])
async def test_a_503_is_retried_with_the_same_key(server_kind: ServerKind, html: bool) -> None:
    """A 503 (the service's JSON, or a proxy's HTML page) is retried; the post goes out once."""
    with server_kind.serve(faults=Faults(fail_writes=1, html_errors=html)) as sandbox:
        async with client_for(sandbox) as client:
            result = await client.write(platforms=["bluesky"], content={"text": "again"})
        assert result.ok
        assert sandbox.faults_injected["server_error"] == 1
        assert sandbox.stats.writes_received == 2
        assert sandbox.stats.publishes_for(result.idempotency_key) == 1


async def test_a_dropped_answer_is_retried_and_replayed(server_kind: ServerKind) -> None:
    """Published, then the connection dies: the retry gets the replay; nothing twice."""
    faults = Faults(drop_after_publish=1, drop_after_events=1)
    with server_kind.serve(faults=faults) as sandbox:
        async with client_for(sandbox) as client:
            result = await client.write(platforms=["bluesky"], content={"text": "once"})
        assert result.ok
        assert sandbox.faults_injected["drop_after_publish"] == 1
        assert sandbox.stats.writes_executed == 1
        assert sandbox.stats.publishes_for(result.idempotency_key) == 1


async def test_a_429_with_retry_after_is_waited_for(server_kind: ServerKind) -> None:
    """Retry-After: 0 is retried at once, with the same key."""
    faults = Faults(fail_writes=1, fail_status=429, retry_after=0)
    with server_kind.serve(faults=faults) as sandbox:
        async with client_for(sandbox) as client:
            result = await client.write(platforms=["bluesky"], content={"text": "later"})
        assert result.ok
        assert sandbox.faults_injected["rate_limited"] == 1
        assert sandbox.stats.publishes_for(result.idempotency_key) == 1


async def test_a_429_asking_too_long_a_wait_is_raised(server_kind: ServerKind) -> None:
    """Retry-After: 30, over the policy's cap: RateLimitError at once, with its code and wait."""
    faults = Faults(fail_writes=1, fail_status=429, retry_after=30)
    with server_kind.serve(faults=faults) as sandbox:
        async with client_for(sandbox) as client:
            with pytest.raises(socialwrite.RateLimitError) as caught:
                await client.write(platforms=["x"], content={"text": "later"})
        assert sandbox.stats.writes_received == 1
    error = caught.value
    assert (error.status_code, error.code, error.retry_after) == (429, "rate_limited", 30.0)
    assert error.message.startswith("too many requests")
    assert error.request_id


# -- errors that are final -----------------------------------------------------------------------


async def test_a_validation_400_names_its_code(
    api_server: Sandbox, server_kind: ServerKind
) -> None:
    """A body the server refuses: BadRequestError with its code and message; not retried."""
    transport = BodyRewriter()
    try:
        async with client_for(api_server, transport=transport) as client:
            with pytest.raises(socialwrite.BadRequestError) as caught:
                await client.write(platforms=["x"], content={"text": "hi"})
    finally:
        await transport.aclose()
    error = caught.value
    assert (error.status_code, error.code) == (400, "duplicate_platform")
    assert error.message == "platform 'x' is listed twice"
    # Only the protocol's nested body names the field.
    assert error.param == (None if server_kind.compat else "platforms[1]")
    assert api_server.stats.writes_received == 1
    assert api_server.published() == []


async def test_a_wrong_api_key_is_an_authentication_error(api_server: Sandbox) -> None:
    """401 with its code, in either shape; the key is not in the error."""
    async with socialwrite.AsyncClient("not-the-key-1234", base_url=api_server.base_url) as client:
        with pytest.raises(socialwrite.AuthenticationError) as caught:
            await client.write(platforms=["x"], content={"text": "hi"})
    assert (caught.value.status_code, caught.value.code) == (401, "invalid_api_key")
    assert "not-the-key-1234" not in str(caught.value)


async def test_out_of_credits_is_402_and_not_retried(server_kind: ServerKind) -> None:
    """One post's worth of credits: the first write succeeds, the second is refused at once."""
    with server_kind.serve(credits="0.0075") as sandbox:
        async with client_for(sandbox) as client:
            first = await client.write(platforms=["bluesky"], content={"text": "one"})
            with pytest.raises(socialwrite.InsufficientCreditsError) as caught:
                await client.write(platforms=["bluesky"], content={"text": "two"})
        assert first.ok
        assert sandbox.stats.writes_received == 2
        assert len(sandbox.published()) == 1
        assert sandbox.credits_left == 0
    error = caught.value
    assert (error.status_code, error.code) == (402, "insufficient_credits")
    assert "credits left" in error.message


async def test_a_local_file_is_uploaded_or_said_to_be_impossible(
    api_server: Sandbox, server_kind: ServerKind, tmp_path: Path
) -> None:
    """The sandbox takes the upload; the vendor has no upload endpoint: a clear MediaUploadError."""
    path = tmp_path / "chart.png"
    path.write_bytes(PNG)
    async with client_for(api_server) as client:
        write = client.write(platforms=["x"], content={"text": "chart", "media": str(path)})
        if not server_kind.compat:
            result = await write
            assert result.ok
            (post,) = api_server.published()
            assert post.media[0].startswith("http://127.0.0.1:")
            return
        with pytest.raises(socialwrite.MediaUploadError) as caught:
            await write
    error = caught.value
    assert f"the server at {api_server.base_url} does not accept uploads" in str(error)
    assert "POST /v1/media/uploads answered 404" in str(error)
    assert isinstance(error.__cause__, socialwrite.NotFoundError)
    assert error.__cause__.code == "not_found"
    assert api_server.stats.writes_received == 0
    assert api_server.published() == []
