"""The platform table, counting per platform, truncation, media checks and preview."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socialwrite._errors import ValidationError
from socialwrite._models import Content, Media
from socialwrite.platforms import (
    ELLIPSIS,
    RULES,
    WARNING_ALT_TEXT_TOO_LONG,
    WARNING_MEDIA_KIND_UNSUPPORTED,
    WARNING_MEDIA_MIXED,
    WARNING_MEDIA_REQUIRED,
    WARNING_MEDIA_TOO_LARGE,
    WARNING_TOO_MANY_HASHTAGS,
    WARNING_TOO_MANY_MEDIA,
    WARNING_TRUNCATED,
    PlatformPreview,
    _twitter_text,
    check_media,
    count_hashtags,
    count_text,
    format_text,
    guess_media_kind,
    preview,
    rules_for,
)

PLATFORMS = sorted(RULES)
GRAPHEME = regex.compile(r"\X")

FAMILY = "👨‍👩‍👧‍👦"
URL = "https://example.com/a/path?q=1"

# platforms.md, restated: (text limit, media required, media per post, alt text limit).
DOCUMENTED = {
    "x": (280, False, 4, 1000),
    "bluesky": (300, False, 4, 2000),
    "threads": (500, False, 10, None),
    "mastodon": (500, False, 4, 1500),
    "linkedin": (3000, False, 9, None),
    "facebook": (63206, False, 10, None),
    "instagram": (2200, True, 10, 1000),
    "tiktok": (2200, True, 35, None),
    "youtube": (5000, True, 1, None),
    "pinterest": (500, True, 1, 500),
    "reddit": (300, False, 1, None),
    "telegram": (4096, False, 1, None),
}


def _boundaries(text: str) -> set[int]:
    return {0} | {match.end() for match in GRAPHEME.finditer(text)}


def _assert_well_cut(platform: str, original: str, result: str) -> None:
    """Check every promise of format_text for one result."""
    limit = RULES[platform].limit()
    assert count_text(platform, result) <= limit
    if count_text(platform, original) <= limit:
        assert result == original
        return
    assert result.endswith(ELLIPSIS)
    prefix = result[: -len(ELLIPSIS)]
    assert original.startswith(prefix)
    cut = len(prefix)
    assert cut in _boundaries(original)
    for start, end in _twitter_text.url_spans(original) + _twitter_text.emoji_spans(original):
        assert not start < cut < end, (start, cut, end)


# --- the table ------------------------------------------------------------------------


def test_table_holds_every_documented_platform() -> None:
    """RULES has exactly the platforms of platforms.md, each under its own id."""
    assert set(RULES) == set(DOCUMENTED)
    assert all(rules.id == platform for platform, rules in RULES.items())


@pytest.mark.parametrize("platform", PLATFORMS)
def test_table_matches_the_documented_figures(platform: str) -> None:
    """Text limit, media required, media count and alt text limit are the documented ones."""
    rules = RULES[platform]
    text_limit, media_required, max_media, alt_text_limit = DOCUMENTED[platform]
    assert rules.text_limit == text_limit
    assert rules.media_required is media_required
    assert rules.max_media == max_media
    assert rules.alt_text_limit == alt_text_limit
    assert max(rules.max_images, rules.max_gifs, rules.max_videos) <= rules.max_media


def test_extra_text_facts_are_in_the_table() -> None:
    """Hashtag cap, media caption limit and title limits come from the table."""
    assert RULES["instagram"].max_hashtags == 30
    assert RULES["telegram"].limit(with_media=True) == 1024
    assert RULES["telegram"].limit() == 4096
    assert RULES["x"].limit(with_media=True) == 280
    assert RULES["youtube"].title_limit == 100
    assert RULES["youtube"].text_limit == 5000
    assert RULES["reddit"].title_limit == 300


def test_counting_modes_are_the_platforms_own() -> None:
    """X weighs, Bluesky counts graphemes, Mastodon counts links as 23, others code points."""
    assert RULES["x"].text_counting == "twitter_weighted"
    assert RULES["bluesky"].text_counting == "graphemes"
    assert RULES["mastodon"].url_length == 23
    others = set(RULES) - {"x", "bluesky"}
    assert {RULES[p].text_counting for p in others} == {"code_points"}


def test_rules_for_unknown_platform_is_none() -> None:
    """A platform outside the table has no rules."""
    assert rules_for("myspace") is None
    assert rules_for("x") is RULES["x"]


# --- counting -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("platform", "text", "expected"),
    [
        ("x", f"{FAMILY} hi", 5),
        ("x", "日本語", 6),
        ("x", "e\u0301", 1),  # NFC first: one code point of weight 1
        ("x", f"see {URL}", 27),
        ("x", "see example.com", 27),
        ("bluesky", f"{FAMILY} hi", 4),
        ("bluesky", "🇯🇵👍🏽e\u0301", 3),
        ("bluesky", f"see {URL}", 4 + len(URL)),
        ("mastodon", f"see {URL}", 27),
        ("mastodon", "see example.com", 15),  # Mastodon needs the protocol
        ("mastodon", FAMILY, 7),
        ("threads", FAMILY, 7),
        ("threads", f"see {URL}", 4 + len(URL)),
        ("myspace", "日本語", 3),
    ],
)
def test_count_text(platform: str, text: str, expected: int) -> None:
    """Each platform counts text its own way."""
    assert count_text(platform, text) == expected


def test_count_hashtags() -> None:
    """Hashtags are #word tokens, not #digits or a#b."""
    assert count_hashtags("#one #two and #3rd, not a#b or #123 or &#35;") == 3
    assert count_hashtags(" ".join(f"#tag{i}" for i in range(31))) == 31


# --- truncation -----------------------------------------------------------------------


@pytest.mark.parametrize("platform", PLATFORMS)
def test_text_within_the_limit_is_unchanged(platform: str) -> None:
    """Text that fits is returned as it is, exactly at the limit too."""
    limit = RULES[platform].limit()
    assert format_text(platform, "hello") == "hello"
    assert format_text(platform, "a" * limit) == "a" * limit


@pytest.mark.parametrize("platform", PLATFORMS)
def test_long_text_is_cut_to_fit_with_an_ellipsis(platform: str) -> None:
    """Over the limit: the result fits, ends with the ellipsis, and keeps as much as fits."""
    limit = RULES[platform].limit()
    text = "a" * (limit + 50)
    result = format_text(platform, text)
    _assert_well_cut(platform, text, result)
    assert count_text(platform, result) == limit


@pytest.mark.parametrize("platform", PLATFORMS)
def test_cut_never_splits_a_url(platform: str) -> None:
    """A link straddling the limit is dropped whole: the cut goes before it."""
    limit = RULES[platform].limit()
    head = "a" * (limit - 10)
    text = f"{head} {URL} and more words after the link"
    result = format_text(platform, text)
    _assert_well_cut(platform, text, result)
    assert result == head + ELLIPSIS


@pytest.mark.parametrize("platform", PLATFORMS)
def test_cut_never_splits_a_bare_domain(platform: str) -> None:
    """A link without a protocol is kept whole or dropped whole too."""
    limit = RULES[platform].limit()
    text = "a" * (limit - 8) + " www.example.com/page tail"
    result = format_text(platform, text)
    _assert_well_cut(platform, text, result)
    assert "www.e" not in result or "www.example.com/page" in result


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize(
    "unit",
    [
        pytest.param(FAMILY, id="zwj-family"),
        pytest.param("🇯🇵", id="flag"),
        pytest.param("👍🏽", id="skin-tone"),
        pytest.param("🏴󠁧󠁢󠁳󠁣󠁴󠁿", id="subdivision-flag"),
        pytest.param("1️⃣", id="keycap"),
        pytest.param("世", id="cjk"),
        pytest.param("e\u0301", id="combining-mark"),
        pytest.param("\u0915\u094d\u0937", id="devanagari-cluster"),
    ],
)
def test_cut_keeps_clusters_and_emoji_whole(platform: str, unit: str) -> None:
    """Text ending in many copies of one cluster is cut between whole copies only."""
    limit = RULES[platform].limit()
    filler = "a" * (limit - 3)
    text = filler + unit * 40
    result = format_text(platform, text)
    _assert_well_cut(platform, text, result)
    prefix = result[: -len(ELLIPSIS)]
    if prefix.startswith(filler):
        rest = prefix[len(filler) :]
        assert rest == unit * (len(rest) // len(unit))
    else:
        assert set(prefix) <= {"a"}


@pytest.mark.parametrize("platform", PLATFORMS)
def test_whitespace_before_the_cut_is_dropped(platform: str) -> None:
    """The ellipsis follows the last word, not the spaces after it."""
    limit = RULES[platform].limit()
    text = "a" * (limit - 5) + "      " + "b" * 50
    result = format_text(platform, text)
    _assert_well_cut(platform, text, result)
    assert not result[: -len(ELLIPSIS)].endswith(" ")


def test_cut_for_x_counts_weights() -> None:
    """CJK weighs 2 on X, so half as many characters fit."""
    result = format_text("x", "世" * 200)
    assert result == "世" * 139 + ELLIPSIS
    assert count_text("x", result) == 280


def test_media_caption_limit_applies_with_media() -> None:
    """Telegram cuts a media caption at 1024, plain text at 4096."""
    text = "a" * 2000
    assert format_text("telegram", text) == text
    cut = format_text("telegram", text, with_media=True)
    assert len(cut) == 1024
    assert cut.endswith(ELLIPSIS)


def test_unknown_platform_text_is_unchanged() -> None:
    """A platform outside the table gets the text as written, however long."""
    text = "a" * 100_000
    assert format_text("myspace", text) is text


_PIECES = st.sampled_from(
    [
        "a",
        " ",
        "\n",
        "世",
        "é",
        "e\u0301",
        FAMILY,
        "🇯🇵",
        "👍🏽",
        "\u200d",
        "\ufe0f",
        "#tag",
        "http://example.com/x",
        "example.com",
        "t.co",
        ".",
        "/",
    ]
)
_TEXTS = st.one_of(
    st.text(max_size=700),
    st.lists(_PIECES, max_size=400).map("".join),
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(text=_TEXTS, platform=st.sampled_from(["x", "bluesky", "mastodon", "reddit", "threads"]))
def test_any_text_is_cut_well(text: str, platform: str) -> None:
    """For any text: the result fits and is a grapheme-boundary prefix plus the ellipsis."""
    _assert_well_cut(platform, text, format_text(platform, text))


@settings(max_examples=40, deadline=None)
@given(text=_TEXTS, platform=st.sampled_from(PLATFORMS))
def test_any_platform_result_fits(text: str, platform: str) -> None:
    """For every platform in the table, any text formats to something that fits."""
    result = format_text(platform, text * 8)
    _assert_well_cut(platform, text * 8, result)


# --- media ----------------------------------------------------------------------------


def test_check_media_accepts_what_fits() -> None:
    """Media within a platform's rules passes; unknown sizes are not held against it."""
    assert check_media("x", [("image", 1000)] * 4) is None
    assert check_media("x", [("video", None)]) is None
    assert check_media("instagram", [("image", 1), ("video", 2)]) is None
    assert check_media("myspace", [("video", 10**12)] * 50) is None
    assert check_media("x", []) is None


def test_check_media_required() -> None:
    """A platform that needs media and gets none: media_required, with its name."""
    for platform in ("instagram", "tiktok", "youtube", "pinterest"):
        problem = check_media(platform, [])
        assert problem is not None
        assert problem[0] == "media_required"
        assert RULES[platform].name in problem[1]


@pytest.mark.parametrize(
    ("platform", "items", "words"),
    [
        ("x", [("image", None)] * 5, "at most 4"),
        ("x", [("gif", None)] * 2, "at most 1 GIFs"),
        ("x", [("image", None), ("video", None)], "does not mix"),
        ("x", [("image", 6 * 10**6)], "5,000,000"),
        ("x", [("gif", 16 * 10**6)], "15,000,000"),
        ("x", [("video", 513 * 10**6)], "512,000,000"),
        ("bluesky", [("image", 1_000_001)], "1,000,000"),
        ("youtube", [("image", None)], "does not take images"),
        ("tiktok", [("gif", None)], "does not take GIFs"),
        ("telegram", [("image", None)] * 2, "at most 1"),
    ],
)
def test_check_media_unsupported(
    platform: str, items: list[tuple[str, int | None]], words: str
) -> None:
    """Too many, the wrong kind, mixed kinds or too large: media_unsupported saying why."""
    problem = check_media(platform, items)  # type: ignore[arg-type]
    assert problem is not None
    assert problem[0] == "media_unsupported"
    assert words in problem[1]


def test_guess_media_kind() -> None:
    """The MIME type decides, else the extension; URLs' queries are ignored."""
    assert guess_media_kind("a.GIF") == "gif"
    assert guess_media_kind("https://x.test/v.mp4?sig=1") == "video"
    assert guess_media_kind(Path("photo.jpeg")) == "image"
    assert guess_media_kind("blob", content_type="video/quicktime") == "video"
    assert guess_media_kind("blob", content_type="image/gif; charset=binary") == "gif"


# --- preview --------------------------------------------------------------------------


def test_preview_is_keyed_in_request_order() -> None:
    """One PlatformPreview per platform, in the order asked, unknown ones included."""
    previews = preview(["telegram", "x", "myspace"], {"text": "hello"})
    assert list(previews) == ["telegram", "x", "myspace"]
    assert previews["x"] == PlatformPreview(
        platform="x", text="hello", count=5, limit=280, warnings=()
    )
    assert previews["myspace"].limit is None
    assert previews["myspace"].count == 5


def test_preview_truncates_and_warns() -> None:
    """Over the limit: the cut text, its count, and a truncated warning."""
    text = "word " * 100
    previews = preview(["x", "linkedin"], Content(text=text))
    assert previews["x"].text == format_text("x", text)
    assert previews["x"].count == count_text("x", previews["x"].text) <= 280
    assert previews["x"].warnings == (WARNING_TRUNCATED,)
    assert previews["linkedin"].text == text
    assert previews["linkedin"].warnings == ()


def test_preview_media_required() -> None:
    """No media for a platform that needs it: a warning, not an error."""
    previews = preview(["instagram", "x"], {"text": "hi"})
    assert previews["instagram"].warnings == (WARNING_MEDIA_REQUIRED,)
    assert previews["x"].warnings == ()


def test_preview_too_many_and_mixed_media() -> None:
    """Five URLs for X are too many; an image and a video together are mixed."""
    urls = [f"https://cdn.test/{i}.jpg" for i in range(5)]
    assert preview(["x"], {"media": urls})["x"].warnings == (WARNING_TOO_MANY_MEDIA,)
    mixed = {"media": ["https://cdn.test/a.jpg", "https://cdn.test/b.mp4"]}
    assert preview(["x"], mixed)["x"].warnings == (WARNING_MEDIA_MIXED,)
    assert preview(["instagram"], mixed)["instagram"].warnings == ()
    assert preview(["youtube"], {"media": "https://cdn.test/a.png"})["youtube"].warnings == (
        WARNING_MEDIA_KIND_UNSUPPORTED,
    )


def test_preview_checks_local_file_sizes(tmp_path: Path) -> None:
    """A local image over X's 5 MB is too large there and fine on Pinterest; URLs are unknown."""
    big = tmp_path / "big.png"
    with big.open("wb") as handle:
        handle.truncate(6_000_000)
    previews = preview(["x", "pinterest"], {"media": [str(big)]})
    assert previews["x"].warnings == (WARNING_MEDIA_TOO_LARGE,)
    assert previews["pinterest"].warnings == ()
    as_media = preview(["x"], Content(media=[Media(source=big)]))
    assert as_media["x"].warnings == (WARNING_MEDIA_TOO_LARGE,)
    remote = preview(["x"], {"media": "https://cdn.test/big.png"})
    assert remote["x"].warnings == ()
    missing = preview(["x"], {"media": os.fspath(tmp_path / "gone.png")})
    assert missing["x"].warnings == ()


def test_preview_alt_text_too_long() -> None:
    """Alt text over a platform's limit warns there only, per item or for all."""
    media = ["https://cdn.test/a.jpg"]
    long_alt = "a" * 1200
    previews = preview(["x", "bluesky", "threads"], {"media": media, "alt_text": long_alt})
    assert previews["x"].warnings == (WARNING_ALT_TEXT_TOO_LONG,)
    assert previews["bluesky"].warnings == ()
    assert previews["threads"].warnings == ()
    per_item = Content(media=[Media(source=media[0], alt_text=long_alt)])
    assert preview(["x"], per_item)["x"].warnings == (WARNING_ALT_TEXT_TOO_LONG,)
    listed = {"media": media, "alt_text": [long_alt]}
    assert preview(["x"], listed)["x"].warnings == (WARNING_ALT_TEXT_TOO_LONG,)


def test_preview_hashtags_and_caption() -> None:
    """Instagram warns past 30 hashtags; a Telegram caption with media has 1024 to fit in."""
    tags = " ".join(f"#t{i}" for i in range(31))
    media = {"media": "https://cdn.test/a.jpg"}
    assert preview(["instagram"], {"text": tags, **media})["instagram"].warnings == (
        WARNING_TOO_MANY_HASHTAGS,
    )
    caption = preview(["telegram"], {"text": "a" * 2000, **media})["telegram"]
    assert caption.limit == 1024
    assert caption.count == 1024
    assert caption.warnings == (WARNING_TRUNCATED,)


def test_preview_rejects_bad_content() -> None:
    """Content that is neither a Content nor a mapping of its fields is a ValidationError."""
    with pytest.raises(ValidationError) as info:
        preview(["x"], {"txt": "typo"})
    assert info.value.param == "content.txt"
    with pytest.raises(ValidationError) as info:
        preview(["x"], "just text")  # type: ignore[arg-type]
    assert info.value.param == "content"
    with pytest.raises(ValidationError) as info:
        preview(["x"], {"text": 5})
    assert info.value.param == "content.text"
