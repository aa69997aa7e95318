"""GET and DELETE /v1/sandbox/published, and the app factory with aiohttp's test tools."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from socialwrite.platforms import format_text
from socialwrite.sandbox import SandboxConfig, make_app, state_of

from ._support import AUTH, MEDIA_URL, PUBLISHED, RFC3339_UTC, SEED_BODY, WRITE, serve

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """Serve on the test's own loop, which aiohttp needs to be asyncio."""
    return "asyncio"


async def test_listing_shows_each_published_post() -> None:
    """The listing has every post with its formatted text, media, options, key and time."""
    text = "long " * 80
    body = {
        "platforms": ["x", "instagram", "tiktok"],
        "content": {"text": text, "media": [MEDIA_URL], "alt_text": ["chart"]},
        "options": {"instagram": {"first_comment": "#stocks"}},
    }
    config = SandboxConfig(not_connected=frozenset({"tiktok"}))
    async with serve(config) as (sandbox, http):
        async with http.post(WRITE, json=body, headers={"Idempotency-Key": "listed"}) as response:
            results = (await response.json())["results"]
        async with http.post(WRITE, json=body, headers={"Idempotency-Key": "listed"}):
            pass
        async with http.get(PUBLISHED) as response:
            assert response.status == 200
            listing = await response.json()
        assert listing["posts"] == [post.to_json() for post in sandbox.published()]
    assert listing["writes_received"] == 2
    assert listing["writes_executed"] == 1
    assert listing["writes_replayed"] == 1
    assert listing["publishes"] == 2
    posts = {post["platform"]: post for post in listing["posts"]}
    assert set(posts) == {"x", "instagram"}
    for result in results[:2]:
        post = posts[result["platform"]]
        assert set(post) == {
            "platform",
            "post_id",
            "url",
            "text",
            "media",
            "alt_text",
            "options",
            "idempotency_key",
            "published_at",
        }
        assert (post["post_id"], post["url"]) == (result["post_id"], result["url"])
        assert post["text"] == format_text(result["platform"], text)
        assert post["media"] == [MEDIA_URL]
        assert post["alt_text"] == ["chart"]
        assert post["idempotency_key"] == "listed"
        assert RFC3339_UTC.fullmatch(post["published_at"])
    assert posts["instagram"]["options"] == {"first_comment": "#stocks"}
    assert posts["x"]["options"] == {}


async def test_delete_clears_posts_and_counters() -> None:
    """DELETE answers 204 and empties the listing and the counters."""
    async with serve() as (sandbox, http):
        async with http.post(WRITE, json=SEED_BODY):
            pass
        async with http.delete(PUBLISHED) as response:
            assert response.status == 204
            assert response.headers["X-Request-Id"]
        async with http.get(PUBLISHED) as response:
            listing = await response.json()
        assert listing == {
            "posts": [],
            "writes_received": 0,
            "writes_executed": 0,
            "writes_replayed": 0,
            "publishes": 0,
            "write_connections": 0,
        }
        assert sandbox.published() == []


async def test_make_app_works_with_aiohttp_test_tools() -> None:
    """make_app's application runs under aiohttp's TestServer; state_of reads its posts."""
    app = make_app(SandboxConfig(api_key="other-key"))
    async with TestClient(TestServer(app)) as client:
        response = await client.post(WRITE, json=SEED_BODY, headers=AUTH)
        assert response.status == 401
        headers = {"Authorization": "Bearer other-key"}
        response = await client.post(WRITE, json=SEED_BODY, headers=headers)
        assert response.status == 200
        assert sorted(post.platform for post in state_of(app).published()) == ["instagram", "x"]
