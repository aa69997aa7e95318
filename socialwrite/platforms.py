"""The platform rules table, and what follows from it: counting, truncation, preview.

``RULES`` is the one place the per-platform facts live (text limits and how
each platform counts text, media counts and sizes, alt text, the options each
platform takes). The SDK's local checks and ``preview`` and the sandbox's
formatting all read it; no other module repeats a limit.

Counting is exactly each platform's own:

- X weighs text with twitter-text v3 (see ``count_text``);
- Bluesky counts grapheme clusters (what a reader sees as one character),
  links in full;
- Mastodon counts code points, with every ``http(s)://`` link as 23;
- the others count code points.

Example:
    >>> count_text("x", "Hello 世界 https://example.com/a/very/long/path")
    34
    >>> format_text("x", "a" * 300)[-3:]
    'aa…'
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import attrs

from ._errors import ValidationError
from ._models import Content, Media, MediaInput

if TYPE_CHECKING:
    import regex

__all__ = [
    "ELLIPSIS",
    "RULES",
    "WARNING_ALT_TEXT_TOO_LONG",
    "WARNING_MEDIA_KIND_UNSUPPORTED",
    "WARNING_MEDIA_MIXED",
    "WARNING_MEDIA_REQUIRED",
    "WARNING_MEDIA_TOO_LARGE",
    "WARNING_TOO_MANY_HASHTAGS",
    "WARNING_TOO_MANY_MEDIA",
    "WARNING_TRUNCATED",
    "MediaKind",
    "OptionSpec",
    "PlatformPreview",
    "PlatformRules",
    "TextCounting",
    "check_media",
    "count_hashtags",
    "count_text",
    "format_text",
    "guess_media_kind",
    "preview",
    "rules_for",
]

_MB = 1_000_000

ELLIPSIS = "\u2026"
"""What a cut text ends with (``…``, one character)."""

TextCounting: TypeAlias = Literal["twitter_weighted", "graphemes", "code_points"]
"""How a platform counts text: X's weighted length, grapheme clusters, or code points."""

MediaKind: TypeAlias = Literal["image", "gif", "video"]
"""The kinds of media the rules tell apart."""

OptionValue: TypeAlias = str | None


@attrs.frozen(kw_only=True)
class OptionSpec:
    """One option a platform takes in ``options``: its name, type, and allowed values.

    Attributes:
        name: the option's name (``"format"``).
        description: what it does, for messages and docs.
        nullable: whether ``None`` (JSON ``null``) is accepted.
        choices: the allowed values, or ``None`` for any string.
        max_length: the longest value in characters, or ``None`` for no limit.

    Every option value is a string (or ``None`` where ``nullable``).
    """

    name: str
    description: str
    nullable: bool = True
    choices: tuple[str, ...] | None = None
    max_length: int | None = None

    def check(self, value: object, *, param: str) -> OptionValue:
        """Return ``value`` if this option accepts it.

        Args:
            value: the value given.
            param: where it was given (``options.instagram.format``), for the error.

        Raises:
            ValidationError: the value has the wrong type, is not one of the
                choices, or is too long.
        """
        if value is None:
            if self.nullable:
                return None
            msg = f"must be a string, not null: {self.description}"
            raise ValidationError(msg, param=param)
        if not isinstance(value, str):
            msg = f"must be a string, not {type(value).__name__}: {self.description}"
            raise ValidationError(msg, param=param)
        if self.choices is not None and value not in self.choices:
            allowed = ", ".join(repr(choice) for choice in self.choices)
            msg = f"must be one of {allowed}, not {value!r}"
            raise ValidationError(msg, param=param)
        if self.max_length is not None and len(value) > self.max_length:
            msg = f"is {len(value)} characters; at most {self.max_length} are allowed, shorten it"
            raise ValidationError(msg, param=param)
        return value


def _options(*specs: OptionSpec) -> Mapping[str, OptionSpec]:
    return MappingProxyType({spec.name: spec for spec in specs})


@attrs.frozen(kw_only=True)
class PlatformRules:
    """What one platform accepts.

    Attributes:
        id: the platform id used in ``platforms``.
        name: the platform's display name.
        text_limit: the most text a post may carry, as the platform counts it.
        text_counting: how the platform counts text (see ``TextCounting``).
        url_length: what a link with ``http(s)://`` counts as, whatever its
            length (Mastodon: 23), or ``None`` when links count as they are
            written. X's links are part of its weighted counting.
        caption_limit: the most text when the post has media, when that is
            lower than ``text_limit`` (Telegram captions: 1024), else ``None``.
        title_limit: the longest title (YouTube 100, Reddit 300), or ``None``.
        max_hashtags: the most hashtags a post may carry (Instagram 30), or ``None``.
        media_required: True when a post without an image or video fails.
        max_media: the most media items in one post.
        max_images: the most images in one post (0: images are not accepted).
        max_gifs: the most animated GIFs in one post (0: not accepted).
        max_videos: the most videos in one post (0: not accepted).
        mixed_media: whether one post may mix kinds (images with a video).
        max_image_bytes: the largest image, or ``None`` when there is no
            published limit.
        max_gif_bytes: the largest GIF, or ``None`` when there is no published limit.
        max_video_bytes: the largest video, or ``None`` likewise.
        alt_text_limit: the longest alt text, or ``None`` when the platform takes none.
        options: the options the platform takes, by name.
    """

    id: str
    name: str
    text_limit: int
    text_counting: TextCounting = "code_points"
    url_length: int | None = None
    caption_limit: int | None = None
    title_limit: int | None = None
    max_hashtags: int | None = None
    media_required: bool = False
    max_media: int = 1
    max_images: int = 1
    max_gifs: int = 1
    max_videos: int = 1
    mixed_media: bool = False
    max_image_bytes: int | None = None
    max_gif_bytes: int | None = None
    max_video_bytes: int | None = None
    alt_text_limit: int | None = None
    options: Mapping[str, OptionSpec] = attrs.field(
        factory=lambda: MappingProxyType({}), hash=False
    )

    def limit(self, *, with_media: bool = False) -> int:
        """Return the text limit for a post with or without media.

        Example:
            >>> RULES["telegram"].limit(), RULES["telegram"].limit(with_media=True)
            (4096, 1024)
        """
        if with_media and self.caption_limit is not None:
            return min(self.caption_limit, self.text_limit)
        return self.text_limit

    def max_bytes(self, kind: MediaKind) -> int | None:
        """Return the size limit for one item of ``kind``, or ``None`` when there is none."""
        if kind == "video":
            return self.max_video_bytes
        if kind == "gif":
            return self.max_gif_bytes
        return self.max_image_bytes

    def max_of_kind(self, kind: MediaKind) -> int:
        """Return the most items of ``kind`` one post may carry (0: not accepted)."""
        if kind == "video":
            return self.max_videos
        if kind == "gif":
            return self.max_gifs
        return self.max_images


_TABLE = (
    PlatformRules(
        id="x",
        name="X",
        text_limit=280,  # twitter-text v3's maxWeightedTweetLength
        text_counting="twitter_weighted",
        max_media=4,
        max_images=4,
        max_gifs=1,
        max_videos=1,
        max_image_bytes=5 * _MB,
        max_gif_bytes=15 * _MB,
        max_video_bytes=512 * _MB,
        alt_text_limit=1000,
        options=_options(
            OptionSpec(name="reply_to", description="the id of the post to reply to"),
            OptionSpec(name="quote", description="the id of the post to quote"),
        ),
    ),
    PlatformRules(
        id="bluesky",
        name="Bluesky",
        text_limit=300,
        text_counting="graphemes",
        max_media=4,
        max_images=4,
        max_gifs=4,
        max_videos=1,
        max_image_bytes=1_000_000,
        max_gif_bytes=1_000_000,
        max_video_bytes=100 * _MB,
        alt_text_limit=2000,
    ),
    PlatformRules(
        id="threads",
        name="Threads",
        text_limit=500,
        max_media=10,
        max_images=10,
        max_gifs=10,
        max_videos=10,
        mixed_media=True,
        max_image_bytes=8 * _MB,
        max_gif_bytes=8 * _MB,
    ),
    PlatformRules(
        id="mastodon",
        name="Mastodon",
        text_limit=500,
        url_length=23,
        max_media=4,
        max_images=4,
        max_gifs=4,
        max_videos=4,
        mixed_media=True,
        max_image_bytes=16 * _MB,
        max_gif_bytes=16 * _MB,
        max_video_bytes=99 * _MB,
        alt_text_limit=1500,
    ),
    PlatformRules(
        id="linkedin",
        name="LinkedIn",
        text_limit=3000,
        max_media=9,
        max_images=9,
        max_gifs=9,
        max_videos=1,
        max_image_bytes=5 * _MB,
        max_gif_bytes=5 * _MB,
        options=_options(
            OptionSpec(
                name="visibility",
                description="who sees the post",
                choices=("public", "connections"),
            ),
        ),
    ),
    PlatformRules(
        id="facebook",
        name="Facebook",
        text_limit=63206,
        max_media=10,
        max_images=10,
        max_gifs=10,
        max_videos=1,
        max_image_bytes=10 * _MB,
        max_gif_bytes=10 * _MB,
    ),
    PlatformRules(
        id="instagram",
        name="Instagram",
        text_limit=2200,
        max_hashtags=30,
        media_required=True,
        max_media=10,
        max_images=10,
        max_gifs=10,
        max_videos=10,
        mixed_media=True,
        max_image_bytes=8 * _MB,
        max_gif_bytes=8 * _MB,
        max_video_bytes=300 * _MB,
        alt_text_limit=1000,
        options=_options(
            OptionSpec(
                name="format",
                description="where the post appears",
                choices=("feed", "stories", "reels"),
            ),
            OptionSpec(
                name="first_comment",
                description="a comment posted right after the post (it can fail on its own)",
            ),
        ),
    ),
    PlatformRules(
        id="tiktok",
        name="TikTok",
        text_limit=2200,
        media_required=True,
        max_media=35,
        max_images=35,
        max_gifs=0,
        max_videos=1,
        max_video_bytes=1000 * _MB,
    ),
    PlatformRules(
        id="youtube",
        name="YouTube",
        text_limit=5000,
        title_limit=100,
        media_required=True,
        max_media=1,
        max_images=0,
        max_gifs=0,
        max_videos=1,
        options=_options(
            OptionSpec(name="title", description="the video's title", max_length=100),
            OptionSpec(
                name="privacy",
                description="who can watch the video",
                choices=("public", "unlisted", "private"),
            ),
        ),
    ),
    PlatformRules(
        id="pinterest",
        name="Pinterest",
        text_limit=500,
        media_required=True,
        max_media=1,
        max_image_bytes=20 * _MB,
        max_gif_bytes=20 * _MB,
        alt_text_limit=500,
        options=_options(
            OptionSpec(name="board_id", description="the id of the board to pin to"),
            OptionSpec(name="link", description="the URL the pin links to"),
        ),
    ),
    PlatformRules(
        id="reddit",
        name="Reddit",
        text_limit=300,
        title_limit=300,
        max_media=1,
        options=_options(
            OptionSpec(name="subreddit", description="the subreddit to post to, without r/"),
            OptionSpec(name="title", description="the post's title", max_length=300),
        ),
    ),
    PlatformRules(
        id="telegram",
        name="Telegram",
        text_limit=4096,
        caption_limit=1024,
        max_media=1,
        max_image_bytes=5 * _MB,
        max_gif_bytes=5 * _MB,
        max_video_bytes=5 * _MB,
    ),
)

RULES: Mapping[str, PlatformRules] = MappingProxyType({rules.id: rules for rules in _TABLE})
"""Every platform the SDK knows, keyed by id. Others are passed to the server as they are."""


def rules_for(platform: str) -> PlatformRules | None:
    """Return the rules of ``platform``, or ``None`` for a platform not in the table."""
    return RULES.get(platform)


# --- counting -------------------------------------------------------------------------


@functools.cache
def _patterns() -> tuple[regex.Pattern[str], regex.Pattern[str]]:
    """Grapheme clusters and hashtags, compiled on first use (``import socialwrite`` stays fast)."""
    import regex  # noqa: PLC0415

    return (
        regex.compile(r"\X"),
        regex.compile(r"(?<![\p{L}\p{M}\p{N}_&/])[#\uff03][\p{L}\p{M}\p{N}_]*[\p{L}\p{M}_]"),
    )


def _count_with(rules: PlatformRules, text: str) -> int:
    from . import _twitter_text  # noqa: PLC0415 - compiled on first use, not at import

    if rules.text_counting == "twitter_weighted":
        return _twitter_text.weighted_length(text)
    if rules.text_counting == "graphemes":
        return sum(1 for _ in _patterns()[0].finditer(text))
    if rules.url_length is None:
        return len(text)
    spans = _twitter_text.url_spans(text, without_protocol=False)
    return len(text) + sum(rules.url_length - (end - start) for start, end in spans)


def count_text(platform: str, text: str) -> int:
    """Return the length of ``text`` as ``platform`` counts it.

    Args:
        platform: a platform id; one not in ``RULES`` counts code points.
        text: the text.

    Returns:
        X: the twitter-text v3 weighted length (NFC first; most Latin, Greek,
        Cyrillic, Hebrew, Arabic and common punctuation weigh 1, CJK and other
        scripts 2; every link 23, with or without ``http://``; every emoji
        sequence 2). Bluesky: grapheme clusters. Mastodon: code points with
        every ``http(s)://`` link as 23. Others: code points.

    Example:
        >>> count_text("x", "👨‍👩‍👧‍👦 family"), count_text("bluesky", "👨‍👩‍👧‍👦 family")
        (9, 8)
    """
    rules = RULES.get(platform)
    if rules is None:
        return len(text)
    return _count_with(rules, text)


def count_hashtags(text: str) -> int:
    """Return how many hashtags (``#word``) ``text`` holds.

    Example:
        >>> count_hashtags("#one #two and #3rd, not a#b or #123")
        3
    """
    return sum(1 for _ in _patterns()[1].finditer(text))


# --- truncation -----------------------------------------------------------------------


def _cut_points(text: str) -> list[int]:
    """Return the offsets where ``text`` may be cut, ascending, starting with 0.

    Grapheme-cluster boundaries, minus those inside a link (any link, with
    or without a protocol) or inside an emoji sequence.
    """
    from . import _twitter_text  # noqa: PLC0415 - compiled on first use, not at import

    inside = bytearray(len(text) + 1)
    for start, end in (*_twitter_text.url_spans(text), *_twitter_text.emoji_spans(text)):
        inside[start + 1 : end] = b"\x01" * (end - start - 1)
    points = [0]
    points.extend(match.end() for match in _patterns()[0].finditer(text) if not inside[match.end()])
    return points


def format_text(platform: str, text: str, *, with_media: bool = False) -> str:
    """Return ``text`` as ``platform`` publishes it: whole when it fits, else cut with ``…``.

    Over the limit the text is cut at a grapheme-cluster boundary, never
    inside a link (the cut goes before it) or an emoji sequence, with the
    whitespace before the cut dropped and ``…`` added, so that the result,
    counted as the platform counts it, fits the limit. It is the longest
    such prefix in all but contrived cases (a cut that turns a word into a
    link can count more, then a shorter cut is taken).

    Args:
        platform: a platform id; text for a platform not in ``RULES`` is
            returned unchanged.
        text: the post's text.
        with_media: whether the post carries media (Telegram allows 1024
            characters in a media caption, 4096 otherwise).

    Example:
        >>> cut = format_text("x", "word " * 100)
        >>> cut[-4:], count_text("x", cut)
        ('wor…', 280)
        >>> format_text("x", "short") == "short"
        True
    """
    rules = RULES.get(platform)
    if rules is None:
        return text
    limit = rules.limit(with_media=with_media)
    if _count_with(rules, text) <= limit:
        return text
    points = _cut_points(text)

    def candidate(index: int) -> str:
        # Whitespace right before the cut is dropped, whole clusters at a time.
        while index > 0 and text[points[index - 1] : points[index]].isspace():
            index -= 1
        return text[: points[index]] + ELLIPSIS

    # Counting is monotonic in practice, so a binary search finds the longest
    # prefix that fits; each step is an exact count, so the answer always fits.
    low, high = 0, len(points) - 1
    while low < high:
        middle = (low + high + 1) // 2
        if _count_with(rules, candidate(middle)) <= limit:
            low = middle
        else:
            high = middle - 1
    return candidate(low)


# --- media ----------------------------------------------------------------------------

_VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi", ".mpeg", ".mpg"})


def guess_media_kind(source: str | os.PathLike[str], content_type: str | None = None) -> MediaKind:
    """Return the kind of a media item from its MIME type, else its file extension.

    Example:
        >>> guess_media_kind("clip.MP4"), guess_media_kind("x.gif"), guess_media_kind("a.jpg")
        ('video', 'gif', 'image')
        >>> guess_media_kind("https://cdn.example.com/f", content_type="video/mp4")
        'video'
    """
    if content_type:
        kind = content_type.split(";", 1)[0].strip().lower()
        if kind == "image/gif":
            return "gif"
        if kind.startswith("video/"):
            return "video"
        if kind.startswith("image/"):
            return "image"
    path = os.fspath(source).split("?", 1)[0].split("#", 1)[0]
    extension = os.path.splitext(path)[1].lower()
    if extension == ".gif":
        return "gif"
    if extension in _VIDEO_EXTENSIONS:
        return "video"
    return "image"


def _plural(kind: MediaKind) -> str:
    return {"image": "images", "gif": "GIFs", "video": "videos"}[kind]


def _media_problems(
    rules: PlatformRules, items: Sequence[tuple[MediaKind, int | None]]
) -> list[tuple[str, str, str]]:
    """Return ``(error code, warning, message)`` for each problem, most important first."""
    problems: list[tuple[str, str, str]] = []
    if not items:
        if rules.media_required:
            message = (
                f"{rules.name} needs an image or a video; add media, or leave "
                f"{rules.id} out of this post"
            )
            problems.append(("media_required", WARNING_MEDIA_REQUIRED, message))
        return problems
    if len(items) > rules.max_media:
        message = (
            f"{rules.name} takes at most {rules.max_media} media items in one post, "
            f"got {len(items)}; remove {len(items) - rules.max_media}"
        )
        problems.append(("media_unsupported", WARNING_TOO_MANY_MEDIA, message))
    kinds = [kind for kind, _ in items]
    for kind in ("image", "gif", "video"):
        count = kinds.count(kind)
        allowed = rules.max_of_kind(kind)
        if count and not allowed:
            message = f"{rules.name} does not take {_plural(kind)}; remove them for {rules.id}"
            problems.append(("media_unsupported", WARNING_MEDIA_KIND_UNSUPPORTED, message))
        elif count > allowed and len(items) <= rules.max_media:
            message = (
                f"{rules.name} takes at most {allowed} {_plural(kind)} in one post, got {count}"
            )
            problems.append(("media_unsupported", WARNING_TOO_MANY_MEDIA, message))
    if not rules.mixed_media and len(set(kinds)) > 1:
        message = (
            f"{rules.name} does not mix images, GIFs and videos in one post; post one kind only"
        )
        problems.append(("media_unsupported", WARNING_MEDIA_MIXED, message))
    for index, (kind, size) in enumerate(items):
        most = rules.max_bytes(kind)
        if size is not None and most is not None and size > most:
            message = (
                f"media item {index} is {size:,} bytes; {rules.name} takes "
                f"{_plural(kind)} up to {most:,} bytes, so make it smaller"
            )
            problems.append(("media_unsupported", WARNING_MEDIA_TOO_LARGE, message))
    return problems


def check_media(
    platform: str, items: Sequence[tuple[MediaKind, int | None]]
) -> tuple[str, str] | None:
    """Check a post's media against ``platform``'s rules; pure, no I/O.

    Args:
        platform: a platform id; a platform not in ``RULES`` accepts anything.
        items: one ``(kind, size in bytes)`` per media item, in order; the
            size is ``None`` when unknown (a URL), and then not checked.

    Returns:
        ``None`` when the platform accepts the media, else ``(error_code,
        message)`` for the first problem: ``media_required`` when media is
        required and there is none, ``media_unsupported`` for too many items,
        a kind the platform does not take, mixed kinds where they may not be
        mixed, or an item over its size limit.

    Example:
        >>> check_media("x", [("image", 1000)] * 5)[0]
        'media_unsupported'
        >>> check_media("instagram", [])[0]
        'media_required'
        >>> check_media("x", [("video", None)]) is None
        True
    """
    rules = RULES.get(platform)
    if rules is None:
        return None
    problems = _media_problems(rules, items)
    if not problems:
        return None
    code, _, message = problems[0]
    return code, message


# --- preview --------------------------------------------------------------------------

WARNING_TRUNCATED = "truncated"
"""The text is over the limit and will be cut (``text`` shows the cut)."""
WARNING_MEDIA_REQUIRED = "media required but missing"
"""The platform needs an image or video and the post has none."""
WARNING_TOO_MANY_MEDIA = "too many media"
"""More media items (or of one kind) than the platform takes."""
WARNING_MEDIA_KIND_UNSUPPORTED = "media kind not accepted"
"""A media item is of a kind the platform does not take (a GIF on TikTok)."""
WARNING_MEDIA_MIXED = "media kinds mixed"
"""Images and videos together where the platform takes one kind per post."""
WARNING_MEDIA_TOO_LARGE = "media too large"
"""A local file is over the platform's size limit for its kind."""
WARNING_ALT_TEXT_TOO_LONG = "alt text too long"
"""An alt text is over the platform's alt text limit."""
WARNING_TOO_MANY_HASHTAGS = "too many hashtags"
"""More hashtags than the platform allows (Instagram: 30)."""


@attrs.frozen(kw_only=True)
class PlatformPreview:
    """What one platform would receive, computed locally (no network).

    Attributes:
        platform: the platform id.
        text: exactly the text the platform will get (cut when over the limit).
        count: the length of ``text`` as the platform counts it.
        limit: the platform's text limit, or ``None`` for a platform not in
            the rules table.
        warnings: short descriptions of what will not go as written (the
            ``WARNING_*`` constants of this module), empty when all is well.
    """

    platform: str
    text: str
    count: int
    limit: int | None
    warnings: tuple[str, ...] = ()


_CONTENT_KEYS = frozenset({"text", "media", "alt_text"})


def _content_from(content: object) -> Content:
    if isinstance(content, Content):
        return content
    if not isinstance(content, Mapping):
        msg = (
            "must be a Content or a mapping with text, media and alt_text, "
            f"not {type(content).__name__}"
        )
        raise ValidationError(msg, param="content")
    unknown = sorted(str(key) for key in content if key not in _CONTENT_KEYS)
    if unknown:
        msg = f"unknown field {unknown[0]!r}; content takes text, media and alt_text"
        raise ValidationError(msg, param=f"content.{unknown[0]}")
    text = content.get("text")
    if text is not None and not isinstance(text, str):
        msg = f"must be a string, not {type(text).__name__}"
        raise ValidationError(msg, param="content.text")
    return Content(text=text, media=content.get("media"), alt_text=content.get("alt_text"))


def _is_url(source: str | os.PathLike[str]) -> bool:
    return isinstance(source, str) and source.lower().startswith(("http://", "https://"))


def _media_facts(item: MediaInput) -> tuple[MediaKind, int | None]:
    """Return an item's kind and, for a local file, its size (``None`` when unknown)."""
    source: str | os.PathLike[str]
    content_type = None
    if isinstance(item, Media):
        source, content_type = item.source, item.content_type
    else:
        source = item
    size = None
    if not _is_url(source):
        try:
            size = os.stat(source).st_size
        except OSError:
            # A missing file is the write's validation to report; a preview
            # just cannot tell its size.
            size = None
    return guess_media_kind(source, content_type), size


def _alt_texts(content: Content) -> list[str]:
    texts: list[str] = []
    for index, item in enumerate(content.media):
        alt = item.alt_text if isinstance(item, Media) else None
        if alt is None:
            if isinstance(content.alt_text, str):
                alt = content.alt_text
            elif content.alt_text is not None and index < len(content.alt_text):
                alt = content.alt_text[index]
        if alt is not None:
            texts.append(alt)
    return texts


def _preview_one(
    platform: str, content: Content, media: list[tuple[MediaKind, int | None]]
) -> PlatformPreview:
    text = content.text or ""
    rules = RULES.get(platform)
    if rules is None:
        return PlatformPreview(platform=platform, text=text, count=len(text), limit=None)
    warnings: list[str] = []
    limit = rules.limit(with_media=bool(media))
    formatted = format_text(platform, text, with_media=bool(media))
    if formatted != text:
        warnings.append(WARNING_TRUNCATED)
    if rules.max_hashtags is not None and count_hashtags(formatted) > rules.max_hashtags:
        warnings.append(WARNING_TOO_MANY_HASHTAGS)
    for _, warning, _ in _media_problems(rules, media):
        if warning not in warnings:
            warnings.append(warning)
    if rules.alt_text_limit is not None and any(
        len(alt) > rules.alt_text_limit for alt in _alt_texts(content)
    ):
        warnings.append(WARNING_ALT_TEXT_TOO_LONG)
    return PlatformPreview(
        platform=platform,
        text=formatted,
        count=_count_with(rules, formatted),
        limit=limit,
        warnings=tuple(warnings),
    )


def preview(
    platforms: Sequence[str], content: Content | Mapping[str, Any]
) -> dict[str, PlatformPreview]:
    """Show what each platform would receive, without any network call.

    Args:
        platforms: platform ids, in the order of the write.
        content: a ``Content``, or a mapping with ``text``, ``media`` and
            ``alt_text`` as ``Content`` takes them.

    Returns:
        One ``PlatformPreview`` per platform, keyed by platform in request order.

    Raises:
        ValidationError: ``content`` is not a ``Content`` or a mapping of its fields.

    Example:
        >>> previews = preview(["x", "instagram"], {"text": "Markets today 📈"})
        >>> previews["x"].count, previews["x"].limit
        (16, 280)
        >>> previews["instagram"].warnings
        ('media required but missing',)
    """
    checked = _content_from(content)
    media = [_media_facts(item) for item in checked.media]
    return {platform: _preview_one(platform, checked, media) for platform in platforms}
