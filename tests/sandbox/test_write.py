"""POST /v1/social/write in JSON mode over loopback: auth, validation, results, credits."""

from __future__ import annotations

import io
import json
import re
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from socialwrite.platforms import RULES, format_text
from socialwrite.sandbox import Sandbox, SandboxConfig

from ._support import (
    MEDIA_URL,
    REQUEST_ID,
    RFC3339_UTC,
    SEED_BODY,
    VIDEO_URL,
    WRITE,
    error_of,
    serve,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """Serve on the test's own loop, which aiohttp needs to be asyncio."""
    return "asyncio"


def _urls(count: int) -> list[str]:
    return [f"https://cdn.example.com/{index}.jpg" for index in range(count)]


def _body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"platforms": ["x"], "content": {"text": "hello"}}
    body.update(changes)
    return body


_INVALID_BODIES: list[tuple[str, Any, str, str | None]] = [
    ("platforms missing", {"content": {"text": "hi"}}, "parameter_missing", "platforms"),
    ("platforms null", _body(platforms=None), "parameter_missing", "platforms"),
    ("platforms a bare string", _body(platforms="x"), "invalid_type", "platforms"),
    ("platforms an object", _body(platforms={"x": True}), "invalid_type", "platforms"),
    ("platforms empty", _body(platforms=[]), "platforms_empty", "platforms"),
    (
        "21 platforms",
        _body(platforms=[f"p{index}" for index in range(21)]),
        "too_many_platforms",
        "platforms",
    ),
    ("duplicate platform", _body(platforms=["x", "x"]), "duplicate_platform", "platforms[1]"),
    (
        "duplicate further on",
        _body(platforms=["x", "bluesky", "threads", "bluesky"]),
        "duplicate_platform",
        "platforms[3]",
    ),
    ("uppercase platform", _body(platforms=["x", "X"]), "invalid_platform", "platforms[1]"),
    ("empty platform id", _body(platforms=[""]), "invalid_platform", "platforms[0]"),
    ("platform id with space", _body(platforms=["x y"]), "invalid_platform", "platforms[0]"),
    ("platform not a string", _body(platforms=["x", 3]), "invalid_type", "platforms[1]"),
    ("content missing", {"platforms": ["x"]}, "parameter_missing", "content"),
    ("content a string", _body(content="hello"), "invalid_type", "content"),
    ("content empty", _body(content={}), "content_empty", "content"),
    ("content empty text", _body(content={"text": ""}), "content_empty", "content"),
    ("text not a string", _body(content={"text": 5}), "invalid_type", "content.text"),
    ("media a number", _body(content={"media": 5}), "invalid_type", "content.media"),
    (
        "media item not a string",
        _body(content={"media": [MEDIA_URL, 5]}),
        "invalid_type",
        "content.media[1]",
    ),
    ("11 media", _body(content={"media": _urls(11)}), "too_many_media", "content.media"),
    (
        "media a local path",
        _body(content={"media": [MEDIA_URL, "chart.jpg"]}),
        "invalid_media_url",
        "content.media[1]",
    ),
    (
        "media not http",
        _body(content={"media": "ftp://cdn.example.com/a.jpg"}),
        "invalid_media_url",
        "content.media",
    ),
    (
        "media without host",
        _body(content={"media": ["https:///a.jpg"]}),
        "invalid_media_url",
        "content.media[0]",
    ),
    (
        "alt text list too short",
        _body(content={"media": _urls(2), "alt_text": ["one"]}),
        "alt_text_mismatch",
        "content.alt_text",
    ),
    (
        "alt text a number",
        _body(content={"media": _urls(1), "alt_text": 5}),
        "invalid_type",
        "content.alt_text",
    ),
    (
        "alt text item not a string",
        _body(content={"media": _urls(2), "alt_text": ["a", 5]}),
        "invalid_type",
        "content.alt_text[1]",
    ),
    (
        "alt text without media",
        _body(content={"text": "hi", "alt_text": "a chart"}),
        "alt_text_without_media",
        "content.alt_text",
    ),
    ("options a list", _body(options=["x"]), "invalid_type", "options"),
    (
        "options for a platform not in platforms",
        _body(options={"bluesky": {}}),
        "unknown_option_platform",
        "options.bluesky",
    ),
    ("option value not an object", _body(options={"x": "reply"}), "invalid_type", "options.x"),
    ("body an array", ["x"], "invalid_type", None),
]


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [pytest.param(body, code, param, id=name) for name, body, code, param in _INVALID_BODIES],
)
async def test_invalid_body_is_400_with_code_and_param(
    body: Any, code: str, param: str | None
) -> None:
    """Each invalid body gets 400 with its code and param, and nothing is published."""
    async with serve() as (sandbox, http):
        async with http.post(WRITE, json=body) as response:
            assert response.status == 400
            assert REQUEST_ID.fullmatch(response.headers["X-Request-Id"])
            assert error_of(await response.json()) == ("invalid_request_error", code, param)
        assert sandbox.published() == []
        assert sandbox.stats.writes_executed == 0
        assert sandbox.stats.writes_received == 1


@pytest.mark.parametrize(
    ("raw", "content_type", "code"),
    [
        pytest.param(b"{not json", "application/json", "invalid_json", id="broken JSON"),
        pytest.param(b"", "application/json", "invalid_json", id="empty body"),
        pytest.param(
            b'{"platforms": ["x"], "content": {"text": "hi"}, "n": NaN}',
            "application/json",
            "invalid_json",
            id="NaN",
        ),
        pytest.param(b"\xff\xfe", "application/json", "invalid_json", id="not UTF-8"),
        pytest.param(
            b'{"platforms": ["x"], "content": {"text": "\\ud800"}}',
            "application/json",
            "invalid_json",
            id="unpaired surrogate",
        ),
        pytest.param(
            json.dumps(SEED_BODY).encode(), "text/plain", "invalid_content_type", id="text/plain"
        ),
        pytest.param(
            json.dumps(SEED_BODY).encode(),
            "application/json; charset=latin-1",
            "invalid_content_type",
            id="latin-1",
        ),
        pytest.param(
            json.dumps(SEED_BODY).encode(), None, "invalid_content_type", id="no Content-Type"
        ),
    ],
)
async def test_bad_json_or_content_type_is_400(
    raw: bytes, content_type: str | None, code: str
) -> None:
    """A body that is not UTF-8 JSON, or not sent as application/json, gets 400."""
    headers = {} if content_type is None else {"Content-Type": content_type}
    async with serve() as (sandbox, http):
        async with http.post(WRITE, data=raw, headers=headers) as response:
            assert response.status == 400
            assert error_of(await response.json()) == ("invalid_request_error", code, None)
        assert sandbox.published() == []


async def test_json_with_charset_utf8_is_accepted() -> None:
    """``application/json; charset=utf-8`` is JSON too."""
    async with serve() as (_, http):
        headers = {"Content-Type": "application/json; charset=UTF-8"}
        async with http.post(WRITE, data=json.dumps(SEED_BODY), headers=headers) as response:
            assert response.status == 200


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("", id="empty"),
        pytest.param("k" * 256, id="256 characters"),
        pytest.param("tab\there", id="control character"),
    ],
)
async def test_bad_idempotency_key_is_400(key: str) -> None:
    """An Idempotency-Key that is not 1 to 255 printable ASCII characters gets 400."""
    async with serve() as (sandbox, http):
        async with http.post(WRITE, json=SEED_BODY, headers={"Idempotency-Key": key}) as response:
            assert response.status == 400
            assert error_of(await response.json()) == (
                "invalid_request_error",
                "invalid_idempotency_key",
                "Idempotency-Key",
            )
        assert sandbox.published() == []


async def test_longest_printable_idempotency_key_is_accepted() -> None:
    """A 255-character key of printable ASCII, spaces and symbols included, is fine."""
    key = ("a b~!" * 51)[:255]
    headers = {"Idempotency-Key": key}
    async with serve() as (_, http), http.post(WRITE, json=SEED_BODY, headers=headers) as response:
        assert response.status == 200


async def test_twenty_platforms_and_ten_media_are_accepted() -> None:
    """The limits themselves are allowed: 20 platforms, 10 media."""
    platforms = sorted(RULES) + [f"extra{index}" for index in range(20 - len(RULES))]
    body = {"platforms": platforms, "content": {"text": "hi", "media": _urls(10)}}
    async with serve() as (_, http), http.post(WRITE, json=body) as response:
        assert response.status == 200
        results = (await response.json())["results"]
    assert [result["platform"] for result in results] == platforms


_SECRET = "sk_test_0123456789"


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        pytest.param(None, "missing_api_key", id="missing"),
        pytest.param("", "missing_api_key", id="empty"),
        pytest.param("Bearer wrong", "invalid_api_key", id="wrong key"),
        pytest.param(f"Bearer {_SECRET}x", "invalid_api_key", id="longer key"),
        pytest.param(f"Bearer {_SECRET[:-1]}", "invalid_api_key", id="prefix of the key"),
        pytest.param(f"Basic {_SECRET}", "invalid_api_key", id="other scheme"),
        pytest.param(_SECRET, "invalid_api_key", id="no scheme"),
    ],
)
@pytest.mark.parametrize(("method", "path"), [("POST", WRITE), ("GET", "/v1/sandbox/published")])
async def test_authentication_is_required(
    authorization: str | None, code: str, method: str, path: str
) -> None:
    """Without the configured key an endpoint answers 401 and publishes nothing."""
    headers = {} if authorization is None else {"Authorization": authorization}
    async with (
        Sandbox(SandboxConfig(api_key=_SECRET)) as sandbox,
        aiohttp.ClientSession(base_url=sandbox.base_url) as http,
        http.request(method, path, json=SEED_BODY, headers=headers) as response,
    ):
        assert response.status == 401
        assert REQUEST_ID.fullmatch(response.headers["X-Request-Id"])
        assert "Bearer" in response.headers["WWW-Authenticate"]
        body = await response.json()
        assert error_of(body) == ("authentication_error", code, None)
        assert _SECRET not in json.dumps(body)
        assert sandbox.published() == []
        assert sandbox.stats.writes_received == 0


async def test_bearer_scheme_is_case_insensitive() -> None:
    """``bearer <key>`` authenticates like ``Bearer <key>``."""
    async with (
        Sandbox() as sandbox,
        aiohttp.ClientSession(base_url=sandbox.base_url) as http,
        http.post(WRITE, json=SEED_BODY, headers={"Authorization": "bearer sandbox"}) as response,
    ):
        assert response.status == 200


async def test_seed_example_two_successes_and_exact_credits() -> None:
    """x and instagram with text and a media URL: two successes, credits exactly 0.015."""
    async with serve() as (sandbox, http), http.post(WRITE, json=SEED_BODY) as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        assert REQUEST_ID.fullmatch(response.headers["X-Request-Id"])
        assert "Idempotent-Replayed" not in response.headers
        raw = await response.text()
    assert re.search(r'"credits_used":\s*0\.015\s*[,}]', raw)
    answer = json.loads(raw, parse_float=Decimal)
    assert answer["credits_used"] == Decimal("0.015")
    x, instagram = answer["results"]
    assert x["platform"] == "x"
    assert instagram["platform"] == "instagram"
    for result in (x, instagram):
        assert result["success"] is True
        assert result["error"] is None
        assert RFC3339_UTC.fullmatch(result["published_at"])
    assert re.fullmatch(r"https://x\.com/sandbox/status/\d{19}", x["url"])
    assert x["url"].endswith("/" + x["post_id"])
    assert re.fullmatch(r"https://www\.instagram\.com/p/[A-Za-z0-9_-]{6,}/", instagram["url"])
    posts = sandbox.published()
    assert sorted(post.platform for post in posts) == ["instagram", "x"]
    assert {post.post_id for post in posts} == {x["post_id"], instagram["post_id"]}


async def test_credits_are_exact_for_many_successes() -> None:
    """Seven successes and one failure cost exactly 7 x 0.0075 = 0.0525."""
    platforms = ["x", "bluesky", "threads", "mastodon", "linkedin", "facebook", "reddit", "tiktok"]
    body = {"platforms": platforms, "content": {"text": "text only"}}
    async with serve() as (_, http), http.post(WRITE, json=body) as response:
        raw = await response.text()
    assert re.search(r'"credits_used":\s*0\.0525\s*[,}]', raw)
    assert json.loads(raw, parse_float=Decimal)["credits_used"] == Decimal("0.0525")


async def test_no_success_costs_zero() -> None:
    """A write where every platform failed costs 0."""
    body = {"platforms": ["instagram"], "content": {"text": "no media"}}
    async with serve() as (_, http), http.post(WRITE, json=body) as response:
        answer = json.loads(await response.text(), parse_float=Decimal)
    assert answer["credits_used"] == 0


_URL_SHAPES = {
    "x": r"https://x\.com/sandbox/status/\d{19}",
    "instagram": r"https://www\.instagram\.com/p/[A-Za-z0-9_-]{6,}/",
    "linkedin": r"https://www\.linkedin\.com/feed/update/urn:li:share:\d{19}/",
    "bluesky": r"https://bsky\.app/profile/sandbox\.bsky\.social/post/[2-7a-z]{13}",
    "threads": r"https://www\.threads\.com/@sandbox/post/[A-Za-z0-9_-]{6,}",
    "facebook": r"https://www\.facebook\.com/\d{15}/posts/\d{16}",
    "mastodon": r"https://mastodon\.social/@sandbox/\d{18}",
    "tiktok": r"https://www\.tiktok\.com/@sandbox/video/\d{19}",
    "youtube": r"https://www\.youtube\.com/watch\?v=[A-Za-z0-9_-]{11}",
    "pinterest": r"https://www\.pinterest\.com/pin/\d{18}/",
    "reddit": r"https://www\.reddit\.com/(r/\w+|user/sandbox)/comments/[0-9a-z]{7}/",
    "telegram": r"https://t\.me/sandbox/\d+",
}


async def test_every_platform_gets_its_real_url_shape() -> None:
    """Each platform in the rules table answers with a URL in that platform's shape."""
    assert set(_URL_SHAPES) == set(RULES)
    # One video: the only kind of media every platform in the table takes.
    body = {"platforms": list(_URL_SHAPES), "content": {"text": "hi", "media": VIDEO_URL}}
    async with serve() as (_, http), http.post(WRITE, json=body) as response:
        results = (await response.json())["results"]
    for result in results:
        assert result["success"] is True, result
        assert re.fullmatch(_URL_SHAPES[result["platform"]], result["url"]), result["url"]
    assert len({result["post_id"] for result in results}) == len(results)


async def test_reddit_posts_to_the_subreddit_option() -> None:
    """A Reddit post with ``subreddit`` in its options links into that subreddit."""
    body = {
        "platforms": ["reddit"],
        "content": {"text": "hi"},
        "options": {"reddit": {"subreddit": "python", "title": "Hello"}},
    }
    async with serve() as (sandbox, http), http.post(WRITE, json=body) as response:
        (result,) = (await response.json())["results"]
    assert result["url"].startswith("https://www.reddit.com/r/python/comments/")
    assert sandbox.published()[0].options == {"subreddit": "python", "title": "Hello"}


async def _ids_of(config: SandboxConfig, bodies: list[dict[str, Any]]) -> list[tuple[str, str]]:
    ids: list[tuple[str, str]] = []
    async with serve(config) as (_, http):
        for body in bodies:
            async with http.post(WRITE, json=body) as response:
                results = (await response.json())["results"]
                ids.extend((result["post_id"], result["url"]) for result in results)
    return ids


async def test_post_ids_are_deterministic_per_seed() -> None:
    """The same writes on a fresh sandbox with the same seed give the same ids; another seed not."""
    bodies = [
        {"platforms": list(RULES), "content": {"text": "one", "media": VIDEO_URL}},
        {"platforms": ["x", "bluesky"], "content": {"text": "two"}},
    ]
    first = await _ids_of(SandboxConfig(seed=7), bodies)
    again = await _ids_of(SandboxConfig(seed=7, latency={"x": 0.05}), bodies)
    other = await _ids_of(SandboxConfig(seed=8), bodies)
    assert first == again
    assert len(set(first)) == len(first)
    assert not set(first) & set(other)


async def test_instagram_without_media_fails_only_that_platform() -> None:
    """Platforms whose rules require media fail with media_required; others succeed."""
    required = [platform for platform, rules in RULES.items() if rules.media_required]
    assert "instagram" in required
    body = {"platforms": ["x", *required], "content": {"text": "text only"}}
    async with serve() as (sandbox, http), http.post(WRITE, json=body) as response:
        assert response.status == 200
        x, *failed = (await response.json())["results"]
    assert x["success"] is True
    assert [result["platform"] for result in failed] == required
    for result in failed:
        assert result["success"] is False
        assert result["error_code"] == "media_required"
        assert result["post_id"] is None
        assert result["url"] is None
        assert RULES[result["platform"]].name in result["error"]
    assert [post.platform for post in sandbox.published()] == ["x"]


async def test_not_connected_and_unknown_platforms_fail_as_not_connected() -> None:
    """A platform configured as not connected, or unknown, fails with platform_not_connected."""
    config = SandboxConfig(not_connected=frozenset({"tiktok"}))
    body = {"platforms": ["tiktok", "myspace", "x"], "content": {"text": "hi", "media": MEDIA_URL}}
    async with serve(config) as (sandbox, http), http.post(WRITE, json=body) as response:
        tiktok, myspace, x = (await response.json())["results"]
    assert (tiktok["success"], tiktok["error_code"]) == (False, "platform_not_connected")
    assert "TikTok" in tiktok["error"]
    assert (myspace["success"], myspace["error_code"]) == (False, "platform_not_connected")
    assert "myspace" in myspace["error"]
    assert "not a platform" in myspace["error"]
    assert x["success"] is True
    assert [post.platform for post in sandbox.published()] == ["x"]


async def test_results_are_in_request_order_whatever_the_latency() -> None:
    """The slowest platform first in the request is still first in the results."""
    config = SandboxConfig(latency={"bluesky": 0.3})
    body = {"platforms": ["bluesky", "x", "threads"], "content": {"text": "hi"}}
    async with serve(config) as (sandbox, http), http.post(WRITE, json=body) as response:
        results = (await response.json())["results"]
    assert [result["platform"] for result in results] == ["bluesky", "x", "threads"]
    assert [post.platform for post in sandbox.published()][-1] == "bluesky"


async def test_each_platform_gets_its_formatted_text() -> None:
    """The text a platform publishes is format_text(platform, text): cut for x, whole for others."""
    text = "word " * 100
    body = {"platforms": ["x", "linkedin"], "content": {"text": text}}
    async with serve() as (sandbox, http), http.post(WRITE, json=body) as response:
        assert response.status == 200
    by_platform = {post.platform: post for post in sandbox.published()}
    assert by_platform["x"].text == format_text("x", text)
    assert by_platform["x"].text != text
    assert by_platform["linkedin"].text == format_text("linkedin", text)


async def test_media_and_alt_text_are_recorded_per_item() -> None:
    """One alt text is repeated for every media item; a list is kept as given."""
    media = _urls(2)
    bodies = [
        {"platforms": ["x"], "content": {"media": media, "alt_text": "a chart"}},
        {"platforms": ["bluesky"], "content": {"media": media, "alt_text": ["one", None]}},
    ]
    async with serve() as (sandbox, http):
        for body in bodies:
            async with http.post(WRITE, json=body) as response:
                assert response.status == 200
    x, bluesky = sandbox.published()
    assert (x.media, x.alt_text, x.text) == (tuple(media), ("a chart", "a chart"), None)
    assert bluesky.alt_text == ("one", None)


async def test_unknown_fields_are_ignored() -> None:
    """A field this sandbox does not know does not make the request fail."""
    body = {**SEED_BODY, "schedule_at": None, "content": {**SEED_BODY["content"], "extra": 1}}
    async with serve() as (_, http), http.post(WRITE, json=body) as response:
        assert response.status == 200


@pytest.mark.parametrize(
    ("method", "path", "status", "code", "error_type"),
    [
        ("GET", "/v1/nothing", 404, "not_found", "not_found_error"),
        ("GET", "/", 404, "not_found", "not_found_error"),
        ("GET", WRITE, 405, "method_not_allowed", "invalid_request_error"),
        ("PUT", "/v1/sandbox/published", 405, "method_not_allowed", "invalid_request_error"),
    ],
)
async def test_unknown_paths_and_methods_get_protocol_errors(
    method: str, path: str, status: int, code: str, error_type: str
) -> None:
    """Unknown paths are 404 and wrong methods 405, with the error body and a request id."""
    async with serve() as (_, http), http.request(method, path) as response:
        assert response.status == status
        assert REQUEST_ID.fullmatch(response.headers["X-Request-Id"])
        assert error_of(await response.json()) == (error_type, code, None)


async def test_request_ids_are_unique() -> None:
    """Every response, error or not, has its own X-Request-Id."""
    ids = set()
    async with serve() as (_, http):
        for _ in range(5):
            async with http.post(WRITE, json=SEED_BODY) as response:
                ids.add(response.headers["X-Request-Id"])
            async with http.get("/v1/nothing") as response:
                ids.add(response.headers["X-Request-Id"])
    assert len(ids) == 10


async def test_oversized_body_is_413_with_the_error_body() -> None:
    """A body over the server's size limit gets 413 invalid_request_error."""
    raw = json.dumps({"platforms": ["x"], "content": {"text": "a" * 2_000_000}}).encode()
    headers = {"Content-Type": "application/json"}
    async with (
        serve() as (sandbox, http),
        http.post(WRITE, data=io.BytesIO(raw), headers=headers) as response,
    ):
        assert response.status == 413
        assert error_of(await response.json()) == (
            "invalid_request_error",
            "request_too_large",
            None,
        )
    assert sandbox.published() == []
